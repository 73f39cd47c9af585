"""Training a code for rounding: additive uniform noise at the bottleneck (Ballé et al., 2017).

An archive rounds every code value to a grid. A decoder trained only on exact codes has never seen a rounded
one, and nothing in a plain MSE objective asks the codes to be cheap to entropy-code. Adding noise of one
quantization step's width while training stands in for rounding (the error of rounding is close to uniform
over a step), so the decoder learns to shrug it off; a light rate penalty (an L1 term, the rate of a Laplace
code model up to constants) stops the encoder from simply scaling its codes up until the noise is negligible,
and pulls the code marginals into a peak the entropy coder can use.

The layer is the identity at inference: a trained model saved with or without it decodes the same.
"""

from __future__ import annotations

import keras
from keras import ops

from keras_ae.errors import UserError


@keras.saving.register_keras_serializable(package="keras_ae")
class QuantizationNoise(keras.layers.Layer):
    """`codes + U(-width/2, width/2)` while training (plus `rate_weight * mean|codes| / width` as a loss);
    the identity at inference."""

    def __init__(self, width: float = 1.0, rate_weight: float = 0.0, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not width > 0:
            raise UserError(f"quantization noise width must be positive, got {width}")
        if not rate_weight >= 0:
            raise UserError(f"rate weight must be zero or positive, got {rate_weight}")
        self.width = float(width)
        self.rate_weight = float(rate_weight)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        if not training:
            return inputs
        if self.rate_weight:
            self.add_loss(self.rate_weight * ops.mean(ops.abs(inputs)) / self.width)
        noise = keras.random.uniform(
            ops.shape(inputs), -0.5 * self.width, 0.5 * self.width, dtype=inputs.dtype, seed=self.seed_generator
        )
        return inputs + noise

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "width": self.width, "rate_weight": self.rate_weight, "seed": self.seed}


def noisy_autoencoder(ae, width: float = 1.0, rate_weight: float = 0.0, seed: int | None = None) -> keras.Model:
    """The model to train: image -> encoder -> QuantizationNoise -> decoder, sharing `ae`'s weights.

    Train this one and keep saving `ae` itself: the noise only shapes the weights, so the archiver's model
    (and its fingerprint) has the usual encoder -> decoder structure."""
    inputs = keras.Input(shape=ae.input_shape, name="image")
    codes = QuantizationNoise(width, rate_weight, seed=seed, name="quantization_noise")(ae.encoder(inputs))
    return keras.Model(inputs, ae.decoder(codes), name="noisy_autoencoder")
