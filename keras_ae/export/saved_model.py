"""SavedModel export: named endpoints (signatures) over the encoder, the decoder and their composition.

Every endpoint takes one float32 tensor and returns a dict of one tensor, so that a client calls
`model.signatures["encode"](images=x)["codes"]` by names that say what goes in and what comes out, and
never by the `output_0`-style names a bare function would get.
"""

from __future__ import annotations

import dataclasses
import keyword

import keras
import tensorflow as tf

from keras_ae.errors import UserError

BUILTIN_ENDPOINTS = ("reconstruct", "encode", "decode")
RESERVED_NAMES = (*BUILTIN_ENDPOINTS, "serving_default")


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """One signature: a single-input Keras model, with the names its input and output go by.

    Recipes add their own with `export(..., endpoints={"denoise": Endpoint(denoiser.autoencoder)})` or
    `{"classify": Endpoint(classifier, output_name="probabilities")}`; a bare model is wrapped with the
    defaults (`images` in; `images` out when the output has the input's shape, else `outputs`).
    """

    model: keras.Model
    input_name: str = "images"
    output_name: str | None = None

    @property
    def input_shape(self) -> tuple:
        return tuple(self.model.input_shape[1:])

    @property
    def output_shape(self) -> tuple:
        return tuple(self.model.output_shape[1:])

    def output_key(self) -> str:
        if self.output_name:
            return self.output_name
        return "images" if self.output_shape == self.input_shape else "outputs"

    def input_spec(self, batch: int | None) -> tf.TensorSpec:
        return tf.TensorSpec((batch, *self.input_shape), tf.float32, name=self.input_name)

    def function(self):
        model, key = self.model, self.output_key()

        def call(x):
            return {key: model(x, training=False)}

        return call


def endpoints_for(ae, extra=None) -> dict[str, Endpoint]:
    """The three built-in endpoints (reconstruct first: it becomes `serving_default`) plus `extra`.

    Without an autoencoder (`ae` None) only `extra` is exported, and its first entry is `serving_default`.
    """
    endpoints = {}
    if ae is not None:
        endpoints = {
            "reconstruct": Endpoint(ae.autoencoder, "images", "images"),
            "encode": Endpoint(ae.encoder, "images", "codes"),
            "decode": Endpoint(ae.decoder, "codes", "images"),
        }
    elif not extra:
        raise UserError("nothing to export: give an autoencoder or at least one endpoint")
    for name, value in (extra or {}).items():
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise UserError(f"endpoint name {name!r} must be a Python identifier (it becomes a signature name)")
        if name in RESERVED_NAMES:
            raise UserError(f"endpoint name '{name}' is taken; built-in endpoints are {', '.join(RESERVED_NAMES)}")
        endpoint = _as_endpoint(name, value)
        for key in (endpoint.input_name, endpoint.output_key()):
            if not key.isidentifier():
                raise UserError(f"endpoint '{name}': tensor name {key!r} must be a Python identifier")
        endpoints[name] = endpoint
    return endpoints


def _as_endpoint(name: str, value) -> Endpoint:
    if isinstance(value, Endpoint):
        endpoint = value
    elif isinstance(value, keras.Model):
        endpoint = Endpoint(value)
    elif isinstance(getattr(value, "autoencoder", None), keras.Model):  # an `Autoencoder`, e.g. a denoiser
        endpoint = Endpoint(value.autoencoder)
    else:
        raise UserError(f"endpoint '{name}' must be a Keras model or an Endpoint, got {type(value).__name__}")
    model = endpoint.model
    if not isinstance(model.input_shape, tuple) or not isinstance(model.output_shape, tuple):
        raise UserError(f"endpoint '{name}': the model must have exactly one input and one output")
    if any(s is None for s in (*endpoint.input_shape, *endpoint.output_shape)):
        raise UserError(f"endpoint '{name}': the model's input and output shapes must be fully known")
    return endpoint


def computes_in_float32(model: keras.Model) -> bool:
    return all(layer.dtype_policy.compute_dtype == "float32" for layer in model._flatten_layers())


def float32_copy(model: keras.Model) -> keras.Model:
    """The same model and weights, computing in float32 throughout.

    A model built under a mixed-precision policy (`--mixed-precision`) computes in bfloat16 or float16: its
    signatures would not answer in the float32 metadata.json promises, and TFLite has no bfloat16 kernels."""

    def in_float32(value):
        if isinstance(value, dict):
            if value.get("class_name") == "DTypePolicy":
                return {**value, "config": {**value["config"], "name": "float32"}}
            return {
                k: "float32" if k == "dtype" and v in ("bfloat16", "float16") else in_float32(v)
                for k, v in value.items()
            }
        return [in_float32(v) for v in value] if isinstance(value, list) else value

    config = in_float32(keras.saving.serialize_keras_object(model))
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")  # for the parts whose config names no policy (inputs, sub-models)
    try:
        copy = keras.saving.deserialize_keras_object(config, safe_mode=True)
    finally:
        keras.config.set_dtype_policy(policy)
    copy.set_weights(model.get_weights())
    return copy


def in_float32(ae, extra=None):
    """`ae` and the `extra` endpoints' models as float32 copies where they compute in another precision; a
    sub-model of `ae` (its encoder, decoder or composition, given as an endpoint) maps to the copy's own."""
    from keras_ae.models import Autoencoder

    copies = {}
    if ae is not None and not computes_in_float32(ae.autoencoder):
        new = Autoencoder.from_model(float32_copy(ae.autoencoder))
        copies = {id(ae): new, id(ae.autoencoder): new.autoencoder, id(ae.encoder): new.encoder}
        copies[id(ae.decoder)] = new.decoder
        ae = new

    def convert(model):
        if id(model) not in copies:
            copies[id(model)] = model if computes_in_float32(model) else float32_copy(model)
        return copies[id(model)]

    converted = {}
    for name, value in (extra or {}).items():
        if isinstance(value, Endpoint):
            converted[name] = dataclasses.replace(value, model=convert(value.model))
        elif isinstance(value, keras.Model):
            converted[name] = convert(value)
        elif isinstance(getattr(value, "autoencoder", None), keras.Model):  # an `Autoencoder`
            converted[name] = copies.get(id(value)) or convert(value.autoencoder)
        else:
            converted[name] = value  # endpoints_for says what is wrong with it
    return ae, (converted if extra is not None else None)


def write(endpoints: dict[str, Endpoint], path: str, batch: int | None = None) -> None:
    """Write a SavedModel whose signatures take `batch` examples (None: any number)."""
    # No `archive.track(model)`: the archive keeps the variables the endpoints use on its own, and with the
    # TensorFlow backend tracking the model too stores every weight twice (Keras 3.15: `variables` and
    # `_all_variables`), doubling the SavedModel.
    archive = keras.export.ExportArchive()
    for name, endpoint in endpoints.items():
        archive.add_endpoint(name, endpoint.function(), input_signature=[endpoint.input_spec(batch)])
    archive.write_out(path, verbose=False)


def describe(endpoints: dict[str, Endpoint], batch: int | None = None) -> dict:
    """The signatures contract as metadata.json records it (`None` in a shape: any size)."""

    def tensor(shape):
        return {"shape": [batch, *(int(s) for s in shape)], "dtype": "float32"}

    signatures = {
        name: {
            "inputs": {e.input_name: tensor(e.input_shape)},
            "outputs": {e.output_key(): tensor(e.output_shape)},
        }
        for name, e in endpoints.items()
    }
    signatures["serving_default"] = signatures[next(iter(endpoints))]
    return signatures
