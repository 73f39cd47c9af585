"""A small U-Net denoiser: skip connections, so the noise is not forced through a narrow code.

The net predicts a correction that is added to its noisy input. The denoise recipe reports it beside the
bottleneck autoencoder and `keras_ae.models.reference.keras_io_denoiser`, so the table shows what the
bottleneck alone achieves and what skips add.
"""

from __future__ import annotations

import keras
from keras import layers

from keras_ae.models.blocks import check_input_shape, crop_back, kernel_initializer, pad_to_multiple
from keras_ae.models.layers import ClipToRange


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
