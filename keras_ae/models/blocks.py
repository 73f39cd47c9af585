"""Small building blocks shared by the builders: activations, normalisation, pad/crop to a grid."""

from __future__ import annotations

import keras
from keras import layers


def activate(x, activation: str, batch_norm: bool, name: str):
    """Normalise (optionally) then apply the activation, the order that keeps BN statistics meaningful."""
    if batch_norm:
        x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.Activation(activation, name=f"{name}_act")(x)


def pad_to_multiple(x, multiple: int, name: str):
    """Zero-pad H and W up to a multiple of the downsampling factor; returns (x, padding)."""
    height, width = x.shape[1], x.shape[2]
    pad_h = (-height) % multiple
    pad_w = (-width) % multiple
    padding = ((pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2))
    if pad_h or pad_w:
        x = layers.ZeroPadding2D(padding, name=name)(x)
    return x, padding


def crop_back(x, padding, name: str):
    """Undo `pad_to_multiple`, so the decoder returns exactly the input's shape."""
    if any(p for pair in padding for p in pair):
        x = layers.Cropping2D(padding, name=name)(x)
    return x


def kernel_initializer(activation: str):
    """He initialisation for rectifiers (it keeps the ReLU units alive), Glorot otherwise."""
    return "he_normal" if activation in ("relu", "leaky_relu", "elu", "gelu", "silu", "swish") else "glorot_uniform"


def check_input_shape(input_shape, rank: int, builder: str) -> tuple[int, ...]:
    from keras_ae.errors import UserError

    shape = tuple(int(s) for s in input_shape)
    if len(shape) != rank or any(s <= 0 for s in shape):
        raise UserError(f"{builder}: input_shape must be {rank} positive sizes, got {input_shape}")
    return shape


def check_bottleneck(bottleneck: int, input_size: int) -> int:
    from keras_ae.errors import UserError

    if not isinstance(bottleneck, int) or bottleneck < 1:
        raise UserError(f"--bottleneck must be a positive integer, got {bottleneck}")
    if bottleneck >= input_size:
        raise UserError(
            f"--bottleneck {bottleneck} is not narrower than the input ({input_size} values): "
            "an autoencoder needs a bottleneck smaller than what it encodes"
        )
    return bottleneck


def code_regularizer(sparsity: float):
    """L1 activity penalty on the code: the classic sparse autoencoder."""
    return keras.regularizers.L1(sparsity) if sparsity else None


OUTPUTS = ("clip", "sigmoid", "linear")


def output_layer(x, output: str):
    """The decoder's last step: `clip` for squared error, `sigmoid` for cross-entropy, `linear` for vectors."""
    from keras_ae.errors import UserError
    from keras_ae.models.layers import ClipToRange

    if output == "clip":
        return ClipToRange(0.0, 1.0, name="clip_to_range")(x)
    if output == "sigmoid":
        return keras.layers.Activation("sigmoid", name="sigmoid")(x)
    if output == "linear":
        return x
    raise UserError(f"output must be one of {', '.join(OUTPUTS)}, got '{output}'")


def dense_bottleneck(x, bottleneck: int, dense_units: int, activation: str, init, sparsity: float = 0.0):
    """Feature map (flattened) -> optional hidden Dense -> the code: the narrow end of every conv encoder."""
    from keras_ae.models.autoencoder import BOTTLENECK_NAME

    if dense_units:
        x = keras.layers.Dense(dense_units, kernel_initializer=init, activation=activation, name="enc_dense")(x)
    return keras.layers.Dense(bottleneck, activity_regularizer=code_regularizer(sparsity), name=BOTTLENECK_NAME)(x)


def project_to_grid(codes, grid, dense_units: int, activation: str, init, batch_norm: bool):
    """The code -> optional hidden Dense -> the encoder's last feature-map shape: where every conv decoder starts."""
    import math

    x = codes
    if dense_units:
        x = keras.layers.Dense(dense_units, kernel_initializer=init, activation=activation, name="dec_dense")(x)
    x = keras.layers.Dense(math.prod(grid), kernel_initializer=init, name="dec_project")(x)
    x = activate(x, activation, batch_norm, "dec_project")
    return keras.layers.Reshape(grid, name="dec_reshape")(x)
