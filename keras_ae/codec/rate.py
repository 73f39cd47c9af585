"""Rate–distortion measurements: bytes per image against PSNR/SSIM, for `.kae` archives and for the codecs
people already use (JPEG and WebP through Pillow; PNG, zlib and lzma lossless), on the same images.

Every size is a whole file's bytes (headers, names, tables, checksum), divided by the number of images. The
quality is measured on 8-bit pixels, which is what a user gets back in the PNGs. The recipe and
bench/compress.py both build their tables and pictures from these rows.
"""

from __future__ import annotations

import io
import lzma
import zlib

import numpy as np

from keras_ae.codec.archive import Codebook, archive_bytes
from keras_ae.codec.quantize import decoder_sensitivity
from keras_ae.codec.transform import decoder_metric

DEFAULT_SETTINGS = (("bits", 3), ("bits", 4), ("bits", 5), ("bits", 6), ("step", 0.04), ("step", 0.02), ("step", 0.01))
TRANSFORM_SETTINGS = (("klt", 0.04), ("klt", 0.02), ("klt", 0.01), ("klt", 0.005))


def as_png_pixels(images: np.ndarray) -> np.ndarray:
    return np.round(np.clip(images, 0, 1) * 255) / 255


def quality(x: np.ndarray, restored: np.ndarray) -> tuple[float, float]:
    from keras_ae.measure.metrics import psnr, ssim

    restored = as_png_pixels(restored)
    return psnr(x, restored), ssim(x, restored)


def numbered_names(count: int) -> list[str]:
    return [f"{i:05d}.png" for i in range(count)]


def archive_rows(name, encode, decode, fingerprint, x, fit_codes=None, settings=DEFAULT_SETTINGS, coders=("ans",)):
    """One `.kae` archive of all of `x` per quantization setting and coder.

    Settings are `("bits", b)`, `("step", s)` (per-dimension steps scaled by the decoder's sensitivity) or
    `("klt", s)` (transform coding: the decoder-metric KLT, then one step s; `keras-ae compress --step s`).
    The codebook is fitted on the archived codes (the default of `keras-ae compress`) or on `fit_codes`
    (e.g. the training codes). The quantizer does not depend on the coder, so each setting decodes once.
    """
    codes = encode(x)
    fitted_on = codes if fit_codes is None else fit_codes
    sensitivity = metric = None
    if any(kind == "step" for kind, _ in settings):
        sensitivity = decoder_sensitivity(decode, fitted_on)
    if any(kind == "klt" for kind, _ in settings):
        metric = decoder_metric(decode, fitted_on)
    rows = []
    for kind, value in settings:
        measured = None
        for coder in coders:
            if kind == "klt":
                codebook = Codebook.fit(fitted_on, step=value, coder=coder, metric=metric)
            else:
                codebook = Codebook.fit(fitted_on, coder=coder, sensitivity=sensitivity, **{kind: value})
            data, payload = archive_bytes(fingerprint, x.shape[1:], numbered_names(len(x)), codes, codebook)
            if measured is None:
                measured = quality(x, decode(codebook.round_trip(codes)))
            rows.append(
                {
                    "method": name,
                    "setting": f"{kind} {value}",
                    "coder": coder,
                    "bytes": len(data) / len(x),
                    "header": (len(data) - payload) / len(x),
                    "levels": codebook.quantizer.levels,
                    "psnr": measured[0],
                    "ssim": measured[1],
                }
            )
    return rows


def pillow_rows(x: np.ndarray, fmt: str, qualities) -> list[dict]:
    """Each image saved as its own file in `fmt` (JPEG, WEBP) at each quality."""
    from PIL import Image

    pixels = (np.clip(x, 0, 1) * 255).round().astype(np.uint8)
    rows = []
    for q in qualities:
        sizes, restored = [], []
        for image in pixels:
            buffer = io.BytesIO()
            Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(buffer, fmt, quality=q)
            sizes.append(buffer.tell())
            buffer.seek(0)
            with Image.open(buffer) as decoded:
                back = np.asarray(decoded.convert("L" if image.shape[-1] == 1 else "RGB"), np.float32) / 255
            restored.append(back.reshape(image.shape))
        p, s = quality(x, np.stack(restored))
        rows.append({"method": fmt, "setting": f"quality {q}", "coder": "-", "bytes": float(np.mean(sizes)),
                     "psnr": p, "ssim": s})  # fmt: skip
    return rows


def lossless_rows(x: np.ndarray) -> list[dict]:
    """PNG files, zlib per image, and lzma over the whole set as one stream (the best case for lossless)."""
    from PIL import Image

    pixels = (np.clip(x, 0, 1) * 255).round().astype(np.uint8)
    png = []
    for image in pixels:
        buffer = io.BytesIO()
        Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(buffer, "PNG", optimize=True)
        png.append(buffer.tell())
    per_image_zlib = [len(zlib.compress(image.tobytes(), 9)) for image in pixels]
    return [
        {"method": "PNG", "setting": "per file", "bytes": float(np.mean(png))},
        {"method": "zlib", "setting": "per image, level 9", "bytes": float(np.mean(per_image_zlib))},
        {"method": "lzma", "setting": "whole set, one stream", "bytes": len(lzma.compress(pixels.tobytes())) / len(x)},
    ]


def frontier(rows, method: str, coder: str = "ans") -> list[tuple[float, float]]:
    """The rate–distortion curve of one method: (bytes, PSNR) points where more bytes buy more dB."""
    points = sorted((r["bytes"], r["psnr"]) for r in rows if r["method"] == method and r.get("coder") in (coder, "-"))
    curve, best = [], -np.inf
    for size, value in points:
        if value > best:
            curve.append((size, value))
            best = value
    return curve


def psnr_at(curve, budget: float) -> float:
    """PSNR of a curve at `budget` bytes, interpolated (nan below its smallest file, its best beyond its largest)."""
    sizes, values = zip(*curve, strict=True)
    return float(np.interp(budget, sizes, values, left=np.nan))


def bytes_for(curve, target: float) -> float:
    """Bytes at which a curve reaches `target` dB, interpolated (nan if it never does)."""
    for i, (size, value) in enumerate(curve):
        if value >= target:
            if i == 0:
                return size
            size0, value0 = curve[i - 1]
            return size0 + (size - size0) * (target - value0) / (value - value0)
    return float("nan")


def plot(results: dict, path: str, budget: float | None = None) -> None:
    """One panel per data set: each method's curve, lossless sizes as vertical lines, log bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(6.5 * len(results), 4.8), squeeze=False)
    for ax, (label, rows) in zip(axes[0], results.items(), strict=True):
        methods = [m for m in dict.fromkeys(r["method"] for r in rows if "psnr" in r) if "train-fitted" not in m]
        for method in methods:
            curve = frontier(rows, method)
            style = "-o" if method.startswith("AE") else ("--s" if method.startswith("PCA") else ":^")
            ax.plot(*zip(*curve, strict=True), style, ms=3, label=method)
        low = min(r["psnr"] for r in rows if "psnr" in r)
        for r in rows:
            if "psnr" not in r:
                ax.axvline(r["bytes"], color="grey", lw=0.6, ls="-.")
                ax.text(r["bytes"], low, f" {r['method']} (lossless)", rotation=90, fontsize=7, color="grey")
        if budget:
            ax.axvline(budget, color="k", lw=0.6)
        ax.set_xscale("log")
        ax.set_xlabel("bytes per image (whole file, header included)")
        ax.set_ylabel("PSNR (dB)")
        ax.set_title(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
