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


@keras.saving.register_keras_serializable(package="keras_ae")
class Standardize(keras.layers.Layer):
    """`(x - mean) / std` per feature, or its inverse with `invert=True`.

    The training split's statistics live in the model (as lists in its config), so a saved model maps raw
    vectors to raw vectors, in `.keras`, SavedModel and TFLite alike, and no one has to carry them alongside.
    """

    def __init__(self, mean=0.0, std=1.0, invert: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.mean = [float(v) for v in np.ravel(mean)]
        self.std = [float(v) for v in np.ravel(std)]
        self.invert = bool(invert)

    def call(self, inputs):
        mean = ops.cast(ops.convert_to_tensor(np.array(self.mean, np.float32)), inputs.dtype)
        std = ops.cast(ops.convert_to_tensor(np.array(self.std, np.float32)), inputs.dtype)
        return inputs * std + mean if self.invert else (inputs - mean) / std

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "std": self.std, "invert": self.invert}


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
