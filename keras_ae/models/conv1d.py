"""A Conv1D autoencoder for signals (T, C): strided conv stages -> Dense(bottleneck) -> mirrored stages.

Like the 2-D builder it pads the length up to a multiple of 2**stages and crops back, so any T works, and
with `standardize=(mean, std)` (per channel) it takes and returns raw signals.
"""

from __future__ import annotations

import math

import keras
from keras import layers

from keras_ae.errors import UserError
from keras_ae.models.autoencoder import DECODER_NAME, ENCODER_NAME, Autoencoder
from keras_ae.models.blocks import (
    activate,
    check_bottleneck,
    check_input_shape,
    dense_bottleneck,
    kernel_initializer,
    output_layer,
    project_to_grid,
)
from keras_ae.models.layers import standardizer


def conv1d_autoencoder(
    input_shape,
    filters=(16, 32),
    bottleneck: int = 8,
    kernel_size: int = 5,
    activation: str = "relu",
    batch_norm: bool = False,
    dense_units: int = 64,
    output: str = "linear",
    standardize=None,
) -> Autoencoder:
    input_shape = check_input_shape(input_shape, 2, "conv1d_autoencoder")
    if not filters:
        raise UserError("conv1d_autoencoder needs at least one entry in filters")
    check_bottleneck(bottleneck, math.prod(input_shape))
    length, channels = input_shape
    receptive = receptive_field(len(filters), kernel_size)
    if length < receptive:
        raise UserError(
            f"signals of {length} steps are shorter than the conv1d encoder's receptive field ({receptive} steps: "
            f"{len(filters)} stride-2 stages of kernel {kernel_size}); use fewer --filters stages or longer windows"
        )
    init = kernel_initializer(activation)
    multiple = 2 ** len(filters)
    pad = (-length) % multiple
    padding = (pad // 2, pad - pad // 2)

    inputs = keras.Input(shape=input_shape, name="image")
    x = standardizer(standardize, name="standardize")(inputs) if standardize is not None else inputs
    if pad:
        x = layers.ZeroPadding1D(padding, name="pad")(x)
    for i, f in enumerate(filters):
        x = layers.Conv1D(f, kernel_size, strides=2, padding="same", kernel_initializer=init, name=f"enc_conv{i}")(x)
        x = activate(x, activation, batch_norm, f"enc_conv{i}")
    grid = tuple(int(s) for s in x.shape[1:])
    x = layers.Flatten(name="flatten")(x)
    code = dense_bottleneck(x, bottleneck, dense_units, activation, init)
    encoder = keras.Model(inputs, code, name=ENCODER_NAME)

    codes = keras.Input(shape=(bottleneck,), name="code")
    x = project_to_grid(codes, grid, dense_units, activation, init, batch_norm)
    for i, f in enumerate(reversed(filters)):
        x = layers.UpSampling1D(2, name=f"dec_resize{i}")(x)
        x = layers.Conv1D(f, kernel_size, padding="same", kernel_initializer=init, name=f"dec_conv{i}")(x)
        x = activate(x, activation, batch_norm, f"dec_conv{i}")
    x = layers.Conv1D(channels, kernel_size, padding="same", name="dec_output")(x)
    x = output_layer(x, output)
    if pad:
        x = layers.Cropping1D(padding, name="crop")(x)
    if standardize is not None:
        x = standardizer(standardize, invert=True, name="unstandardize")(x)
    decoder = keras.Model(codes, x, name=DECODER_NAME)
    return Autoencoder(encoder, decoder)


def receptive_field(stages: int, kernel_size: int) -> int:
    """Input steps that one position after `stages` stride-2 convolutions of `kernel_size` sees."""
    return 1 + (kernel_size - 1) * (2**stages - 1)
