"""Image-to-image denoisers that are not bottleneck autoencoders, kept beside them for comparison.

`keras_io_denoiser` is the reference architecture of the keras.io denoising example, as published, so the
denoise recipe can say how keras-ae compares with what most users start from. `unet_denoiser` has skip
connections: the noise is no longer forced through a narrow code, and the net predicts a correction that is
added to its noisy input. The recipe reports both beside the bottleneck autoencoder, so the table shows what
the bottleneck alone achieves and what skips add.
"""

from __future__ import annotations

import keras
from keras import layers

from keras_ae.models.blocks import check_input_shape, crop_back, kernel_initializer, pad_to_multiple
from keras_ae.models.layers import ClipToRange


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


def unet_denoiser(input_shape, filters=(16, 32, 48), activation: str = "relu") -> keras.Model:
    """A small U-Net predicting a residual: output = clip(noisy + correction), trained with squared error."""
    input_shape = check_input_shape(input_shape, 3, "unet_denoiser")
    init = kernel_initializer(activation)

    def conv(x, f, name):
        x = layers.Conv2D(f, 3, padding="same", activation=activation, kernel_initializer=init, name=f"{name}a")(x)
        return layers.Conv2D(f, 3, padding="same", activation=activation, kernel_initializer=init, name=f"{name}b")(x)

    inputs = keras.Input(shape=input_shape, name="image")
    x, padding = pad_to_multiple(inputs, 2 ** (len(filters) - 1), name="pad")
    padded = x
    skips = []
    for i, f in enumerate(filters):
        x = conv(x, f, f"down{i}")
        if i < len(filters) - 1:
            skips.append(x)
            x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
    for i, (f, skip) in enumerate(zip(reversed(filters[:-1]), reversed(skips), strict=True)):
        x = layers.UpSampling2D(2, name=f"up{i}")(x)
        x = layers.Concatenate(name=f"skip{i}")([x, skip])
        x = conv(x, f, f"upconv{i}")
    correction = layers.Conv2D(input_shape[-1], 1, name="correction")(x)
    x = layers.Add(name="residual")([padded, correction])
    x = crop_back(x, padding, name="crop")
    return keras.Model(inputs, ClipToRange(0.0, 1.0, name="clip_to_range")(x), name="unet_denoiser")
