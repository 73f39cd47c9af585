"""Export a fully convolutional image-to-image model (a photo denoiser) for images of any height and width.

    from keras_ae.export import image_model
    image_model.write_saved_model(model, "out/saved_model")              # `denoise`: (batch, H, W, C), any H, W
    image_model.write_tflite(model, "out/model_float32.tflite", "float32")  # (1, H, W, C): resize the input
    image_model.export_folder(model, "out", representative=crops)         # all of it, plus metadata.json

A U-Net that halves the image k times only takes sizes that are multiples of 2**k. The exported signatures take
any size: they pad the image by reflection up to the next multiple, run the model and crop the result back, then
clip it to [0, 1], so an app calls them on the photo as it is. The `.keras` file stays the bare model (plain Keras
layers, loadable without keras-ae); `predict_any_size` does the same padding around it in Python.

TFLite files hold one signature `denoise` with input `images` of shape (1, 1, 1, C) in the file; LiteRT's
`interpreter.resize_tensor_input(index, (1, H, W, C))` then `allocate_tensors()` sets the size (measured to work:
tests/test_pretrained.py). No Flex ops: the pad, slice and convolution ops are all TFLite builtins.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings

import numpy as np

from keras_ae import io
from keras_ae.errors import UserError

SIGNATURE = "denoise"
INPUT_NAME = "images"
OUTPUT_NAME = "images"
KERAS_FILE = "model.keras"
SAVED_MODEL = "saved_model"
TFLITE_FILES = {"float32": "model_float32.tflite", "int8": "model_int8.tflite"}


def size_multiple(model) -> int:
    """The factor H and W must be multiples of: 2**(number of stride-2 downsamplings on the way down)."""
    import keras

    factor = 1
    downsampling = (keras.layers.Conv2D, keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)
    for layer in model.layers:
        if isinstance(layer, downsampling) and not isinstance(layer, keras.layers.Conv2DTranspose):
            factor *= max(int(s) for s in layer.strides)
    return factor


def check_image_model(model) -> int:
    """The number of channels of a (None, None, None, C) -> (None, None, None, C) model; a UserError otherwise."""
    shape_in, shape_out = tuple(model.input_shape), tuple(model.output_shape)
    if len(shape_in) != 4 or shape_in != shape_out or shape_in[-1] is None:
        raise UserError(f"not an image-to-image model (input {shape_in}, output {shape_out})")
    if shape_in[1:3] != (None, None):
        raise UserError(f"the model takes a fixed size {shape_in[1:3]}; export it with `keras-ae export` instead")
    return int(shape_in[-1])


def padded_call(model, multiple: int):
    """A TensorFlow function (B, H, W, C) -> (B, H, W, C): reflect-pad to `multiple`, run, crop, clip to [0, 1]."""
    import tensorflow as tf

    def call(images):
        height, width = tf.shape(images)[1], tf.shape(images)[2]
        pad_h = tf.math.floormod(-height, multiple)
        pad_w = tf.math.floormod(-width, multiple)
        padded = tf.pad(images, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]], mode="REFLECT")
        # a pad by computed amounts loses every static dimension; TFLite's Conv2D needs the channels back
        padded = tf.reshape(padded, [-1, height + pad_h, width + pad_w, images.shape[-1]])
        out = model(padded, training=False)[:, :height, :width, :]
        return {OUTPUT_NAME: tf.clip_by_value(out, 0.0, 1.0)}

    return call


def predict_any_size(model, images: np.ndarray, multiple: int | None = None) -> np.ndarray:
    """Run the bare Keras model on (H, W, C) or (N, H, W, C) images of any size, as the signatures do."""
    images = np.asarray(images, np.float32)
    single = images.ndim == 3
    batch = images[None] if single else images
    multiple = multiple or size_multiple(model)
    height, width = batch.shape[1:3]
    pad_h, pad_w = (-height) % multiple, (-width) % multiple
    if pad_h >= height or pad_w >= width:
        raise UserError(
            f"image of {height}x{width} pixels is too small for this model (at least {multiple}x{multiple})"
        )
    padded = np.pad(batch, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="reflect")
    out = np.asarray(model(padded, training=False))[:, :height, :width]
    out = np.clip(out, 0.0, 1.0).astype(np.float32)
    return out[0] if single else out


def write_saved_model(model, path: str, multiple: int | None = None) -> None:
    """A SavedModel whose `denoise` signature (also `serving_default`) takes (batch, H, W, C), any H and W."""
    import keras
    import tensorflow as tf

    channels = check_image_model(model)
    multiple = multiple or size_multiple(model)
    archive = keras.export.ExportArchive()
    spec = tf.TensorSpec((None, None, None, channels), tf.float32, name=INPUT_NAME)
    archive.add_endpoint(SIGNATURE, padded_call(model, multiple), input_signature=[spec])
    archive.write_out(path, verbose=False)


def write_tflite(model, path: str, mode: str = "float32", representative=None, multiple: int | None = None) -> None:
    """One `.tflite` file (`float32` or `int8` weights and activations, float32 input and output) whose
    `denoise` signature takes (1, H, W, C) after `resize_tensor_input`.

    `representative` (int8): an iterable of (H, W, C) or (1, H, W, C) float32 noisy images to calibrate with.
    """
    import keras
    import tensorflow as tf

    from keras_ae.export import tflite

    if mode not in ("float32", "int8"):
        raise UserError(f"quantization mode {mode!r}: this export writes float32 or int8")
    channels = check_image_model(model)
    multiple = multiple or size_multiple(model)
    source = tempfile.mkdtemp(prefix=".tflite-source-")
    try:
        archive = keras.export.ExportArchive()
        spec = tf.TensorSpec((1, None, None, channels), tf.float32, name=INPUT_NAME)
        archive.add_endpoint(SIGNATURE, padded_call(model, multiple), input_signature=[spec])
        archive.write_out(source, verbose=False)
        feed = None
        if mode == "int8":
            if representative is None:
                raise UserError("int8 quantization needs representative images to calibrate")
            images = [np.asarray(x, np.float32).reshape((1, *np.shape(x)[-3:])) for x in representative]

            def feed():
                for x in images:
                    yield SIGNATURE, {INPUT_NAME: x}

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            content = tflite.convert(source, [SIGNATURE], mode, feed)
    finally:
        shutil.rmtree(source, ignore_errors=True)
    io.write_file(path, content)


def export_folder(model, out_dir: str, representative=None, info: dict | None = None, flag: str = "-o") -> dict:
    """The model in every form an app may want, in one folder; returns its metadata.json.

    `model.keras`, `saved_model/` and `model_float32.tflite` (with `representative` also `model_int8.tflite`),
    all taking any H and W, and `metadata.json`: the padding rule, sizes and sha256 of each file. The folder
    is written whole or not at all; an earlier export there is replaced, files the user added (a model card)
    are kept, and any other non-empty folder is refused (`keras_ae.export.check_target`).

    Args:
        model: a Keras image-to-image model of plain layers, H and W free.
        out_dir: the folder.
        representative: noisy (H, W, C) images that calibrate the int8 file; None leaves it out.
        info: JSON-able facts kept in metadata.json under `info` (training data, noise, metrics).
        flag: the option `out_dir` came from, for error messages.
    """
    from keras_ae import export, runs
    from keras_ae.export import metadata as meta

    channels = check_image_model(model)
    multiple = size_multiple(model)
    out_dir = os.path.normpath(out_dir)
    export.check_target(out_dir, flag=flag)
    with runs.run_folder(out_dir, flag=flag, ours=export.written_files) as work:
        model.save(os.path.join(work, KERAS_FILE))
        write_saved_model(model, os.path.join(work, SAVED_MODEL), multiple)
        modes = ("float32", "int8") if representative is not None else ("float32",)
        for mode in modes:
            write_tflite(model, os.path.join(work, TFLITE_FILES[mode]), mode, representative, multiple)
        result = {
            "format_version": meta.FORMAT_VERSION,
            "model": os.path.basename(out_dir),
            "input": {
                "shape": [None, None, None, channels],
                "dtype": "float32",
                "range": [0.0, 1.0],
                "size_multiple_of_model_keras": multiple,
                "padding": f"the saved_model and tflite signatures reflect-pad H and W up to a multiple of {multiple} "
                "and crop the output back; model.keras does not (keras_ae.export.image_model.predict_any_size does)",
                "min_size": multiple,
            },
            "output": "the denoised image, same shape, clipped to [0, 1] in the signatures",
            "signature": SIGNATURE,
            "tflite_input": {
                "shape": [1, 1, 1, channels],
                "resize": "interpreter.resize_tensor_input(index, (1, H, W, C)), then allocate_tensors()",
            },
            "parameters": int(model.count_params()),
            "versions": meta.versions(),
            "info": dict(info or {}),
            "files": meta.file_table(work),
        }
        runs.write_json(os.path.join(work, meta.FILE_NAME), result)
    return result


def run_tflite(interpreter, image: np.ndarray) -> np.ndarray:
    """Denoise one (H, W, C) float image with a LiteRT/TFLite interpreter of a file `write_tflite` wrote
    (resizes its input to the image; the interpreter is reused across images of the same size)."""
    image = np.asarray(image, np.float32)
    details = interpreter.get_signature_runner(SIGNATURE).get_input_details()[INPUT_NAME]
    if tuple(details["shape"][1:3]) != image.shape[:2]:
        interpreter.resize_tensor_input(details["index"], (1, *image.shape), strict=False)
        interpreter.allocate_tensors()
    runner = interpreter.get_signature_runner(SIGNATURE)
    return runner(**{INPUT_NAME: image[None]})[OUTPUT_NAME][0]


class AnySizeModel:
    """A loaded image-to-image model that takes any H and W: `predict((1, H, W, C)) -> (1, H, W, C)` in [0, 1]."""

    any_size = True

    def __init__(self, predict, channels: int, source: str, margin: int = 32):
        self.predict = predict
        self.channels = int(channels)
        self.source = source
        self.margin = margin  # context each tile needs around it: at least the network's receptive radius


def from_keras_model(model, source: str = "model") -> AnySizeModel:
    """Wrap a Keras model that takes any size: padded to its multiple, run as one traced function."""
    import tensorflow as tf

    channels = check_image_model(model)
    call = padded_call(model, size_multiple(model))
    spec = tf.TensorSpec((None, None, None, channels), tf.float32)
    function = tf.function(lambda x: call(x)[OUTPUT_NAME], input_signature=[spec])
    return AnySizeModel(lambda x: function(tf.constant(x, tf.float32)).numpy(), channels, source)


def load_any_size(path: str) -> AnySizeModel | None:
    """The model at `path` (a `.keras` file, a SavedModel or an export folder holding one) when it takes any
    H and W; None when it takes one fixed size (those go through `keras_ae.io.load_image_model`)."""
    path = os.fspath(path)
    saved_model = os.path.join(path, "saved_model") if os.path.isdir(os.path.join(path, "saved_model")) else path
    if os.path.isfile(os.path.join(saved_model, "saved_model.pb")):
        import tensorflow as tf

        loaded = tf.saved_model.load(saved_model)
        name = next((n for n in (SIGNATURE, "reconstruct", "serving_default") if n in loaded.signatures), None)
        if name is None:
            return None
        signature = loaded.signatures[name]
        ((input_name, spec),) = signature.structured_input_signature[1].items()
        if len(spec.shape) != 4 or tuple(spec.shape[1:3]) != (None, None) or spec.shape[-1] is None:
            return None
        output_name = next(iter(signature.structured_outputs))

        def predict(x):
            return signature(**{input_name: tf.constant(x, tf.float32)})[output_name].numpy()

        predict.loaded = loaded  # keep the SavedModel's variables alive
        return AnySizeModel(predict, spec.shape[-1], saved_model)
    if os.path.isdir(path) and os.path.isfile(os.path.join(path, "model.keras")):
        path = os.path.join(path, "model.keras")
    if not path.endswith(".keras") or not os.path.isfile(path):
        return None
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            config = archive.read("config.json")
    except (OSError, KeyError, zipfile.BadZipFile):
        return None  # the regular loader names the problem
    import json

    layers = json.loads(config).get("config", {}).get("layers", [])
    inputs = [layer for layer in layers if layer.get("class_name") == "InputLayer"]
    if len(inputs) != 1:
        return None
    shape = inputs[0].get("config", {}).get("batch_shape") or inputs[0].get("config", {}).get("batch_input_shape")
    if not shape or len(shape) != 4 or tuple(shape[1:3]) != (None, None):
        return None
    from keras_ae import io

    model = io.load_keras_model(path)
    try:
        check_image_model(model)
    except UserError:
        return None
    return from_keras_model(model, path)
