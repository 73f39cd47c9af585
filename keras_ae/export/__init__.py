"""Export a trained autoencoder for serving (SavedModel) and for phones and microcontrollers (TFLite).

    import keras_ae.export
    meta = keras_ae.export.export("runs/train", "exported/mnist", representative_data=x_train[:200])

writes, atomically (into `exported/mnist.partial/`, renamed into place only when everything is written;
a re-export replaces only the files an earlier one wrote, and keeps any the user added there):

    saved_model/           signatures encode, decode, reconstruct (= serving_default), any batch size
    model_float32.tflite   the same signatures, fixed batch (1 by default), one file per quantization mode
    model_float16.tflite
    model_dynamic.tflite
    model_int8.tflite      full-integer: needs `representative_data` to calibrate activation ranges
    metadata.json          input contract, signatures per file, versions, sha256 of every file

See exported/README.md for calling each from Python, LiteRT and Android.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import numpy as np

from keras_ae.errors import UserError

# Importing this package does not start TensorFlow (the CLI reads these for its defaults and `--help`).
FORMATS = ("saved_model", "tflite")
QUANTIZATIONS = ("float32", "float16", "dynamic", "int8")


def check_choices(values, valid, what: str) -> tuple[str, ...]:
    """Normalise a choice or a sequence of choices; unknown ones are a `UserError` naming the valid ones."""
    if isinstance(values, str):
        values = (values,)
    values = tuple(dict.fromkeys(str(v) for v in values))  # drop repeats, keep the order
    if not values:
        raise UserError(f"no {what} given (valid: {', '.join(valid)})")
    unknown = [v for v in values if v not in valid]
    if unknown:
        raise UserError(f"unknown {what} '{unknown[0]}' (valid: {', '.join(valid)})")
    return values


def export(
    model_or_path,
    out_dir,
    formats=FORMATS,
    quantize=QUANTIZATIONS,
    representative_data=None,
    endpoints=None,
    tflite_batch: int = 1,
    int8_io: bool = False,
    metadata=None,
) -> dict:
    """Export an `Autoencoder` (or a `.keras` file / run folder) into `out_dir`; returns the metadata.

    Args:
        model_or_path: an `Autoencoder`, a keras-ae Keras model, or a path that `keras_ae.models.load`
            reads; or `None` with `endpoints` only, for image-to-image models that have no encoder and
            decoder to export (a skip-connected U-Net denoiser).
        out_dir: the export folder. The files an earlier export wrote there (its metadata.json lists
            them) are replaced, only once the new ones are complete; files the user added are kept. Any
            other non-empty folder is refused.
        formats: any of `"saved_model"`, `"tflite"`.
        quantize: the TFLite files to write, any of `"float32"`, `"float16"`, `"dynamic"` (int8 weights,
            float activations) and `"int8"` (full integer).
        representative_data: images shaped like the model's input (100-500 training images are plenty),
            needed for `"int8"`: they calibrate the activation ranges of every signature.
        endpoints: extra signatures, `{name: keras.Model | Endpoint}`, e.g. `{"denoise": denoiser}`.
        tflite_batch: the fixed batch size of the TFLite signatures (the SavedModel's is dynamic).
        int8_io: make the int8 file take and return int8 tensors (scale and zero point are recorded in
            metadata.json) instead of float32 ones.
        metadata: a JSON-able dict kept in metadata.json under `info` (data set, metrics, ...).
    """
    from keras_ae import runs
    from keras_ae.export import metadata as meta_module
    from keras_ae.export import saved_model

    formats = check_choices(formats, FORMATS, "format")
    quantize = check_choices(quantize, QUANTIZATIONS, "quantization mode")
    if isinstance(tflite_batch, bool) or not isinstance(tflite_batch, (int, np.integer)) or tflite_batch < 1:
        raise UserError(f"--tflite-batch must be a positive integer, got {tflite_batch!r}")
    tflite_batch = int(tflite_batch)
    ae = None if model_or_path is None else as_autoencoder(model_or_path)
    ae, endpoints = saved_model.in_float32(ae, endpoints)  # a model trained with --mixed-precision, too
    all_endpoints = saved_model.endpoints_for(ae, endpoints)
    input_shape = next(iter(all_endpoints.values())).input_shape
    images = None
    if "tflite" in formats and "int8" in quantize:
        images = check_representative(representative_data, input_shape)

    out_dir = os.path.normpath(os.fspath(out_dir))
    check_target(out_dir, model_or_path)
    with runs.run_folder(out_dir, flag="-o", ours=written_files) as work:  # removed if anything below fails
        saved_model_info = tflite_info = None
        if "saved_model" in formats:
            saved_model.write(all_endpoints, os.path.join(work, "saved_model"), batch=None)
            saved_model_info = {
                "path": "saved_model",
                "batch": None,
                "signatures": saved_model.describe(all_endpoints, batch=None),
            }
        if "tflite" in formats:
            tflite_info = _write_tflite(ae, all_endpoints, work, quantize, images, tflite_batch, int8_io)
        code_size = ae.code_size if ae is not None else None
        result = meta_module.build(input_shape, code_size, work, saved_model_info, tflite_info, info=metadata)
        runs.write_json(os.path.join(work, meta_module.FILE_NAME), result)
    return result


def _write_tflite(ae, endpoints, work, quantize, images, batch, int8_io) -> dict:
    from keras_ae.export import saved_model, tflite

    # The converter reads a SavedModel; this one has a fixed batch (see tflite.py) and is not kept.
    fixed = tempfile.mkdtemp(prefix=".tflite-source-", dir=work)
    try:
        saved_model.write(endpoints, fixed, batch=batch)
        representative = None
        if images is not None:
            codes = ae.embed(images) if ae is not None else None
            representative = tflite.representative_dataset(endpoints, images, codes, batch)
        info = {}
        for mode in quantize:
            content = tflite.convert(fixed, list(endpoints), mode, representative, int8_io=int8_io)
            name = tflite.file_name(mode)
            path = os.path.join(work, name)
            with open(path, "wb") as f:
                f.write(content)
            info[mode] = {"file": name, "batch": batch, "signatures": tflite.describe(path, list(endpoints))}
        return info
    finally:
        shutil.rmtree(fixed, ignore_errors=True)


def as_autoencoder(model_or_path):
    """An `Autoencoder` from itself, from its composed Keras model, or from a path."""
    if isinstance(model_or_path, (str, os.PathLike)) and not os.path.exists(model_or_path):
        raise UserError(f"{os.fspath(model_or_path)}: not found")  # told before TensorFlow's seconds of start-up
    import keras

    from keras_ae.models import Autoencoder, load

    if isinstance(model_or_path, Autoencoder):
        return model_or_path
    if isinstance(model_or_path, keras.Model):
        return Autoencoder.from_model(model_or_path)
    if isinstance(model_or_path, (str, os.PathLike)):
        return load(model_or_path)
    raise UserError(f"cannot export a {type(model_or_path).__name__}: give an Autoencoder or a .keras path")


def is_export(out_dir: str) -> bool:
    """True for a folder an export wrote (it holds metadata.json, which lists every file in it)."""
    from keras_ae.export.metadata import FILE_NAME

    return os.path.isfile(os.path.join(out_dir, FILE_NAME))


def written_files(out_dir: str) -> list[str]:
    """The names an earlier export wrote in `out_dir` (from its metadata.json; `saved_model/` whole), what a
    re-export replaces; [] when `out_dir` holds none. Unreadable metadata owns only itself."""
    from keras_ae import runs
    from keras_ae.export.metadata import FILE_NAME

    if not is_export(out_dir):
        return []
    try:
        names = {path.split("/")[0] for path in runs.read_json(os.path.join(out_dir, FILE_NAME))["files"]}
    except (OSError, ValueError, LookupError, TypeError, AttributeError):
        names = set()
    return sorted({FILE_NAME, *(name for name in names if name not in ("", ".", ".."))})


def check_target(out_dir: str, source=None, flag: str = "-o") -> None:
    """Replace only what an export may replace: an earlier export or an empty folder, never the model's own
    run folder or an unrelated folder (`-o .` must not delete the working directory)."""
    from keras_ae.export.metadata import FILE_NAME

    if not os.path.isdir(out_dir):
        return
    if isinstance(source, (str, os.PathLike)):
        model = os.path.realpath(os.fspath(source))
        target = os.path.realpath(out_dir)
        if model == target or model.startswith(target + os.sep):
            raise UserError(f"{flag} {out_dir}: that folder holds the model being exported; choose another")
    if os.listdir(out_dir) and not os.path.isfile(os.path.join(out_dir, FILE_NAME)):
        raise UserError(f"{flag} {out_dir}: exists and is not an earlier export (no {FILE_NAME}); choose another")


def check_representative(data, input_shape) -> np.ndarray:
    if data is None:
        raise UserError("int8 quantization needs representative data (a few hundred training images) to calibrate")
    try:
        images = np.asarray(data, np.float32)
    except (TypeError, ValueError):
        raise UserError(f"representative data must be an array of images, got {type(data).__name__}") from None
    if images.ndim != len(input_shape) + 1 or tuple(images.shape[1:]) != tuple(input_shape):
        raise UserError(
            f"representative data has shape {images.shape}, but the model takes images of shape {tuple(input_shape)}"
        )
    if len(images) == 0:
        raise UserError("representative data holds no images")
    if not np.all(np.isfinite(images)):
        raise UserError("representative data holds NaN or infinite values")
    return images


def __getattr__(name):
    if name == "Endpoint":
        from keras_ae.export.saved_model import Endpoint

        return Endpoint
    raise AttributeError(f"module 'keras_ae.export' has no attribute {name!r}")


__all__ = ["FORMATS", "QUANTIZATIONS", "Endpoint", "check_choices", "export"]
