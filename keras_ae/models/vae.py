"""The variational variant of any builder: the code becomes a Gaussian, sampled while training.

A plain autoencoder may put codes anywhere, leaving gaps that decode to nothing in particular; a point a
little off a training code, or half-way between two, can decode to a smear. The VAE's encoder gives each
image a mean and a (log) variance, training decodes a sample drawn from them, and a KL term pulls every such
Gaussian towards the standard normal. The latent space becomes smooth and filled, so perturbed and
interpolated codes decode to plausible images. At inference `e(x)` is the mean, so embed/decode/reconstruct
and every export work exactly as for the plain model.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from keras_ae.errors import UserError
from keras_ae.models.autoencoder import BOTTLENECK_NAME, ENCODER_NAME, Autoencoder

DEFAULT_KL_WEIGHT = 1.0


@keras.saving.register_keras_serializable(package="keras_ae")
class VariationalSampling(keras.layers.Layer):
    """`[mean, log_var] -> mean + exp(log_var / 2) * noise` while training (and the KL term as a loss);
    the mean at inference.

    The reparameterisation keeps the sample differentiable in the mean and the variance. The KL divergence
    from N(0, 1), summed over the code and averaged over the batch, is added times `kl_weight`.
    """

    def __init__(self, kl_weight: float = 1.0, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.kl_weight = float(kl_weight)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        mean, log_var = inputs
        if not training:
            return mean
        kl = -0.5 * ops.sum(1.0 + log_var - ops.square(mean) - ops.exp(log_var), axis=-1)
        self.add_loss(self.kl_weight * ops.mean(kl))
        noise = keras.random.normal(ops.shape(mean), seed=self.seed_generator, dtype=mean.dtype)
        return mean + ops.exp(0.5 * log_var) * noise

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "kl_weight": self.kl_weight, "seed": self.seed}


def variational(ae: Autoencoder, kl_weight: float = DEFAULT_KL_WEIGHT, seed: int | None = None) -> Autoencoder:
    """Turn a built autoencoder into a VAE: its bottleneck Dense becomes a mean and a log-variance head.

    `kl_weight` weighs the KL term against the reconstruction loss as if the loss were summed over the
    input's values (squared error and KL on the same footing, as in the VAE's evidence bound); the builders'
    losses are means over the values, so the layer carries `kl_weight / input size`.
    """
    if not kl_weight > 0 or not math.isfinite(kl_weight):
        raise UserError(f"--kl-weight must be a positive number, got {kl_weight}")
    try:
        bottleneck = ae.encoder.get_layer(BOTTLENECK_NAME)
    except ValueError:
        raise UserError("this model has no bottleneck layer to make variational") from None
    features = bottleneck.input
    width = ae.code_size
    mean = keras.layers.Dense(width, name=BOTTLENECK_NAME)(features)
    log_var = keras.layers.Dense(width, kernel_initializer="zeros", bias_initializer="zeros", name="log_var")(features)
    per_value = kl_weight / math.prod(ae.input_shape)
    code = VariationalSampling(per_value, seed=seed, name="sampling")([mean, log_var])
    encoder = keras.Model(ae.encoder.input, code, name=ENCODER_NAME)
    return Autoencoder(encoder, ae.decoder)
