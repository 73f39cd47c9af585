"""The photo denoiser: a residual U-Net for natural images, scans and microscope pictures of any size.

    >>> model = photo_denoiser()              # grayscale; channels=3 for RGB
    >>> clean = denoise(model, noisy)         # (H, W, C) or (N, H, W, C) float32 in [0, 1], any H and W

Architecture: a 3x3 head convolution, then three levels of 32, 64 and 128 filters. Each level holds `blocks`
residual blocks (conv-ReLU-conv plus the identity); between levels a 2x2 stride-2 convolution goes down and a
2x2 stride-2 transposed convolution comes back up, and each decoder level adds (not concatenates) the encoder
level's features. A last 3x3 convolution predicts the noise, and the output is `noisy - predicted noise`
(residual learning, as DnCNN): the network only has to describe the noise, which is simpler than the image and
has no mean to learn. 562,689 parameters for gray; fully convolutional, so the model takes any size, but H and
W must be multiples of 4 (two stride-2 steps): `denoise` and `pad_to_multiple` reflect-pad an image up to that
and crop the output back. The output is not clipped inside the model; `denoise` clips to [0, 1].

Why this architecture, measured here (AMD EPYC with AVX2 only, 2 cores; one training step on a batch of 16
patches of 64x64, gray):

| model | ms per step | patches/s |
|---|---|---|
| this U-Net, 32/64/128 filters, one residual block per level | 842 | 19 |
| the same with two blocks per level | 1605 | 10 |
| DnCNN-17 (64 filters, batch norm), the classic residual denoiser | 4793 | 3.3 |

DnCNN costs about 5x the compute per pixel of this U-Net and still sees less (a 35x35 receptive field against
the U-Net's 46x46, which the downsampling gives for free), so in a CPU training budget the U-Net sees five
times more patches. Two blocks per level doubled the cost for a deeper model the budget could not train;
grown from the shipped model (`deepened`) and trained 13,000 steps more on an AVX-512 EPYC, they gained only
0.05 dB at sigma 25 (docs/benchmarks.md), so the shipped model keeps one.

Plain Keras layers only (no Lambda, no custom layer), so `keras.models.load_model(path)` works in safe mode,
and the layer names are fixed: weights trained with this builder load into another copy of it.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from keras_ae.errors import UserError

MULTIPLE = 4  # H and W must be multiples of 2 ** (levels - 1); 4 for the default three levels


def _residual_block(x, filters: int, name: str):
    y = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"{name}_conv1")(x)
    y = layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv2")(y)
    return layers.Add(name=f"{name}_add")([x, y])


def photo_denoiser(channels: int = 1, filters=(32, 64, 128), blocks: int = 1) -> keras.Model:
    """The residual U-Net described above; input (None, None, channels), H and W multiples of `multiple(filters)`."""
    filters = tuple(int(f) for f in filters)
    if channels not in (1, 3):
        raise UserError(f"photo_denoiser: channels must be 1 or 3, got {channels}")
    if not filters or any(f < 1 for f in filters):
        raise UserError(f"photo_denoiser: filters must be positive, got {filters}")
    if blocks < 1:
        raise UserError(f"photo_denoiser: blocks must be at least 1, got {blocks}")
    image = keras.Input((None, None, channels), name="image")
    x = layers.Conv2D(filters[0], 3, padding="same", name="head")(image)
    skips = []
    for level, width in enumerate(filters):
        if level > 0:
            x = layers.Conv2D(width, 2, strides=2, name=f"down{level}")(x)
        for block in range(blocks):
            x = _residual_block(x, width, f"enc{level}_{block}")
        skips.append(x)
    for level in reversed(range(len(filters) - 1)):
        x = layers.Conv2DTranspose(filters[level], 2, strides=2, name=f"up{level}")(x)
        x = layers.Add(name=f"skip{level}")([x, skips[level]])
        for block in range(blocks):
            x = _residual_block(x, filters[level], f"dec{level}_{block}")
    # zeros: the untrained model is the identity (output = input) and training only ever improves on the noisy
    # image, instead of starting from a random correction many dB below it
    noise = layers.Conv2D(channels, 3, padding="same", kernel_initializer="zeros", name="noise")(x)
    return keras.Model(image, layers.Subtract(name="residual")([image, noise]), name="photo_unet")


def deepened(model: keras.Model, blocks: int) -> keras.Model:
    """A copy of the trained U-Net `model` with `blocks` residual blocks a level: its own blocks keep their
    weights and each new one starts as the identity (its second convolution zero: `x + conv2(relu(conv1(x)))`
    is `x`), so the copy denoises exactly as `model` does until it trains, and training it adds depth without
    starting over (`bench/train_photo_model.py --resume ... --blocks N`)."""
    names = {layer.name for layer in model.layers}
    if "head" not in names:
        raise UserError(f"deepened: {model.name} is not a photo_denoiser U-Net (no 'head' layer)")
    had = sum(1 for name in names if name.startswith("enc0_") and name.endswith("_conv1"))
    if blocks < had:
        raise UserError(f"deepened: the model has {had} blocks a level; it can only grow, got blocks={blocks}")
    bigger = photo_denoiser(model.input_shape[-1], _filters(model), blocks=blocks)
    for layer in bigger.layers:
        if layer.name in names:
            layer.set_weights(model.get_layer(layer.name).get_weights())
        elif layer.name.endswith("_conv2"):
            layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
    return bigger


def _filters(model: keras.Model) -> list[int]:
    """The `filters` a built photo U-Net was made with: its head's width, then each downsampling's."""
    names = {layer.name for layer in model.layers}
    down = sorted(int(name.removeprefix("down")) for name in names if name.startswith("down"))
    return [model.get_layer("head").filters] + [model.get_layer(f"down{level}").filters for level in down]


def multiple(model_or_filters=(32, 64, 128)) -> int:
    """The size H and W must be a multiple of: 2 ** (levels - 1). Takes the filters or a built model."""
    if isinstance(model_or_filters, keras.Model):
        levels = 1 + sum(1 for layer in model_or_filters.layers if layer.name.startswith("down"))
    else:
        levels = len(tuple(model_or_filters))
    return 2 ** (levels - 1)


def pad_to_multiple(images: np.ndarray, multiple: int = MULTIPLE):
    """Reflect-pad (N, H, W, C) images at the bottom and right up to multiples of `multiple`.

    Returns (padded, (H, W)); crop the model's output back with `output[:, :H, :W]`. Reflection (not zeros)
    keeps the padded border looking like image, so the pixels next to it are denoised as well as any other.
    """
    images = np.asarray(images, np.float32)
    height, width = images.shape[1:3]
    pad_h, pad_w = (-height) % multiple, (-width) % multiple
    if pad_h or pad_w:
        mode = "reflect" if min(height, width) > 1 else "edge"  # a 1-pixel side has nothing to reflect
        images = np.pad(images, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode=mode)
    return images, (height, width)


def denoise(model: keras.Model, images: np.ndarray, batch_size: int = 1) -> np.ndarray:
    """Run the photo denoiser on (H, W, C) or (N, H, W, C) images of any size: pad, predict, crop, clip."""
    images = np.asarray(images, np.float32)
    single = images.ndim == 3
    batch = images[None] if single else images
    if batch.ndim != 4:
        raise UserError(f"expected an image (H, W, C) or images (N, H, W, C), got shape {images.shape}")
    padded, (height, width) = pad_to_multiple(batch, multiple(model))
    outputs = [np.asarray(model(padded[i : i + batch_size], training=False)) for i in range(0, len(padded), batch_size)]
    out = np.clip(np.concatenate(outputs)[:, :height, :width], 0.0, 1.0)
    return out[0] if single else out


__all__ = ["MULTIPLE", "deepened", "denoise", "multiple", "pad_to_multiple", "photo_denoiser"]
