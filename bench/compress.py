"""Rate–distortion of the `.kae` archiver against the codecs people already use, on the same images.

    python bench/compress.py [--sets mnist,notmnist] [--epochs 20] [--cache /tmp/kae_bench_e20]

For each set (the 10,000 MNIST test digits of ../shared/data/mnist, the 10,000 notMNIST letters of
../shared/data/notmnist), conv autoencoders of several bottleneck widths are trained on 8,000 images; the other
2,000 are compressed into one `.kae` archive per setting, and every byte of the file is counted (header, names,
probability table, checksum). The same quantization and entropy coding applied to PCA codes is the classical
linear archiver; JPEG and WebP (Pillow) over a quality sweep, PNG, zlib and lzma are what people use today.
The MNIST-trained models are also run on notMNIST letters (what happens away from the training data), and
all 10,000 MNIST digits go into one archive (the header amortised over 10,000).

Prints Markdown tables and the issue's floors, writes docs/rate_distortion.png. Trained models and each set's
rows are cached in --cache, so a rerun of one set (`--sets notmnist`) redraws the picture with both.

    python bench/compress.py --noise-experiment 1e-4,5e-4,3e-3,1e-2 [--cache /tmp/kae_bench]

trains AE-32 on MNIST once per rate weight with `keras_ae.codec.rounding` (uniform noise of width 1 at the
bottleneck while training, plus that L1 rate weight) and prints its floors beside the plain AE-32 of the cached
MNIST run (run the MNIST bench first).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import machine  # noqa: E402
import numpy as np  # noqa: E402
from shared_sets import test_set  # noqa: E402

from keras_ae.codec import rate  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
WIDTHS = (16, 32, 64)


def load_split(name: str):
    """8,000 training and 2,000 held-out images of one set (`shared_sets.test_set`: a seeded split)."""
    data = test_set(name)
    return data.arrays("train")[0], data.arrays("validation")[0]


def train_models(name, x_train, x_val, epochs: int, cache: str, log=print):
    """One conv autoencoder per bottleneck width, cached as `<name>-ae<width>.keras`."""
    import tensorflow as tf

    from keras_ae import training
    from keras_ae.models import build, load

    os.makedirs(cache, exist_ok=True)
    models = {}
    for width in WIDTHS:
        path = os.path.join(cache, f"{name}-ae{width}.keras")
        if not os.path.exists(path):
            start = time.perf_counter()
            ae = build("conv", x_train.shape[1:], width)
            batch = 32
            train = tf.data.Dataset.from_tensor_slices((x_train, x_train)).shuffle(8000, seed=0).batch(batch)
            val = tf.data.Dataset.from_tensor_slices((x_val, x_val)).batch(256)
            with tempfile.TemporaryDirectory() as work:
                history = training.fit(
                    ae.autoencoder,
                    train,
                    val,
                    epochs=epochs,
                    workdir=work,
                    steps_per_epoch=training.steps(len(x_train), batch),
                    verbose=0,
                )
            ae.save(path + ".tmp.keras")
            os.replace(path + ".tmp.keras", path)
            log(
                f"trained {name} ae{width}: val_loss {history['val_loss'][-1]:.5f} in {time.perf_counter() - start:.0f} s"
            )
        models[width] = load(path)
    return models


SETTINGS = [("bits", b) for b in (2, 3, 4, 5, 6, 8)] + [("step", s) for s in (0.08, 0.04, 0.03, 0.02, 0.015, 0.01)]
# transform coding (what `keras-ae compress --step S` does by default): the decoder-metric KLT, one step S
KLT_SETTINGS = [("klt", s) for s in (0.16, 0.08, 0.04, 0.03, 0.02, 0.015, 0.01, 0.007, 0.005, 0.003)]
BUDGETS = (4, 6, 8, 10, 12, 16, 20, 24, 32)  # bytes per image at which the AE is compared with PCA


def evaluate(label, x, models, pca_models, x_train, log):
    rows = []
    for width, ae in models.items():
        log(f"{label}: AE {width}")
        rows += rate.archive_rows(
            f"AE-{width}", ae.embed, ae.decode, ae.fingerprint(), x, settings=SETTINGS, coders=("ans", "raw")
        )
        rows += rate.archive_rows(f"AE-{width}", ae.embed, ae.decode, ae.fingerprint(), x, settings=KLT_SETTINGS)
        # the same archives with the quantizer and probability model fitted on the 8,000 training codes
        rows += rate.archive_rows(
            f"AE-{width} (train-fitted)", ae.embed, ae.decode, ae.fingerprint(), x, fit_codes=ae.embed(x_train),
            settings=[("bits", 4), ("bits", 5), ("step", 0.02), ("step", 0.015)],
        )  # fmt: skip
    for width, pca in pca_models.items():
        log(f"{label}: PCA {width}")
        rows += rate.archive_rows(
            f"PCA-{width}", pca.embed, pca.decode, "0" * 64, x, settings=SETTINGS, coders=("ans", "raw")
        )
        rows += rate.archive_rows(f"PCA-{width}", pca.embed, pca.decode, "0" * 64, x, settings=KLT_SETTINGS)
    log(f"{label}: JPEG, WebP, lossless")
    rows += rate.pillow_rows(x, "JPEG", (1, 5, 10, 20, 30, 50, 75, 90))
    rows += rate.pillow_rows(x, "WEBP", (0, 5, 10, 25, 50, 75, 90))
    rows += rate.lossless_rows(x)
    return rows


def table(rows, title):
    lines = [
        f"### {title}",
        "",
        "| method | setting | coder | bytes/image | PSNR (dB) | SSIM |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "psnr" in r:
            lines.append(
                f"| {r['method']} | {r['setting']} | {r['coder']} | {r['bytes']:.1f} | {r['psnr']:.2f} | {r['ssim']:.3f} |"
            )
        else:
            lines.append(f"| {r['method']} | {r['setting']} | lossless | {r['bytes']:.1f} | inf | 1.000 |")
    return "\n".join(lines)


def floors(rows, widths):
    """The issue's four floors on MNIST, measured on the self-contained archives of the 2,000 held-out digits.

    Curves are frontiers (the best PSNR any setting reaches at a size) over every width and setting of a method;
    values between measured points are interpolated linearly in bytes. The entropy-coding saving is measured
    along the fixed-length curve (`--bits` 2-8 with `--coder raw`, every width): for each of its points
    (b bytes, p dB), the ANS curve (every setting, transform coding included) reaches p dB at b' bytes, and
    the saving is 1 - b'/b.
    """
    ae = [r for r in rows if r["method"] in {f"AE-{w}" for w in widths}]
    ae_curve = rate.frontier([dict(r, method="AE") for r in ae], "AE", coder="ans")
    raw_curve = rate.frontier([dict(r, method="AE") for r in ae if r["setting"].startswith("bits")], "AE", coder="raw")
    plain_curve = rate.frontier([dict(r, method="AE") for r in ae if not r["setting"].startswith("klt")], "AE")
    pca_curve = rate.frontier([dict(r, method="PCA") for r in rows if r["method"].startswith("PCA-")], "PCA")
    webp = min((r for r in rows if r["method"] == "WEBP"), key=lambda r: r["bytes"])
    at16, pca16 = rate.psnr_at(ae_curve, 16), rate.psnr_at(pca_curve, 16)
    margins = [(b, rate.psnr_at(ae_curve, b) - rate.psnr_at(pca_curve, b)) for b in BUDGETS]
    margins = [(b, m) for b, m in margins if np.isfinite(m)]
    met = [b for b, m in margins if m >= 3]
    same_quantization = [
        1 - r["bytes"] / q["bytes"]
        for r in ae
        for q in ae
        if r["coder"] == "ans"
        and q["coder"] == "raw"
        and r["setting"].startswith("bits")
        and (q["method"], q["setting"]) == (r["method"], r["setting"])
    ]
    same_psnr = [
        (1 - rate.bytes_for(ae_curve, p) / b, b, p) for b, p in raw_curve if np.isfinite(rate.bytes_for(ae_curve, p))
    ]
    plain_psnr = [
        1 - rate.bytes_for(plain_curve, p) / b for b, p in raw_curve if np.isfinite(rate.bytes_for(plain_curve, p))
    ]
    webp_bytes = rate.bytes_for(ae_curve, webp["psnr"])
    pca_fixed = rate.frontier(
        [dict(r, method="PCA") for r in rows if r["method"].startswith("PCA-") and r["setting"].startswith("bits")],
        "PCA",
        coder="raw",
    )
    fixed_at16 = rate.bytes_for(raw_curve, at16)
    unreached = [(b, p) for b, p in raw_curve if not np.isfinite(rate.bytes_for(ae_curve, p))]
    return [
        f"- PSNR at 16 B/image: {at16:.2f} dB (floor >= 21.5 dB): {'met' if at16 >= 21.5 else 'MISSED'}",
        f"- over PCA at equal bytes (PCA: every width and setting, same quantizers and ANS): {at16 - pca16:+.2f} dB "
        f"at 16 B (PCA {pca16:.2f} dB); floor >= +3 dB met at {', '.join(f'{b} B' for b in met) or 'no budget'} "
        f"of {', '.join(f'{b}' for b, _ in margins)} B",
        "  margin by budget: "
        + "; ".join(
            f"{b} B {rate.psnr_at(ae_curve, b):.2f} vs {rate.psnr_at(pca_curve, b):.2f} dB ({m:+.2f})"
            for b, m in margins
        ),
        f"  (against PCA with fixed-length codes, the issue's yardstick: {at16 - rate.psnr_at(pca_fixed, 16):+.2f} dB "
        f"at 16 B, PCA {rate.psnr_at(pca_fixed, 16):.2f} dB)",
        f"- WebP's smallest file: {webp['bytes']:.1f} B -> {webp['psnr']:.2f} dB; the AE reaches that PSNR with "
        f"{webp_bytes:.1f} B = {webp_bytes / webp['bytes']:.2f} of its bytes (floor <= 1/3): "
        f"{'met' if webp_bytes <= webp['bytes'] / 3 else 'MISSED'}",
        f"- entropy coding (ANS, transform coding included) vs fixed-length codes at the same PSNR: saves "
        f"{min(same_psnr)[0]:.0%} to {max(same_psnr)[0]:.0%} of the file at the {len(same_psnr)} fixed-length points "
        f"the ANS curve reaches (floor >= 20%): {'met' if min(same_psnr)[0] >= 0.2 else 'MISSED at some points'}"
        + (f"; not reached at all: {', '.join(f'{b:.1f} B/{p:.2f} dB' for b, p in unreached)}" if unreached else ""),
        f"  without transform coding (per-dimension grids only): {min(plain_psnr):.0%} to {max(plain_psnr):.0%}; "
        f"at the same quantization (same --bits): {min(same_quantization):.0%} to {max(same_quantization):.0%}",
        f"  at the 16-byte point: ANS {at16:.2f} dB in 16 B; fixed-length codes need {fixed_at16:.1f} B for that "
        f"({1 - 16 / fixed_at16:.0%} saved)",
        "  fixed-length points (bytes, dB -> ANS bytes for that dB): "
        + "; ".join(
            f"{b:.1f} B, {p:.2f} dB -> {rate.bytes_for(ae_curve, p):.1f} B ({s:.0%})"
            for s, b, p in sorted(same_psnr, key=lambda t: t[1])
        ),
    ]


TITLES = {"mnist": "MNIST, 2,000 held-out digits", "notmnist": "notMNIST, 2,000 held-out letters"}


def run_set(name, args, log):
    from keras_ae.measure.baselines import PCABaseline

    x_train, x_val = load_split(name)
    models = train_models(name, x_train, x_val, args.epochs, args.cache, log)
    pca_models = {w: PCABaseline(w).fit(x_train) for w in WIDTHS}
    rows = evaluate(name, x_val, models, pca_models, x_train, log)
    extra = {}
    if name == "mnist":
        log("10,000 digits in one archive")
        x_all = np.concatenate([x_train, x_val])
        settings = [("bits", 4), ("bits", 5), ("step", 0.02), ("step", 0.015)]
        extra["10,000 MNIST digits in one archive (8,000 of them seen in training: only the bytes are news)"] = [
            row for w in WIDTHS for row in rate.archive_rows(
                f"AE-{w}", models[w].embed, models[w].decode, models[w].fingerprint(), x_all, settings=settings
            )
        ]  # fmt: skip
        log("MNIST-trained models on notMNIST letters")
        _, letters = load_split("notmnist")
        extra["MNIST-trained models on 2,000 notMNIST letters (away from the training data)"] = [
            row for w in WIDTHS for row in rate.archive_rows(
                f"AE-{w} (MNIST)", models[w].embed, models[w].decode, models[w].fingerprint(), letters,
                settings=[("bits", 5)]
            )
        ] + [
            row for w in WIDTHS for row in rate.archive_rows(
                f"PCA-{w} (MNIST)", pca_models[w].embed, pca_models[w].decode, "0" * 64, letters, settings=[("bits", 5)]
            )
        ]  # fmt: skip
    return {"rows": rows, "extra": extra}


def noise_experiment(weights, args, log):
    """AE-32 trained through `QuantizationNoise` (width 1, each rate weight) against the plain cached AE-32."""
    import tensorflow as tf

    from keras_ae import training
    from keras_ae.codec.rounding import noisy_autoencoder
    from keras_ae.models import build, load

    with open(os.path.join(args.cache, "rows-mnist.json")) as f:
        cached = json.load(f)["rows"]
    baselines = [r for r in cached if not r["method"].startswith("AE")]
    x_train, x_val = load_split("mnist")
    variants = {"plain": [r for r in cached if r["method"] == "AE-32"]}
    for weight in weights:
        path = os.path.join(args.cache, f"mnist-ae32-noise{weight:g}.keras")
        if not os.path.exists(path):
            ae = build("conv", x_train.shape[1:], 32)
            train = tf.data.Dataset.from_tensor_slices((x_train, x_train)).shuffle(8000, seed=0).batch(32)
            val = tf.data.Dataset.from_tensor_slices((x_val, x_val)).batch(256)
            with tempfile.TemporaryDirectory() as work:
                training.fit(noisy_autoencoder(ae, 1.0, weight, seed=0), train, val, epochs=args.epochs, workdir=work,
                             steps_per_epoch=training.steps(len(x_train), 32), verbose=0)  # fmt: skip
            ae.save(path + ".tmp.keras")
            os.replace(path + ".tmp.keras", path)
        ae = load(path)
        log(f"noise, rate weight {weight:g}: code std {ae.embed(x_val).std(axis=0).mean():.2f} (noise width 1)")
        variants[f"noise, rate weight {weight:g}"] = rate.archive_rows(
            "AE-32", ae.embed, ae.decode, ae.fingerprint(), x_val, settings=SETTINGS, coders=("ans", "raw")
        ) + uniform_step_rows(ae, x_val)
    variants["plain"] += uniform_step_rows(load(os.path.join(args.cache, "mnist-ae32.keras")), x_val)
    for label, rows in variants.items():
        curve = rate.frontier([dict(r, method="AE") for r in rows], "AE")
        print(f"### AE-32 {label}")
        print("uniform steps (same step for every dimension, as the noise was): " + "; ".join(
            f"{r['setting']} {r['bytes']:.1f} B {r['psnr']:.2f} dB" for r in rows if r["setting"].startswith("uniform")
        ))  # fmt: skip
        print(f"PSNR along the whole curve at 8 / 12 / 16 B: {rate.psnr_at(curve, 8):.2f} / "
              f"{rate.psnr_at(curve, 12):.2f} / {rate.psnr_at(curve, 16):.2f} dB")  # fmt: skip
        print("\n".join(floors(rows + baselines, (32,))) + "\n")


def uniform_step_rows(ae, x):
    """Archives with one step for every dimension (0.1-0.6 of the codes' mean standard deviation): the grid
    that uniform training noise of one width prepares a decoder for."""
    from keras_ae.codec import Codebook, archive_bytes

    codes = ae.embed(x)
    rows = []
    for fraction in (0.1, 0.15, 0.2, 0.3, 0.4, 0.6):
        step = fraction * float(codes.std(axis=0).mean())
        codebook = Codebook.fit(codes, step=step, sensitivity=np.ones(codes.shape[1]))
        data, _ = archive_bytes(ae.fingerprint(), x.shape[1:], rate.numbered_names(len(x)), codes, codebook)
        psnr, ssim = rate.quality(x, ae.decode(codebook.quantizer.dequantize(codebook.quantizer.quantize(codes))))
        rows.append({"method": "AE-32", "setting": f"uniform step {step:.3f}", "coder": "ans",
                     "bytes": len(data) / len(x), "psnr": psnr, "ssim": ssim})  # fmt: skip
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", default="mnist,notmnist")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--cache", default="/tmp/kae_bench_e20", help="trained models and rows (per epoch count)")
    parser.add_argument("--train-only", action="store_true")
    parser.add_argument("--noise-experiment", default=None, help="comma-separated rate weights (see the docstring)")
    parser.add_argument("--plot", default=os.path.join(HERE, "..", "docs", "rate_distortion.png"))
    args = parser.parse_args()
    log = lambda *a: print(*a, flush=True)  # noqa: E731
    if args.noise_experiment:
        noise_experiment([float(w) for w in args.noise_experiment.split(",")], args, log)
        return
    for name in args.sets.split(","):
        if args.train_only:
            train_models(name, *load_split(name), args.epochs, args.cache, log)
            continue
        result = run_set(name, args, log)
        with open(os.path.join(args.cache, f"rows-{name}.json"), "w") as f:
            json.dump(result, f, indent=1)
    if args.train_only:
        return
    print(f"# bench/compress.py, {args.epochs} epochs, {machine.describe()}")
    results = {}
    for name, title in TITLES.items():
        path = os.path.join(args.cache, f"rows-{name}.json")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            result = json.load(f)
        results[title] = result["rows"]
        print(table(result["rows"], title) + "\n")
        for label, rows in result["extra"].items():
            print(table(rows, label) + "\n")
        print(f"### floors ({title}, self-contained archives)")
        print("\n".join(floors(result["rows"], WIDTHS)) + "\n")
    rate.plot(results, args.plot, budget=16)


if __name__ == "__main__":
    main()
