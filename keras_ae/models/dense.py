"""A fully connected autoencoder: flatten -> hidden layers -> bottleneck -> mirrored hidden layers."""

from __future__ import annotations

import math

import keras
from keras import layers

from keras_ae.models.autoencoder import BOTTLENECK_NAME, DECODER_NAME, ENCODER_NAME, Autoencoder
from keras_ae.models.blocks import (
    activate,
    check_bottleneck,
    code_regularizer,
    kernel_initializer,
    output_layer,
)
from keras_ae.models.layers import standardizer


def dense_autoencoder(
    input_shape,
    hidden=(512, 256),
    bottleneck: int = 32,
    activation: str = "relu",
    batch_norm: bool = False,
    dropout: float = 0.0,
    sparsity: float = 0.0,
    output: str = "clip",
    standardize=None,
) -> Autoencoder:
    """Build a dense autoencoder for inputs of any shape (images are flattened, then reshaped back).

    Args:
        input_shape: the shape of one example: (H, W, C) images, (D,) vectors or (T, C) signals.
        hidden: widths of the hidden layers of the encoder (the decoder mirrors them).
        bottleneck: width of the code e(x).
        activation: of every hidden layer.
        batch_norm: a BatchNormalization after every hidden layer.
        dropout: dropout rate after every hidden layer.
        sparsity: L1 penalty on the code (a sparse autoencoder).
        output: `"clip"` (squared error on data in [0, 1]), `"sigmoid"` (cross-entropy) or `"linear"`
            (standardised vectors); see `output_layer`.
        standardize: `(mean, std)` of the training split: the model takes and returns raw values and works on
            standardised ones inside (`keras_ae.data.vectors.standardization` computes them).

    Returns:
        An `Autoencoder` with `encoder`, `decoder` and `autoencoder` models.
    """
    input_shape = tuple(int(s) for s in input_shape)
    size = math.prod(input_shape)
    check_bottleneck(bottleneck, size)
    init = kernel_initializer(activation)

    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Flatten(name="flatten")(inputs) if len(input_shape) > 1 else inputs
    if standardize is not None:
        x = standardizer(standardize, name="standardize")(x)
    for i, units in enumerate(hidden):
        x = layers.Dense(units, use_bias=not batch_norm, kernel_initializer=init, name=f"enc_dense{i}")(x)
        x = activate(x, activation, batch_norm, f"enc_dense{i}")
        if dropout:
            x = layers.Dropout(dropout, name=f"enc_dropout{i}")(x)
    code = layers.Dense(bottleneck, activity_regularizer=code_regularizer(sparsity), name=BOTTLENECK_NAME)(x)
    encoder = keras.Model(inputs, code, name=ENCODER_NAME)

    codes = keras.Input(shape=(bottleneck,), name="code")
    x = codes
    for i, units in enumerate(reversed(hidden)):
        x = layers.Dense(units, use_bias=not batch_norm, kernel_initializer=init, name=f"dec_dense{i}")(x)
        x = activate(x, activation, batch_norm, f"dec_dense{i}")
    x = layers.Dense(size, name="dec_output")(x)
    x = output_layer(x, output)
    if standardize is not None:
        x = standardizer(standardize, invert=True, name="unstandardize")(x)
    if len(input_shape) > 1:
        x = layers.Reshape(input_shape, name="reshape")(x)
    decoder = keras.Model(codes, x, name=DECODER_NAME)
    return Autoencoder(encoder, decoder)
