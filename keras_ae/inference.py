"""Using a trained model on user files: load it from a `.keras` file or an export, read and write images."""

from __future__ import annotations

import os

import numpy as np

from keras_ae.errors import UserError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")


class ImageModel:
    """An image -> image function with a fixed input shape (H, W, C)."""

    def __init__(self, predict, input_shape, source: str):
        self.predict = predict
        self.input_shape = tuple(int(s) for s in input_shape)
        self.source = source


def load_image_model(path: str, endpoint: str = "denoise") -> ImageModel:
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
    return _from_keras(path)


def _from_keras(path: str) -> ImageModel:
    import keras

    from keras_ae.models import load

    try:
        ae = load(path)
        model = ae.autoencoder
    except UserError as error:
        if "is not a keras-ae model" not in str(error):
            raise
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
        if len(model.input_shape) != 4 or tuple(model.output_shape) != tuple(model.input_shape):
            raise UserError(
                f"--model {path}: not an image-to-image model (input {model.input_shape}, output {model.output_shape})"
            ) from None
    return ImageModel(lambda x: model.predict(x, verbose=0, batch_size=64), model.input_shape[1:], path)


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


def list_images(inputs) -> list[str]:
    """Image files named directly, and those inside named folders (sorted), in the order given."""
    files = []
    for item in inputs:
        if os.path.isdir(item):
            found = sorted(os.path.join(item, f) for f in os.listdir(item) if f.lower().endswith(IMAGE_EXTENSIONS))
            if not found:
                raise UserError(f"{item}: no image files ({', '.join(IMAGE_EXTENSIONS)})")
            files += found
        elif os.path.isfile(item):
            files.append(item)
        else:
            raise UserError(f"{item}: no such file or folder")
    names = [os.path.basename(f) for f in files]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise UserError(f"two inputs share the file name {duplicates[0]}; outputs would overwrite each other")
    return files


def read_image(path: str, channels: int):
    """float32 (H, W, channels) in [0, 1], and a note when the colour mode had to be converted."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            mode = image.mode
            target = "L" if channels == 1 else "RGB"
            note = None
            if mode != target and not (mode in ("I;16", "I", "1", "P") and target == "L"):
                note = f"{path}: converted {mode} to {'grey' if channels == 1 else 'RGB'} for the model"
            pixels = np.asarray(image.convert(target), np.float32) / 255.0
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise UserError(f"cannot read image {path}: {error}") from None
    return (pixels[..., None] if pixels.ndim == 2 else pixels), note


def write_png(path: str, image: np.ndarray) -> None:
    from PIL import Image

    pixels = (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
    Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(path)
