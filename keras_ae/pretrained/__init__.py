"""Models that ship inside the package, ready to use without training.

    from keras_ae import pretrained
    model = pretrained.load()                    # the blind grayscale photo denoiser, a plain Keras model
    clean = pretrained.denoise(noisy)            # (H, W) or (H, W, 1) float in [0, 1], any size
    folder = pretrained.path()                   # .../keras_ae/pretrained/photo-gray

`photo-gray/` holds one model in every form an app may want (see its MODEL_CARD.md):

    model.keras              the bare Keras model: H and W must be multiples of 4 (`denoise` pads for you)
    saved_model/             signature `denoise`: images (batch, H, W, 1) float32 in [0, 1], any H and W
    model_float32.tflite     signature `denoise`: images (1, H, W, 1); resize the input to the photo's size
    model_int8.tflite        the same, int8 weights and activations, float32 input and output
    metadata.json            sizes, sha256 of every file, the padding rule, versions
    MODEL_CARD.md            training data, noise, training time, measured PSNR beside BM3D

`package()` rebuilds the folder from a `.keras` file (bench/photo_denoise.py --package-model does it).
"""

from __future__ import annotations

import os

from keras_ae.errors import UserError

PHOTO_GRAY = "photo-gray"
MODELS = (PHOTO_GRAY,)
ROOT = os.path.dirname(os.path.abspath(__file__))
KERAS_FILE = "model.keras"
SAVED_MODEL = "saved_model"
TFLITE_FILES = {"float32": "model_float32.tflite", "int8": "model_int8.tflite"}
CARD = "MODEL_CARD.md"
# Images below this many pixels a side cannot be reflect-padded to the model's multiple of 4.
MIN_SIZE = 4


def path(name: str = PHOTO_GRAY) -> str:
    """The folder of a shipped model."""
    if name not in MODELS:
        raise UserError(f"no shipped model named {name!r} (shipped: {', '.join(MODELS)})")
    folder = os.path.join(ROOT, name)
    if not os.path.isfile(os.path.join(folder, KERAS_FILE)):
        raise UserError(f"the shipped model {name} is missing from {folder}: reinstall keras-ae")
    return folder


def load(name: str = PHOTO_GRAY):
    """The shipped Keras model (safe mode: no code is loaded from the file)."""
    import keras

    return keras.saving.load_model(os.path.join(path(name), KERAS_FILE), safe_mode=True, compile=False)


def denoise(image, model=None):
    """Denoise one grayscale image of any size: (H, W) or (H, W, 1) float in [0, 1]; same shape back."""
    import numpy as np

    from keras_ae.export.image_model import predict_any_size

    image = np.asarray(image, np.float32)
    squeeze = image.ndim == 2
    out = predict_any_size(model if model is not None else load(), image[..., None] if squeeze else image)
    return out[..., 0] if squeeze else out


def package(model_path: str, out_dir: str | None = None, representative=None, info: dict | None = None) -> dict:
    """Write a shipped-model folder from a `.keras` image-to-image model of any size; returns its metadata.

    Args:
        model_path: the `.keras` file (plain Keras layers, H and W free).
        out_dir: the folder, `keras_ae/pretrained/photo-gray` by default; replaced whole once complete
            (MODEL_CARD.md, written by the bench, is kept).
        representative: noisy (H, W, 1) images that calibrate the int8 file.
        info: JSON-able facts kept in metadata.json (training data, noise, time).
    """
    import shutil

    import keras

    from keras_ae import runs
    from keras_ae.export import image_model
    from keras_ae.export import metadata as meta

    out_dir = os.path.normpath(out_dir or os.path.join(ROOT, PHOTO_GRAY))
    model = keras.saving.load_model(model_path, safe_mode=True, compile=False)
    channels = image_model.check_image_model(model)
    multiple = image_model.size_multiple(model)
    old_card = os.path.join(out_dir, CARD)
    card = None
    if os.path.isfile(old_card):
        with open(old_card, encoding="utf-8") as f:
            card = f.read()
    work = runs.partial_path(out_dir)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    try:
        model.save(os.path.join(work, KERAS_FILE))  # loaded without compile: no optimizer state
        image_model.write_saved_model(model, os.path.join(work, SAVED_MODEL), multiple)
        for mode, name in TFLITE_FILES.items():
            image_model.write_tflite(model, os.path.join(work, name), mode, representative, multiple)
        if card is not None:
            with open(os.path.join(work, CARD), "w", encoding="utf-8") as f:
                f.write(card)
        result = {
            "format_version": meta.FORMAT_VERSION,
            "model": os.path.basename(out_dir),
            "input": {
                "shape": [None, None, None, channels],
                "dtype": "float32",
                "range": [0.0, 1.0],
                "size_multiple_of_model_keras": multiple,
                "padding": f"the saved_model and tflite signatures reflect-pad H and W up to a multiple of {multiple} "
                "and crop the output back; model.keras does not (keras_ae.pretrained.denoise does)",
                "min_size": MIN_SIZE,
            },
            "output": "the denoised image, same shape, clipped to [0, 1] in the signatures",
            "signature": image_model.SIGNATURE,
            "tflite_input": {
                "shape": [1, 1, 1, channels],
                "resize": "interpreter.resize_tensor_input(index, (1, H, W, C)), then allocate_tensors()",
            },
            "parameters": int(model.count_params()),
            "versions": meta.versions(),
            "info": dict(info or {}),
            # the card is rewritten by the bench after packaging, so it is not checksummed
            "files": {k: v for k, v in meta.file_table(work).items() if k != CARD},
        }
        runs.write_json(os.path.join(work, meta.FILE_NAME), result)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    _swap_in(work, out_dir)
    return result


def _swap_in(work: str, out_dir: str) -> None:
    """Replace `out_dir` by the finished `work` folder with two renames (no run marker: this is package data)."""
    import shutil
    import tempfile

    old = None
    if os.path.exists(out_dir):
        old = tempfile.mkdtemp(prefix=os.path.basename(out_dir) + ".old-", dir=os.path.dirname(out_dir))
        os.rmdir(old)
        os.rename(out_dir, old)
    os.rename(work, out_dir)
    if old:
        shutil.rmtree(old, ignore_errors=True)


def sizes(name: str = PHOTO_GRAY) -> dict[str, int]:
    """Bytes per top-level entry of a shipped model's folder (folders summed)."""
    folder = path(name)
    result = {}
    for entry in sorted(e for e in os.listdir(folder) if not e.startswith(".")):
        full = os.path.join(folder, entry)
        if os.path.isdir(full):
            result[entry] = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(full) for f in fs)
        else:
            result[entry] = os.path.getsize(full)
    return result
