"""TFLite export: one `.tflite` file per quantization mode, each holding every endpoint as a signature.

Conversion goes through a SavedModel (`from_saved_model`), not `from_keras_model`, which crashes on Keras 3
models. The SavedModel it reads has a *fixed* batch: with a dynamic batch, a decoder of Dense -> Reshape ->
UpSampling2D -> Conv2D keeps a `tf.Conv2D` the converter cannot lower to a builtin op, and we never fall
back to Flex (SELECT_TF_OPS) ops, which a phone's LiteRT runtime does not have.
"""

from __future__ import annotations

import warnings

import numpy as np
import tensorflow as tf

from keras_ae.errors import UserError


def file_name(mode: str) -> str:
    return f"model_{mode}.tflite"


def convert(
    saved_model_dir: str,
    signature_keys,
    mode: str,
    representative=None,
    int8_io: bool = False,
) -> bytes:
    """Convert the signatures of a fixed-batch SavedModel with one quantization mode.

    `representative` (int8 only) is a callable returning an iterator of `(signature_key, {input: array})`,
    so that every signature, not just the first, gets its activation ranges calibrated.
    """
    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir, signature_keys=list(signature_keys))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if mode == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif mode == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif mode == "int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if int8_io:
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
    elif mode != "float32":
        raise UserError(f"unknown quantization mode '{mode}' (valid: float32, float16, dynamic, int8)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # int8 calibration runs tf.lite.Interpreter, which warns it is deprecated
            return converter.convert()
    except Exception as error:
        if type(error).__name__ != "ConverterError":  # anything else is a bug, not the model's fault
            raise
        raise UserError(f"TFLite conversion ({mode}) failed: {_first_error_line(error)}") from None


def _first_error_line(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    for line in lines:
        if "error:" in line:
            return line.split("error:", 1)[1].strip()[:300]
    return (lines[0] if lines else type(error).__name__)[:300]


def representative_dataset(endpoints, images: np.ndarray, codes: np.ndarray, batch: int):
    """Calibration inputs for every signature: images where it takes images, the encoder's codes where it
    takes codes (the `decode` signature), in batches of the fixed TFLite batch size."""
    feeds = {}
    for name, endpoint in endpoints.items():
        if endpoint.input_shape == images.shape[1:]:
            feeds[name] = (endpoint.input_name, _batches(images, batch))
        elif codes is not None and endpoint.input_shape == codes.shape[1:]:
            feeds[name] = (endpoint.input_name, _batches(codes, batch))
        else:
            raise UserError(
                f"endpoint '{name}' takes inputs of shape {endpoint.input_shape}, neither images nor codes: "
                "int8 calibration cannot feed it; export it without int8"
            )

    def generate():
        for name, (input_name, batches) in feeds.items():
            for x in batches:
                yield name, {input_name: x}

    return generate


def _batches(x: np.ndarray, batch: int) -> list[np.ndarray]:
    x = np.asarray(x, np.float32)
    if len(x) < batch:
        x = np.resize(x, (batch, *x.shape[1:]))  # repeats whole examples
    return [x[i : i + batch] for i in range(0, len(x) - batch + 1, batch)]


def interpreter(path: str):
    """An interpreter to read `path`'s signatures: `ai_edge_litert` (what phones run) when installed, else TF's
    own; without the XNNPACK delegate, which is not needed to list tensors and logs to stderr when created."""
    try:
        from ai_edge_litert import interpreter as litert
    except ImportError:
        litert = None
    if litert is not None:
        return litert.Interpreter(
            model_path=path, experimental_op_resolver_type=litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter's deprecation notice
        return tf.lite.Interpreter(
            model_path=path,
            experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        )


def describe(path: str, expected) -> dict:
    """The signatures of a written file, as the runtime sees them; checks none went missing."""
    interp = interpreter(path)
    found = interp.get_signature_list()
    missing = [name for name in expected if name not in found]
    if missing:
        raise RuntimeError(f"{path}: signatures {missing} missing after conversion (found {sorted(found)})")
    signatures = {}
    for name in expected:
        runner = interp.get_signature_runner(name)
        signatures[name] = {
            "inputs": {key: _tensor(d) for key, d in runner.get_input_details().items()},
            "outputs": {key: _tensor(d) for key, d in runner.get_output_details().items()},
        }
    return signatures


def _tensor(details: dict) -> dict:
    info = {
        "shape": [int(s) for s in details["shape"]],
        "dtype": np.dtype(details["dtype"]).name,
        "tensor": details["name"],
    }
    scale, zero_point = details.get("quantization", (0.0, 0))
    if scale:  # an int8 input/output: real = scale * (q - zero_point)
        info["quantization"] = {"scale": float(scale), "zero_point": int(zero_point)}
    return info
