"""One network, three views: `encoder` (x -> e(x)), `decoder` (e -> x^) and `autoencoder` (x -> x^).

The encoder and the decoder are separate functional models; the autoencoder is their composition, so the
three share weights and a saved `autoencoder` still holds both halves by name. That is what lets a user take
the encoder alone (for embeddings, transfer) or the decoder alone (for generation) from any saved model.
"""

from __future__ import annotations

import os

import keras
import numpy as np

from keras_ae.errors import UserError

ENCODER_NAME = "encoder"
DECODER_NAME = "decoder"
BOTTLENECK_NAME = "bottleneck"


class Autoencoder:
    """The encoder, the decoder and their composition, sharing weights."""

    def __init__(self, encoder: keras.Model, decoder: keras.Model, autoencoder: keras.Model | None = None):
        self.encoder = encoder
        self.decoder = decoder
        if autoencoder is None:
            inputs = keras.Input(shape=encoder.input_shape[1:], name="image")
            autoencoder = keras.Model(inputs, decoder(encoder(inputs)), name="autoencoder")
        self.autoencoder = autoencoder

    # -- shapes ---------------------------------------------------------------------------------------------
    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.encoder.input_shape[1:])

    @property
    def code_size(self) -> int:
        """Width of the bottleneck: how many numbers e(x) holds per example."""
        return int(np.prod(self.encoder.output_shape[1:]))

    # -- the uniform API: embed, decode, reconstruct --------------------------------------------------------
    def embed(self, x, batch_size: int = 256) -> np.ndarray:
        return self.encoder.predict(x, batch_size=batch_size, verbose=0)

    def decode(self, codes, batch_size: int = 256) -> np.ndarray:
        return self.decoder.predict(codes, batch_size=batch_size, verbose=0)

    def reconstruct(self, x, batch_size: int = 256) -> np.ndarray:
        return self.autoencoder.predict(x, batch_size=batch_size, verbose=0)

    # -- persistence ----------------------------------------------------------------------------------------
    def save(self, path: str) -> None:
        """Save as one `.keras` file (the composed model; both halves travel inside it by name)."""
        self.autoencoder.save(path)

    @classmethod
    def from_model(cls, model: keras.Model, source: str = "model") -> Autoencoder:
        try:
            encoder = model.get_layer(ENCODER_NAME)
            decoder = model.get_layer(DECODER_NAME)
        except ValueError:
            raise UserError(
                f"{source} is not a keras-ae model: it has no '{ENCODER_NAME}' and '{DECODER_NAME}' sub-models"
            ) from None
        if not isinstance(encoder, keras.Model) or not isinstance(decoder, keras.Model):
            raise UserError(f"{source} is not a keras-ae model: its encoder/decoder are not Keras models")
        return cls(encoder, decoder, model)

    def fingerprint(self) -> str:
        """sha256 of the model's config and weights: files made with one model (archives, attribute vectors)
        record it, so using them with another model is refused instead of silently decoding garbage."""
        return fingerprint(self.autoencoder)

    def __repr__(self) -> str:
        return f"Autoencoder(input_shape={self.input_shape}, code_size={self.code_size})"


def fingerprint(model: keras.Model) -> str:
    """sha256 (hex) over the model's JSON config and every weight's name, dtype, shape and bytes, in order."""
    import hashlib
    import json

    digest = hashlib.sha256()
    digest.update(json.dumps(model.get_config(), sort_keys=True, default=str).encode())
    for weight in model.weights:
        value = np.ascontiguousarray(keras.ops.convert_to_numpy(weight))
        digest.update(f"{weight.path}|{value.dtype}|{value.shape}".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def load(path: str | os.PathLike) -> Autoencoder:
    """Load a keras-ae `.keras` file safely (no Lambda layers, `safe_mode=True`).

    Args:
        path: a `.keras` file written by `Autoencoder.save`, or a run folder holding `model.keras`.

    Returns:
        The `Autoencoder`; a missing, foreign or corrupt file is a one-line `UserError` naming it.
    """
    from keras_ae.io import load_keras_model

    path = os.fspath(path)
    if os.path.isdir(path) and os.path.isfile(os.path.join(path, "model.keras")):
        path = os.path.join(path, "model.keras")  # a run folder
    return Autoencoder.from_model(load_keras_model(path, flag=""), source=path)
