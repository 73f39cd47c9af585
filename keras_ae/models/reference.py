"""The reference architecture of the keras.io denoising example, as published.

Kept so the denoise recipe can say how keras-ae compares with what most users start from.
"""

from __future__ import annotations

import keras
from keras import layers

from keras_ae.models.blocks import check_input_shape, crop_back, pad_to_multiple


def keras_io_denoiser(input_shape) -> keras.Model:
    """Conv 32 -> pool -> Conv 32 -> pool -> 2x Conv2DTranspose 32 -> Conv C sigmoid (keras.io, trained with BCE)."""
    input_shape = check_input_shape(input_shape, 3, "keras_io_denoiser")
    inputs = keras.Input(shape=input_shape, name="image")
    x, padding = pad_to_multiple(inputs, 4, name="pad")
    x = layers.Conv2D(32, 3, activation="relu", padding="same")(x)
    x = layers.MaxPooling2D(2, padding="same")(x)
    x = layers.Conv2D(32, 3, activation="relu", padding="same")(x)
    x = layers.MaxPooling2D(2, padding="same")(x)
    x = layers.Conv2DTranspose(32, 3, strides=2, activation="relu", padding="same")(x)
    x = layers.Conv2DTranspose(32, 3, strides=2, activation="relu", padding="same")(x)
    x = layers.Conv2D(input_shape[-1], 3, activation="sigmoid", padding="same")(x)
    return keras.Model(inputs, crop_back(x, padding, name="crop"), name="keras_io_denoiser")
