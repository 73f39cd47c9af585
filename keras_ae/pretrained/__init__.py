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
from keras_ae.export.image_model import KERAS_FILE, SAVED_MODEL, TFLITE_FILES  # noqa: F401 (the folder's names)

PHOTO_GRAY = "photo-gray"
MODELS = (PHOTO_GRAY,)
ROOT = os.path.dirname(os.path.abspath(__file__))
CARD = "MODEL_CARD.md"


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
    from keras_ae import io

    return io.load_keras_model(os.path.join(path(name), KERAS_FILE))


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
        out_dir: the folder, `keras_ae/pretrained/photo-gray` by default; replaced once complete, but for
            MODEL_CARD.md (written by the bench, not listed in metadata.json, so kept).
        representative: noisy (H, W, 1) images that calibrate the int8 file.
        info: JSON-able facts kept in metadata.json (training data, noise, time).
    """
    from keras_ae import io
    from keras_ae.export import image_model

    model = io.load_keras_model(model_path, flag="--package-model")
    return image_model.export_folder(
        model, out_dir or os.path.join(ROOT, PHOTO_GRAY), representative, info, flag="pretrained.package"
    )


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
