"""The one I/O layer: atomic file writes, image files in any bit depth, model loading, chunked prediction.

Everything in keras-ae that reads or writes a user's file goes through here, so the promises of
docs/reliability.md hold in one place:

- `write_file(path, data)` and `with atomic_path(path) as tmp:` write beside `path` under a hidden temporary
  name and rename it into place: a reader (or a `kill -9`) never sees half a file. Files are created with
  the process's umask, like any other program's (0644 under the usual 022).
- `check_output_file(out, inputs, overwrite)`: every command that writes one named file refuses an existing
  one unless `--overwrite`, before any work.
- `read_image(path, channels=None) -> (pixels, bits)`: float32 (H, W, C) in [0, 1] and the file's bit depth
  (8 or 16; 32 for float TIFFs). 16-bit PNG and TIFF, grey or colour, keep all 16 bits. `channels` (1 or 3)
  converts grey <-> colour (luma 0.299 R + 0.587 G + 0.114 B); alpha is dropped.
  `write_image(path, pixels, bits=8)` writes a PNG, 16-bit when `bits=16`.
- A picture larger than `max_pixels()` (100 megapixels unless `KERAS_AE_MAX_PIXELS` or `keras-ae
  --max-pixels` says otherwise) is refused from its header, before anything is decoded: a 74-byte PNG can
  declare 50000x50000 pixels.
- `load_image_model(path)`: a `.keras` file, a run folder or an export, as an `ImageModel` (image in,
  image out) whose `predict` runs in chunks (`chunks`).

Every failure a user can cause is a `UserError`: one line naming the file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import struct
import warnings
import zlib
from typing import NamedTuple

import numpy as np

from keras_ae.errors import UserError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff")
MAX_PIXELS_ENV = "KERAS_AE_MAX_PIXELS"
DEFAULT_MAX_PIXELS = 100_000_000
CHUNK = 256  # images per call of a model in `chunks`
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)
_GREY_MODES = ("1", "L", "LA", "La", "I", "F", "I;16", "I;16L", "I;16B", "I;16N")


# -- atomic writes ------------------------------------------------------------------------------------------------
def temporary_name(path: str) -> str:
    """A hidden name beside `path` that keeps its extension (libraries pick the format from it)."""
    folder, base = os.path.split(os.path.abspath(os.fspath(path)))
    return os.path.join(folder, f".{base}.{secrets.token_hex(4)}.partial{os.path.splitext(base)[1]}")


@contextlib.contextmanager
def atomic_path(path):
    """`with atomic_path(path) as tmp:` have any library write the file `tmp`; it becomes `path` only if the
    block ends without an error, and is removed if it does not."""
    tmp = temporary_name(path)
    try:
        yield tmp
        os.replace(tmp, os.fspath(path))
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def check_output_file(out, inputs=(), overwrite: bool = False, flag: str = "-o") -> None:
    """Refuse (one line) an output file that already exists (unless `overwrite`), is a folder, is one of
    `inputs`, or whose folder does not exist. Commands call it before any work, so a refusal costs nothing."""
    out = os.fspath(out)
    if os.path.isdir(out):
        raise UserError(f"{flag} {out}: is a folder; give a file name")
    exists = os.path.exists(out)
    if exists and any(os.path.exists(f) and os.path.samefile(f, out) for f in map(os.fspath, inputs)):
        raise UserError(f"{flag} {out}: is one of the inputs")
    if exists and not overwrite:
        raise UserError(f"{flag} {out}: already exists (use --overwrite to replace it)")
    parent = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(parent):
        raise UserError(f"{flag} {out}: folder {parent} does not exist")


def write_file(path, data: bytes | str) -> None:
    """Write `data` to `path` whole or not at all (a `UserError` naming `path` if it cannot be written)."""
    try:
        with atomic_path(path) as tmp, open(tmp, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
    except OSError as error:
        raise UserError(f"cannot write {path} ({error.strerror or error})") from None


# -- images -------------------------------------------------------------------------------------------------------
class ImageInfo(NamedTuple):
    height: int
    width: int
    channels: int  # 1 (grey) or 3 (colour): what `read_image` returns without `channels`
    bits: int  # 8 or 16 per channel (32: a float TIFF)


def max_pixels() -> int:
    """The largest picture (height x width) keras-ae decodes: `KERAS_AE_MAX_PIXELS`, else 100 megapixels."""
    text = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(float(text))
    except ValueError:
        raise UserError(f"{MAX_PIXELS_ENV}={text}: not a number of pixels") from None
    if value < 1:
        raise UserError(f"{MAX_PIXELS_ENV}={text}: must be at least 1")
    return value


def is_image_file(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS)


@contextlib.contextmanager
def _opened(path: str):
    """Pillow's image, header read, size checked against `max_pixels()` before any pixel is decoded."""
    from PIL import Image, UnidentifiedImageError

    limit = max_pixels()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # our limit below, with our message
            try:
                image = Image.open(path)
            finally:
                Image.MAX_IMAGE_PIXELS = saved
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise UserError(f"cannot read image {path}: {error}") from None
    with image:
        width, height = image.size
        if width * height > limit:
            raise UserError(
                f"{path}: {width}x{height} is {width * height / 1e6:,.0f} megapixels, over the limit of "
                f"{limit / 1e6:g} (a decompression bomb?); if it is a real picture, raise the limit with "
                f"keras-ae --max-pixels N or {MAX_PIXELS_ENV}=N"
            )
        yield image


def _bits(image, path: str) -> int:
    if image.format == "PNG":
        with open(path, "rb") as f:
            header = f.read(26)
        return 16 if len(header) == 26 and header[24] == 16 else 8
    if image.format == "TIFF":
        per_sample = image.tag_v2.get(258, 8)
        per_sample = per_sample[0] if isinstance(per_sample, tuple) else per_sample
        return 32 if image.mode == "F" else (16 if per_sample == 16 else 8)
    return 16 if image.mode.startswith("I;16") else (32 if image.mode == "F" else 8)


def image_info(path) -> ImageInfo:
    """Size, channels and bit depth from the header alone (cheap), with the pixel limit checked."""
    path = os.fspath(path)
    with _opened(path) as image:
        width, height = image.size
        return ImageInfo(height, width, 1 if image.mode in _GREY_MODES else 3, _bits(image, path))


def read_image(path, channels: int | None = None) -> tuple[np.ndarray, int]:
    """An image file as float32 (H, W, C) in [0, 1], and its bit depth (8, 16, or 32 for float TIFFs).

    Args:
        path: a PNG, JPEG, BMP, GIF or TIFF file (8- or 16-bit, grey or colour; alpha is dropped).
        channels: 1 or 3 to convert to grey or colour; None keeps the file's (1 for grey, else 3).

    Raises `UserError` (naming the file) for anything unreadable, truncated, or over `max_pixels()`.
    """
    path = os.fspath(path)
    try:
        with _opened(path) as image:
            bits = _bits(image, path)
            mode = image.mode
            if bits == 16 and mode not in _GREY_MODES:
                pixels = _colour16(path, image.format)
            elif mode in ("I", "F") or mode.startswith("I;16"):
                scale = 1.0 if mode == "F" else (65535.0 if bits == 16 or mode != "I" else 255.0)
                pixels = np.asarray(image).astype(np.float32) / np.float32(scale)
            else:
                image.load()
                target = "L" if mode in _GREY_MODES else "RGB"
                pixels = np.asarray(image.convert(target), np.float32) / np.float32(255.0)
    except UserError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, zlib.error) as error:
        raise UserError(f"cannot read image {path}: {str(error).splitlines()[0][:160]}") from None
    pixels = np.clip(pixels, 0.0, 1.0)
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    if channels == 1 and pixels.shape[-1] == 3:
        pixels = (pixels @ _LUMA)[..., None]
    elif channels == 3 and pixels.shape[-1] == 1:
        pixels = np.repeat(pixels, 3, axis=-1)
    return np.ascontiguousarray(pixels, np.float32), bits


def _colour16(path: str, kind: str) -> np.ndarray:
    """16-bit colour, which Pillow reads as 8-bit: PNG through TensorFlow's decoder, TIFF through tifffile."""
    if kind == "PNG":
        import tensorflow as tf

        try:
            pixels = tf.io.decode_png(tf.io.read_file(path), dtype=tf.uint16).numpy()
        except tf.errors.OpError as error:
            raise UserError(f"cannot read image {path}: {error.message.splitlines()[0][:160]}") from None
    else:
        try:
            import tifffile
        except ImportError:
            raise UserError(
                f"{path}: a 16-bit colour TIFF needs the tifffile package (pip install tifffile); or convert it "
                "to a 16-bit PNG"
            ) from None
        pixels = tifffile.imread(path)
        if pixels.ndim != 3 or pixels.shape[-1] not in (3, 4):
            raise UserError(f"{path}: a TIFF of shape {pixels.shape}; expected one colour image")
    return pixels[..., :3].astype(np.float32) / np.float32(65535.0)


def write_image(path, pixels: np.ndarray, bits: int = 8) -> None:
    """Write (H, W, 1|3) or (H, W) values in [0, 1] as a PNG (8- or 16-bit), atomically."""
    pixels = np.asarray(pixels, np.float32)
    pixels = pixels[..., 0] if pixels.ndim == 3 and pixels.shape[-1] == 1 else pixels
    if bits not in (8, 16):
        raise ValueError(f"bits must be 8 or 16, got {bits}")
    if bits == 8:
        from PIL import Image

        values = (np.clip(np.nan_to_num(pixels), 0, 1) * 255 + 0.5).astype(np.uint8)
        with atomic_path(path) as tmp:
            Image.fromarray(values).save(tmp, format="PNG")
        return
    values = (np.clip(np.nan_to_num(pixels), 0, 1) * 65535 + 0.5).astype(np.uint16)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(png16(values))


def png16(values: np.ndarray) -> bytes:
    """A 16-bit grey (H, W) or colour (H, W, 3) PNG, every row 'Up'-filtered (a small encoder: Pillow
    cannot write 16-bit colour)."""
    height, width = values.shape[:2]
    colour = 0 if values.ndim == 2 else 2
    rows = values.astype(">u2").reshape(height, -1).view(np.uint8)
    filtered = rows.copy()
    filtered[1:] -= rows[:-1]  # uint8 arithmetic wraps, as the PNG 'Up' filter wants
    raw = np.concatenate([np.full((height, 1), 2, np.uint8), filtered], axis=1).tobytes()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 16, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def list_images(inputs) -> list[str]:
    """Image files named directly, and those inside named folders (sorted), in the order given; refused if
    two would give outputs of the same name."""
    files = []
    for item in map(os.fspath, inputs):
        if os.path.isdir(item):
            found = sorted(
                os.path.join(item, f)
                for f in os.listdir(item)
                if is_image_file(f) and os.path.isfile(os.path.join(item, f))
            )
            if not found:
                raise UserError(f"{item}: no image files ({', '.join(IMAGE_EXTENSIONS)})")
            files += found
        elif os.path.isfile(item):
            files.append(item)
        else:
            raise UserError(f"{item}: no such file or folder")
    seen = {}
    for path in files:
        stem = os.path.splitext(os.path.basename(path))[0]
        if stem in seen:
            raise UserError(
                f"two inputs share the file name {stem}.png once written ({seen[stem]}, {path}); pass one of them"
            )
        seen[stem] = path
    return files


# -- models -------------------------------------------------------------------------------------------------------
def chunks(predict, images, chunk: int = CHUNK):
    """Yield `predict(images[i:i + chunk])` chunk by chunk (outputs are never all held unless kept)."""
    for start in range(0, len(images), chunk):
        yield np.asarray(predict(images[start : start + chunk]))


def predict_in_chunks(predict, images, chunk: int = CHUNK) -> np.ndarray:
    """`predict` over `images` `chunk` at a time, concatenated."""
    parts = list(chunks(predict, images, chunk))
    return np.concatenate(parts) if parts else np.zeros((0,), np.float32)


def load_keras_model(path, flag: str = "--model"):
    """A `.keras` file loaded safely (`safe_mode=True`: no Lambda layers, no pickles), or a `UserError`."""
    import zipfile

    path = os.fspath(path)
    named = f"{flag} {path}" if flag else path
    if not os.path.exists(path):
        raise UserError(f"{named}: not found")
    if not os.path.isfile(path) or not zipfile.is_zipfile(path):
        raise UserError(f"{named}: not a Keras model file (.keras)")
    # imported after the checks, so a wrong path is told at once, not after TensorFlow's start-up;
    # keras_ae/__init__.py registers every keras-ae layer as Keras loads (no import of models here)
    import keras

    try:
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # noqa: BLE001 - any failure to deserialise is the user's file at fault
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise UserError(f"{named}: cannot load it as a Keras model: {first_line[:200]}") from None


class ImageModel:
    """An image -> image function with a fixed input shape (H, W, C); `predict` runs `CHUNK` images at a time."""

    def __init__(self, predict, input_shape, source: str):
        self._predict = predict
        self.input_shape = tuple(int(s) if s is not None else None for s in input_shape)
        self.source = source

    def predict(self, images) -> np.ndarray:
        return predict_in_chunks(self._predict, np.asarray(images, np.float32))


def load_image_model(path, endpoint: str = "denoise") -> ImageModel:
    """A `.keras` model (an autoencoder or any image-to-image model), a run folder, or an exported folder
    holding `saved_model/` (its `endpoint` signature, else `reconstruct`)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise UserError(f"--model {path}: not found")
    saved_model = os.path.join(path, "saved_model") if os.path.isdir(os.path.join(path, "saved_model")) else path
    if os.path.isdir(saved_model) and os.path.isfile(os.path.join(saved_model, "saved_model.pb")):
        return _from_saved_model(saved_model, endpoint)
    if os.path.isdir(path) and os.path.isfile(os.path.join(path, "model.keras")):
        path = os.path.join(path, "model.keras")
    model = load_keras_model(path)
    if len(model.input_shape) != 4 or tuple(model.output_shape) != tuple(model.input_shape):
        raise UserError(
            f"--model {path}: not an image-to-image model (input {model.input_shape}, output {model.output_shape})"
        )

    def predict(x):
        return model.predict_on_batch(np.asarray(x, np.float32))

    return ImageModel(predict, model.input_shape[1:], path)


def _from_saved_model(path: str, endpoint: str) -> ImageModel:
    import tensorflow as tf

    loaded = tf.saved_model.load(path)
    for name in (endpoint, "reconstruct", "serving_default"):
        if name in loaded.signatures:
            signature = loaded.signatures[name]
            break
    else:
        raise UserError(f"--model {path}: the SavedModel has no '{endpoint}' or 'reconstruct' signature")
    ((input_name, spec),) = signature.structured_input_signature[1].items()
    output_name = next(iter(signature.structured_outputs))

    def predict(x):
        return signature(**{input_name: tf.constant(x, tf.float32)})[output_name].numpy()

    return ImageModel(predict, spec.shape[1:], path)
