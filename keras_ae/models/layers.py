"""Custom layers, registered so that `keras.saving.load_model(..., safe_mode=True)` restores them."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="keras_ae")
class ClipToRange(keras.layers.Layer):
    """Linear while training, clipped to [low, high] at inference.

    A sigmoid output trained with squared error stalls: once Adam pushes the logits of the (mostly black)
    pixels far negative, the sigmoid's slope vanishes and the net settles on an all-background image (seen
    here in 3 of 3 runs). A linear output has no such trap, and clipping at inference is a projection onto
    the data range, which can only lower the error against targets in that range.
    """

    def __init__(self, low: float = 0.0, high: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.low = float(low)
        self.high = float(high)

    def call(self, inputs, training=None):
        if training:
            return inputs
        return ops.clip(inputs, self.low, self.high)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "low": self.low, "high": self.high}


def standardizer(stats, invert: bool = False, name: str | None = None) -> keras.layers.Normalization:
    """`(x - mean) / std` per feature (per channel of a signal), or its inverse with `invert=True`.

    Keras' own `Normalization` with the training split's statistics fixed in its config, so a saved model maps
    raw values to raw values in `.keras`, SavedModel and TFLite alike, and no one carries them alongside.

    Args:
        stats: `(mean, std)`, scalars or one value per feature (`keras_ae.data.vectors.standardization`).
        invert: map standardised values back to raw ones (the decoder's last layer).
        name: the layer's name.
    """
    mean, std = (np.ravel(np.asarray(v, np.float64)) for v in stats)
    if mean.size == 1 and std.size == 1:
        mean, std = mean[0], std[0]
    return keras.layers.Normalization(mean=mean, variance=np.square(std), invert=invert, name=name)


@keras.saving.register_keras_serializable(package="keras_ae")
class Standardize(keras.layers.Normalization):
    """Only so that models saved by keras-ae 0.1 (which wrote this layer, with `std` in its config) still open."""

    def __init__(self, mean=0.0, std=None, invert: bool = False, variance=None, **kwargs):
        kwargs.pop("axis", None)
        if variance is None:
            variance = np.square(np.ravel(np.asarray(1.0 if std is None else std, np.float32))).tolist()
        super().__init__(mean=np.ravel(mean).tolist(), variance=variance, invert=invert, **kwargs)


@keras.saving.register_keras_serializable(package="keras_ae")
class ReconstructionError(keras.layers.Layer):
    """Per-example mean squared difference of `[x, reconstruction]`, optionally divided by a per-feature scale.

    It turns an autoencoder into an anomaly scorer that ships as one graph (SavedModel `anomaly_score`,
    TFLite), so a server or a phone computes the very score the threshold was chosen on.
    """

    def __init__(self, scale=None, **kwargs):
        super().__init__(**kwargs)
        self.scale = None if scale is None else [float(v) for v in np.ravel(scale)]

    def call(self, inputs):
        x, reconstruction = inputs
        diff = x - reconstruction
        if self.scale is not None:
            diff = diff / ops.cast(ops.convert_to_tensor(np.array(self.scale, np.float32)), diff.dtype)
        axes = tuple(range(1, len(diff.shape)))
        return ops.mean(ops.square(diff), axis=axes)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0],)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}
