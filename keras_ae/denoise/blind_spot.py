"""Training without clean images: Noise2Void (one folder of noisy images) and Noise2Noise (two noisy shots).

**Noise2Void** (Krull et al., 2019). A network asked to predict a pixel from its neighbourhood *without seeing
that pixel* cannot predict the pixel's noise, if the noise is independent from pixel to pixel; the best it can do
is the clean value. So: in every training patch a fraction of pixels (`fraction`, 10% by default, at
uniformly random places, the same count in every patch) is replaced by the value of a random other pixel of its
(2·radius+1)² neighbourhood, and the loss is the squared error against the noisy patch *at those pixels only*.
The replacement never takes the pixel's own value: the original N2V could draw the centre and so leak the
pixel to the network, one cause of the checkerboard artefacts N2V2 (Höck et al., 2022) traced; N2V2 excludes
it, and so does this module. The noise of neighbouring pixels must be independent: N2V cannot remove
correlated noise (JPEG blocks, demosaicing), which it would learn as signal.

Why 10%, not the 0.2% of the `n2v` package or the 2% this module used before: only the masked pixels carry a
loss, so the fraction is the share of each patch that teaches anything. Measured at an equal budget (the photo
model, 20 CPU minutes, ~4,200 steps of 16 patches of 64x64 at sigma 25, camera/moon/coins/text): 2% gives
30.13 dB, 5% 30.34, 10% 30.50 (`bench/n2v_fraction.py`, docs/benchmarks.md).

The masking runs in the tf.data pipeline (`Noise2VoidPairs`), and the model trains inside a thin wrapper
(`blind_spot_trainer`): inputs (masked image, mask), output `denoiser(image) * mask`, target `noisy * mask`.
Its plain squared error is the squared error over the masked pixels, because the mask holds
sqrt(pixels / masked pixels) at masked pixels and 0 elsewhere. The wrapper is plain Keras layers around the
denoiser, so `training.fit` trains it like any model and the denoiser itself, saved alone, is an ordinary
model with nothing of N2V left in it.

**Noise2Noise** (Lehtinen et al., 2018). With two noisy shots of the same scene, train noisy A -> noisy B with
the squared error: the expected B is the clean image, so the network learns the clean image as if B were clean.
`noise2noise_pairs(dir_a, dir_b)` matches the two folders by file name (relative path) and refuses, in one
line, files without a partner or partners of different sizes; `pair_images` stacks each pair along channels
so `data.patches.random_patches` crops (and flips) both shots at the same place, and `split_pairs` separates them,
swapping A and B at random so both shots serve as input and as target.
"""

from __future__ import annotations

import os

import keras
import numpy as np
import tensorflow as tf

from keras_ae.errors import UserError
from keras_ae.training import pipeline_generator

FRACTION = 0.10  # the share of pixels masked in each patch (why 10%: the module's docstring)
RADIUS = 2


# -- Noise2Void ----------------------------------------------------------------------------------------------------
def _check(fraction: float, radius: int) -> None:
    if not 0.0 < fraction <= 0.5:
        raise UserError(f"blind-spot fraction must be in (0, 0.5], got {fraction:g}")
    if radius < 1:
        raise UserError(f"blind-spot radius must be at least 1, got {radius}")


def _reflect(index, size):
    """Mirror indices that fall off the edge back inside (-1 -> 1, size -> size - 2)."""
    index = tf.abs(index)
    return tf.where(index >= size, 2 * (size - 1) - index, index)


def mask_batch(batch, uniform, fraction: float = FRACTION, radius: int = RADIUS):
    """Blind-spot masking of a batch (N, H, W, C) -> (masked batch, mask weights (N, H, W, C)).

        `uniform(shape, dtype, maxval)` draws the randomness (a generator's, or stateless). In each image
        round(fraction·H·W) pixels (at least 1) at distinct random places take the value (all channels) of a random
        pixel of their (2·radius+1)² neighbourhood other than themselves, mirrored at the border (and when the mirror
    lands back on the pixel, the opposite neighbour is taken). Images need sides above `radius`. The weights are
        sqrt(H·W / count) at those pixels and 0 elsewhere, so mean((weights·(a - b))²) is the masked pixels' mean.
    """
    batch = tf.convert_to_tensor(batch, tf.float32)
    shape = tf.shape(batch)
    n, height, width, channels = shape[0], shape[1], shape[2], shape[3]
    pixels = height * width
    count = tf.maximum(1, tf.cast(tf.round(fraction * tf.cast(pixels, tf.float32)), tf.int32))
    _, flat = tf.math.top_k(uniform([n, pixels], tf.float32, 1.0), k=count)  # distinct places per image
    ys, xs = flat // width, flat % width
    side = 2 * radius + 1
    offset = uniform([n, count], tf.int32, side * side - 1)
    offset = offset + tf.cast(offset >= (side * side) // 2, tf.int32)  # skip the centre: never the pixel itself
    dy, dx = offset // side - radius, offset % side - radius
    ny, nx = _reflect(ys + dy, height), _reflect(xs + dx, width)
    itself = (ny == ys) & (nx == xs)  # mirrored at the border back onto the pixel (x = 1, dx = -2): go the other way
    ny = tf.where(itself, _reflect(ys - dy, height), ny)
    nx = tf.where(itself, _reflect(xs - dx, width), nx)
    image = tf.broadcast_to(tf.range(n)[:, None], [n, count])
    values = tf.gather_nd(batch, tf.stack([image, ny, nx], -1))  # (n, count, C)
    places = tf.stack([image, ys, xs], -1)
    masked = tf.tensor_scatter_nd_update(batch, places, values)
    scale = tf.sqrt(tf.cast(pixels, tf.float32) / tf.cast(count, tf.float32))
    weight = tf.scatter_nd(places, tf.fill([n, count], scale), [n, height, width])
    return masked, tf.tile(weight[..., None], [1, 1, 1, channels])


class Noise2VoidPairs:
    """`noisy batch -> ((masked, mask), noisy * mask)` for `blind_spot_trainer`, fresh masks every call.

    Apply to batches: `patches.batch(16).map(Noise2VoidPairs(seed=0))`. `fixed(noisy, seed)` makes the same
    masked copy of numpy images every time (validation)."""

    def __init__(self, fraction: float = FRACTION, radius: int = RADIUS, seed: int = 0):
        _check(fraction, radius)
        self.fraction, self.radius = fraction, radius
        self.generator = pipeline_generator(seed)

    def _uniform(self, shape, dtype, maxval):
        return self.generator.uniform(shape, maxval=maxval, dtype=dtype)

    def __call__(self, noisy):
        masked, mask = mask_batch(noisy, self._uniform, self.fraction, self.radius)
        return (masked, mask), noisy * mask

    def fixed(self, noisy: np.ndarray, seed: int):
        """The same ((masked, mask), target) numpy arrays for the same seed."""
        generator = tf.random.Generator.from_seed(seed)
        masked, mask = mask_batch(
            noisy, lambda s, d, m: generator.uniform(s, maxval=m, dtype=d), self.fraction, self.radius
        )
        return (masked.numpy(), mask.numpy()), (noisy * mask).numpy()


def blind_spot_trainer(denoiser: keras.Model) -> keras.Model:
    """Wrap `denoiser` for Noise2Void: inputs (masked image, mask), output denoiser(image) * mask.

    Train it with plain squared error on `Noise2VoidPairs` batches; the trained weights are the denoiser's
    own (shared layers), so save `denoiser` afterwards: a plain model."""
    shape = denoiser.input_shape[1:]
    image = keras.Input(shape, name="masked")
    mask = keras.Input(shape, name="mask")
    output = keras.layers.Multiply(name="blind_spot")([denoiser(image), mask])
    return keras.Model([image, mask], output, name=f"noise2void_{denoiser.name}")


# -- Noise2Noise ---------------------------------------------------------------------------------------------------
def noise2noise_pairs(dir_a: str, dir_b: str, flag: str = "--pairs") -> list[tuple[str, str]]:
    """Files of `dir_a` and `dir_b` matched by relative path; unmatched names are a one-line `UserError`."""
    from keras_ae.data.patches import list_image_files

    def relative(root):
        return {os.path.relpath(path, root): path for path in list_image_files(root)}

    a, b = relative(dir_a), relative(dir_b)
    only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
    if only_a or only_b:

        def some(names):
            return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")

        parts = [
            f"only in {dir_a}: {some(only_a)}" if only_a else "",
            f"only in {dir_b}: {some(only_b)}" if only_b else "",
        ]
        raise UserError(f"{flag} {dir_b}: files must match {dir_a} by name; " + "; ".join(p for p in parts if p))
    return [(a[name], b[name]) for name in sorted(a)]


def pair_images(pairs, channels: int | None = None):
    """Matched files -> an in-memory `ImageSet` whose images hold shot A and shot B stacked along channels."""
    from keras_ae.data.patches import ImageSet, _image_header, read_image

    if channels is None:
        channels = 3 if any(_image_header(p)[2] == 3 for pair in pairs for p in pair) else 1
    arrays, names = [], []
    for path_a, path_b in pairs:
        a, b = read_image(path_a, channels), read_image(path_b, channels)
        if a.shape != b.shape:
            raise UserError(
                f"{path_a} is {a.shape[0]}x{a.shape[1]} but {path_b} is {b.shape[0]}x{b.shape[1]}; "
                "the two shots of a pair must be the same size"
            )
        arrays.append(np.concatenate([a, b], axis=-1))
        names.append(os.path.basename(path_a))
    return ImageSet(names, [x.shape[:2] for x in arrays], 2 * channels, arrays=arrays)


class SplitPairs:
    """`stacked batch (N, H, W, 2C) -> (shot A, shot B)`, the two shots swapped at random per example."""

    def __init__(self, seed: int = 0):
        self.generator = pipeline_generator(seed)

    def __call__(self, stacked):
        channels = tf.shape(stacked)[-1] // 2
        a, b = stacked[..., :channels], stacked[..., channels:]
        swap = self.generator.uniform([tf.shape(stacked)[0], 1, 1, 1]) < 0.5
        return tf.where(swap, b, a), tf.where(swap, a, b)


def split_pairs(stacked: np.ndarray):
    """Numpy (N, H, W, 2C) -> (A, B), no swapping: validation."""
    channels = stacked.shape[-1] // 2
    return stacked[..., :channels], stacked[..., channels:]


__all__ = [
    "FRACTION",
    "RADIUS",
    "Noise2VoidPairs",
    "SplitPairs",
    "blind_spot_trainer",
    "mask_batch",
    "noise2noise_pairs",
    "pair_images",
    "split_pairs",
]
