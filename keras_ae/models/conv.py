"""A convolutional autoencoder with a real bottleneck: conv stages -> Dense(bottleneck) -> mirrored stages.

Each stage halves the resolution. Inputs whose height or width is not a multiple of 2**stages are zero-padded
on the way in and cropped on the way out, so any HxWxC image comes back in exactly its own shape.
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
    crop_back,
    dense_bottleneck,
    kernel_initializer,
    output_layer,
    pad_to_multiple,
    project_to_grid,
)

UPSAMPLING_MODES = ("resize", "transpose")


def conv_autoencoder(
    input_shape,
    filters=(32, 64),
    bottleneck: int = 16,
    activation: str = "relu",
    batch_norm: bool = False,
    dropout: float = 0.0,
    sparsity: float = 0.0,
    upsampling: str = "resize",
    dense_units: int = 256,
    output: str = "clip",
) -> Autoencoder:
    """Build a convolutional autoencoder: strided conv stages, a dense bottleneck, and their mirror image.

    Args:
        input_shape: (H, W, C) of the images; any H and W (they are padded to the stages' multiple).
        filters: channels of each conv stage, each halving H and W.
        bottleneck: width of the code e(x).
        activation: of every hidden layer.
        batch_norm: a BatchNormalization after every hidden layer.
        dropout: dropout rate after the hidden dense layers.
        sparsity: L1 penalty on the code (a sparse autoencoder).
        upsampling: `"resize"` (UpSampling2D + Conv2D, the default: it converts to full-integer TFLite) or
            `"transpose"` (Conv2DTranspose).
        dense_units: one hidden Dense layer of this width on each side of the bottleneck (0 for none).
        output: `"clip"` (for squared error), `"sigmoid"` (for cross-entropy) or `"linear"`; see `output_layer`.

    Returns:
        An `Autoencoder` with `encoder`, `decoder` and `autoencoder` models.
    """
    input_shape = check_input_shape(input_shape, 3, "conv_autoencoder")
    if upsampling not in UPSAMPLING_MODES:
        raise UserError(f"--upsampling must be one of {', '.join(UPSAMPLING_MODES)}, got '{upsampling}'")
    if not filters:
        raise UserError("conv_autoencoder needs at least one entry in filters")
    check_bottleneck(bottleneck, math.prod(input_shape))
    channels = input_shape[-1]
    init = kernel_initializer(activation)

    def conv(x, f, name, layer=layers.Conv2D, **options):
        x = layer(f, 3, padding="same", use_bias=not batch_norm, kernel_initializer=init, name=name, **options)(x)
        return activate(x, activation, batch_norm, name)

    # Encoder: pad -> [conv, strided conv] per stage -> flatten -> dense -> bottleneck.
    inputs = keras.Input(shape=input_shape, name="image")
    x, padding = pad_to_multiple(inputs, 2 ** len(filters), name="pad")
    for i, f in enumerate(filters):
        x = conv(conv(x, f, f"enc_conv{i}a"), f, f"enc_conv{i}b", strides=2)
    grid = tuple(int(s) for s in x.shape[1:])
    x = layers.Flatten(name="flatten")(x)
    if dropout:
        x = layers.Dropout(dropout, name="enc_dropout")(x)
    code = dense_bottleneck(x, bottleneck, dense_units, activation, init, sparsity)
    encoder = keras.Model(inputs, code, name=ENCODER_NAME)

    # Decoder: the mirror image, ending in one conv to the input's channels and a crop back to its size.
    codes = keras.Input(shape=(bottleneck,), name="code")
    x = project_to_grid(codes, grid, dense_units, activation, init, batch_norm)
    for i, f in enumerate(reversed(filters)):
        if upsampling == "transpose":
            x = conv(x, f, f"dec_up{i}", layers.Conv2DTranspose, strides=2)
        else:
            x = conv(layers.UpSampling2D(2, interpolation="nearest", name=f"dec_resize{i}")(x), f, f"dec_up{i}")
        x = conv(x, f, f"dec_conv{i}")
    x = layers.Conv2D(channels, 3, padding="same", name="dec_output")(x)
    x = output_layer(x, output)
    outputs = crop_back(x, padding, name="crop")
    decoder = keras.Model(codes, outputs, name=DECODER_NAME)
    return Autoencoder(encoder, decoder)
