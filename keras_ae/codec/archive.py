"""Image files <-> one `.kae` archive, through a trained autoencoder's bottleneck.

`compress` reads the images in chunks (memory stays bounded by the chunk, whatever the number of files),
keeps only their codes, fits the quantizer and the probability model to those codes (or uses a `Codebook`
fitted elsewhere, e.g. on the training codes), and writes the archive through a temporary file and a
rename. `decompress` checks magic, version, checksum, bounds, the model's fingerprint, the image shape,
the output names and whether the payload can hold what the header claims before it decodes anything;
then, with the output folder locked, it decodes and writes the PNGs `CHUNK` at a time into a hidden
folder there (removing any such folder a killed run left) and moves them into place only when all are
written.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
from dataclasses import dataclass

import numpy as np

from keras_ae import io, runs
from keras_ae.codec import container, entropy
from keras_ae.codec.entropy import CodeModel, CorruptData
from keras_ae.codec.quantize import Quantizer, decoder_sensitivity
from keras_ae.codec.transform import Transform, decoder_metric
from keras_ae.errors import UserError

CHUNK = 256
MAX_FILE_NAME = 255  # bytes: what ext4, XFS, APFS and NTFS hold
PARTIAL_PREFIX = ".kae-partial-"


@dataclass
class Codebook:
    """What turns codes into symbols and symbols into bytes: an optional transform (see `transform`), the
    quantizer and the probability model."""

    quantizer: Quantizer
    model: CodeModel | None
    coder: str
    transform: Transform | None = None

    @classmethod
    def fit(
        cls,
        codes,
        bits: int | None = None,
        step: float | None = None,
        coder: str | None = None,
        sensitivity=None,
        metric=None,
    ):
        """Fit to example codes. With `step`, pass the decoder's `sensitivity` (see `quantize`), or its
        `metric` (`transform.decoder_metric`) to transform-code: the metric-whitened KLT, then one step for
        every value, the components that round to zero everywhere left out."""
        coder = entropy.check_coder(coder or entropy.default_coder())
        transform = None
        if metric is not None:
            transform = Transform.fit(codes, metric)
            values = transform.forward(codes)
            if step is not None:
                used = np.abs(values).max(axis=0) >= step / 2
                transform = transform.keep(np.flatnonzero(used) if used.any() else [0])
                values = transform.forward(codes)
            quantizer = Quantizer.fit(values, bits=bits, step=step, sensitivity=np.ones(values.shape[1]),
                                      zero_centred=True)  # fmt: skip
        else:
            quantizer = Quantizer.fit(codes, bits=bits, step=step, sensitivity=sensitivity)
        codebook = cls(quantizer, None, coder, transform)
        if coder == "ans":
            codebook.model = CodeModel.fit_best(codebook.symbols(codes), quantizer.levels)
        return codebook

    @classmethod
    def for_decoder(cls, decode, codes, bits=None, step=None, coder=None, transform: bool | None = None):
        """`fit`, measuring what it needs from the decoder: with `step`, transform coding by default (its
        metric), or per-dimension steps (its sensitivity) with `transform=False`; with `bits`, neither."""
        if transform is None:
            transform = step is not None
        if transform:
            return cls.fit(codes, bits=bits, step=step, coder=coder, metric=decoder_metric(decode, codes))
        sensitivity = decoder_sensitivity(decode, codes) if step is not None else None
        return cls.fit(codes, bits=bits, step=step, coder=coder, sensitivity=sensitivity)

    def symbols(self, codes) -> np.ndarray:
        """Codes (N, D) -> integer symbols (N, K)."""
        return self.quantizer.quantize(codes if self.transform is None else self.transform.forward(codes))

    def codes(self, symbols) -> np.ndarray:
        """Symbols (N, K) -> the codes (N, D) the decoder gets."""
        values = self.quantizer.dequantize(symbols)
        return values if self.transform is None else self.transform.inverse(values)

    def round_trip(self, codes) -> np.ndarray:
        return self.codes(self.symbols(codes))


@dataclass
class Summary:
    images: int
    bytes: int
    header_bytes: int
    payload_bytes: int


def encode_files(ae, files, chunk: int = CHUNK, progress=None) -> np.ndarray:
    """The codes (N, D) of image files, read `chunk` at a time; each file must match the model's input exactly."""
    return _encode(ae, files, chunk, progress)[0]


def _encode(ae, files, chunk: int = CHUNK, progress=None) -> tuple[np.ndarray, list[int]]:
    """`encode_files`, and each file's bit depth as it comes back (8, or 16 for 16- and 32-bit files)."""
    codes, depths = [], []
    for start in range(0, len(files), chunk):
        images = [read_exact(path, ae.input_shape) for path in files[start : start + chunk]]
        batch = np.stack([pixels for pixels, _ in images])
        depths += [8 if bits == 8 else 16 for _, bits in images]
        codes.append(ae.embed(batch).reshape(len(batch), -1))
        if progress:
            progress(len(batch))
    return np.concatenate(codes).astype(np.float32), depths


def read_exact(path: str, shape) -> tuple[np.ndarray, int]:
    """An image of exactly the model's size and colour mode, and its bit depth; anything else is refused,
    never resized."""
    from keras_ae import io

    info = io.image_info(path)
    if (info.height, info.width) != tuple(shape[:2]):
        raise UserError(f"{path}: image is {info.width}x{info.height}, the model takes {shape[1]}x{shape[0]} images")
    if info.channels != shape[-1]:
        kinds = {1: "grey", 3: "colour"}
        raise UserError(
            f"{path}: colour mode does not match the model (a {kinds[info.channels]} image, the model takes "
            f"{kinds.get(shape[-1], shape[-1])} ones); convert it first"
        )
    return io.read_image(path)


def output_names(names, source: str = "") -> list[str]:
    """The file each archived name decompresses to (`<stem>.png`), refused (one line) where the file system
    could not hold it (over 255 bytes, `.`, `..`, `...`) or two names would become the same file."""
    outputs, seen = [], {}
    for name in names:
        stem = os.path.splitext(name)[0]
        output = stem + ".png"
        where = f"{source}: " if source else ""
        if not stem.strip(".") or len(output.encode()) > MAX_FILE_NAME or not container.safe_name(name):
            shown = repr(name) if len(name) <= 60 else f"{name[:40]!r}... ({len(name.encode())} bytes)"
            raise UserError(
                f"{where}the name {shown} cannot be a file name (at most {MAX_FILE_NAME - 4} bytes before .png, "
                "not only dots, no / or control characters)"
            )
        if output in seen:
            raise UserError(f"{where}{seen[output]!r} and {name!r} would both decompress to {output}")
        seen[output] = name
        outputs.append(output)
    return outputs


def compress(
    ae,
    files,
    out: str,
    bits: int | None = None,
    step: float | None = None,
    coder: str | None = None,
    codebook: Codebook | None = None,
    overwrite: bool = False,
    progress=None,
    transform: bool | None = None,
) -> Summary:
    """Compress image `files` into the archive `out` (written whole or not at all).

    `transform` (by default: with `step`, not with `bits`) transform-codes the codes first (see `transform`).
    """
    if not files:
        raise UserError("no images to compress")
    names = [os.path.basename(f) for f in files]
    output_names(names)
    if len(files) > container.MAX_IMAGES or len(files) * ae.code_size > container.MAX_VALUES:
        most = min(container.MAX_IMAGES, container.MAX_VALUES // ae.code_size)
        raise UserError(f"{len(files):,} images is more than one archive holds ({most:,} here); split them")
    io.check_output_file(out, files, overwrite)
    codes, depths = _encode(ae, files, progress=progress)
    if codebook is None:
        codebook = Codebook.for_decoder(ae.decode, codes, bits=bits, step=step, coder=coder, transform=transform)
    expected = codebook.quantizer.size if codebook.transform is None else codebook.transform.code_size
    if expected != codes.shape[1]:
        raise UserError(f"the codebook is for codes of {expected} values, the model makes {codes.shape[1]}")
    data, payload = archive_bytes(ae.fingerprint(), ae.input_shape, names, codes, codebook, depths)
    io.write_file(out, data)
    return Summary(len(files), len(data), len(data) - payload, payload)


def archive_bytes(
    fingerprint: str, shape, names, codes: np.ndarray, codebook: Codebook, depths=None
) -> tuple[bytes, int]:
    """The archive as bytes, and how many of them are the entropy-coded payload (the rest is header).
    `depths`: each image's bit depth (8 or 16) to decompress to; None: all 8."""
    quantizer = codebook.quantizer
    symbols = codebook.symbols(codes)
    payload = entropy.encode(symbols, quantizer.levels, codebook.model, codebook.coder)
    header = container.Header(
        fingerprint=fingerprint,
        shape=tuple(int(s) for s in shape),
        names=list(names),
        coder=codebook.coder,
        levels=quantizer.levels,
        offset=quantizer.offset,
        step=quantizer.step,
        table=codebook.model.to_bytes() if codebook.model is not None else b"",
        transform=codebook.transform,
        model=codebook.model.kind if codebook.model is not None else "histogram",
        bits=None if depths is None else list(depths),
    )
    return container.pack(header, payload), len(payload)


def read_archive(path: str, fingerprint: str | None = None, check=None) -> tuple[container.Header, np.ndarray]:
    """Check an archive and decode its codes (N, D), dequantized. With `fingerprint`, refuse another model's;
    `check(header)` may refuse more (raising `UserError`) before anything is decoded."""
    if not os.path.isfile(path):
        raise UserError(f"{path}: no such archive")
    with open(path, "rb") as f:
        data = f.read()
    try:
        header, payload = container.unpack(data, check_payload=True)
        if fingerprint is not None and header.fingerprint != fingerprint:
            raise UserError(
                f"{path} was made by model {header.fingerprint[:16]}…, not by --model ({fingerprint[:16]}…); "
                "decompress it with the model that compressed it"
            )
        model = None
        if header.coder == "ans":
            model = CodeModel.from_bytes(header.table, header.size, header.levels, header.model)
        entropy.check_payload_size(len(payload), header.count, header.size, header.levels, model, header.coder)
        if check is not None:
            check(header)
        symbols = entropy.decode(payload, header.count, header.size, header.levels, model, header.coder)
    except CorruptData as error:
        raise UserError(f"{path}: {error}") from None
    quantizer = Quantizer(header.offset, header.step, header.levels)
    return header, Codebook(quantizer, None, header.coder, header.transform).codes(symbols)


def decompress(ae, archive: str, out_dir: str, overwrite: bool = False, progress=None) -> list[str]:
    """Decode every image of `archive` into `out_dir` as PNGs of the original names, 16-bit where the
    original was; returns their paths."""
    names, codes, depths = open_archive(ae, archive)
    return write_images(ae, codes, names, out_dir, overwrite, progress, depths)


def open_archive(ae, archive: str) -> tuple[list[str], np.ndarray, list[int]]:
    """The output names (`<stem>.png`), codes and bit depths of an archive that `ae` made; refused if another
    model did, if its images or codes are not the model's, or if its names cannot be files, before anything
    is decoded."""

    def check(header):
        if tuple(header.shape) != tuple(ae.input_shape) or header.code_size != ae.code_size:
            held = "x".join(map(str, header.shape))
            takes = "x".join(map(str, ae.input_shape))
            raise UserError(
                f"{archive}: holds {held} images with {header.code_size}-value codes; "
                f"--model takes {takes} images with {ae.code_size}-value codes"
            )
        output_names(header.names, archive)

    header, codes = read_archive(archive, ae.fingerprint(), check)
    return output_names(header.names, archive), codes, header.depths


def write_images(ae, codes, names, out_dir: str, overwrite: bool = False, progress=None, bits=8) -> list[str]:
    """Decode `codes` `CHUNK` at a time into PNGs in a hidden folder inside `out_dir`, then move them into
    place: a failure leaves `out_dir` as it was. `out_dir` is locked meanwhile (`runs.locked`), and hidden
    folders a killed run left there are removed first. `bits`: 8 or 16 for every PNG, or one per name."""
    depths = [int(bits)] * len(names) if np.ndim(bits) == 0 else [int(depth) for depth in bits]
    created = not os.path.exists(out_dir)
    targets = check_output_folder(out_dir, names, overwrite)
    with runs.locked(out_dir, "-o"):
        for leftover in glob.glob(os.path.join(glob.escape(out_dir), PARTIAL_PREFIX + "*")):
            shutil.rmtree(leftover, ignore_errors=True)
        work = tempfile.mkdtemp(prefix=PARTIAL_PREFIX, dir=out_dir)
        try:
            for start, images in zip(range(0, len(names), CHUNK), io.chunks(ae.decode, codes, CHUNK), strict=True):
                done = slice(start, start + CHUNK)
                for name, image, depth in zip(names[done], images, depths[done], strict=True):
                    io.write_image(os.path.join(work, name), image, bits=depth)
                if progress:
                    progress(len(images))
            for name, target in zip(names, targets, strict=True):
                os.replace(os.path.join(work, name), target)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            if created:
                shutil.rmtree(out_dir, ignore_errors=True)
            raise
        os.rmdir(work)
    return targets


def check_output_folder(out_dir: str, names, overwrite: bool) -> list[str]:
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise UserError(f"-o {out_dir}: exists and is not a folder")
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as error:
        raise UserError(f"-o {out_dir}: cannot write there ({error.strerror or error})") from None
    targets = [os.path.join(out_dir, name) for name in names]
    existing = [t for t in targets if os.path.exists(t)]
    if existing and not overwrite:
        more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        raise UserError(f"-o {out_dir}: already holds {os.path.basename(existing[0])}{more} (use --overwrite)")
    return targets
