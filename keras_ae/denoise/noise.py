"""Noise models for the denoising recipe, as per-example tf.data transformations.

A spec names one noise and its strength, `gaussian:0.4`, `salt_pepper:0.1`, `mask:0.5`, `speckle:0.3`, or a
mixture `mix:gaussian:0.3,salt_pepper:0.05`. A mixture corrupts each example with ONE of its components,
chosen with equal odds, rather than stacking them: a model then meets every kind of noise at its stated
strength, and the noise level of a sample stays what the spec says. Noisy pixels are clipped to [0, 1].

Training noise must be fresh for every example in every epoch, otherwise the model can memorise the noise.
Stateful `tf.random.*` ops do not guarantee that: once a global seed is set (`keras.utils.set_random_seed`,
which the recipes call), each new pass over a dataset restarts them and replays the same noise. So the
training path draws from a `tf.random.Generator` whose state lives outside the pipeline and keeps moving. It is
seeded from TensorFlow's global RNG, so a seeded run starts from the same state (though parallel map calls may
hand the draws to examples in a different order). Validation noise is the opposite: `apply_fixed` uses
stateless ops keyed on (seed, image index), the same noisy images every time.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from keras_ae.errors import UserError

# name -> (parameter name, example value for messages); the parameter is a std-dev ("sigma") or a fraction ("p").
KINDS = {"gaussian": ("sigma", 0.4), "salt_pepper": ("p", 0.1), "mask": ("p", 0.5), "speckle": ("sigma", 0.3)}
MIX = "mix"


class _Draws:
    """Random tensors for one example: from a generator (training) or stateless from a seed (validation)."""

    def __init__(self, generator=None, seed=None):
        self.generator, self.seed, self.count = generator, seed, 0

    def _next_seed(self):
        self.count += 1
        return tf.random.experimental.stateless_fold_in(self.seed, self.count)

    def child(self) -> _Draws:
        """Draws of their own, so a branch's noise does not depend on which other branches ran."""
        return self if self.seed is None else _Draws(seed=self._next_seed())

    def uniform(self, shape, maxval=1.0, dtype=tf.float32):
        if self.seed is None:
            return self.generator.uniform(shape, maxval=maxval, dtype=dtype)
        return tf.random.stateless_uniform(shape, self._next_seed(), maxval=maxval, dtype=dtype)

    def normal(self, shape):
        if self.seed is None:
            return self.generator.normal(shape)
        return tf.random.stateless_normal(shape, self._next_seed())


class Noise:
    """A corruption `image -> noisy image`; subclasses say how in `_corrupt`."""

    _generator = None

    def _corrupt(self, image, draws: _Draws):
        raise NotImplementedError

    def __call__(self, image, seed=None):
        """Corrupt one example (H, W, C), in graph mode or eagerly.

        With `seed=None` every call draws fresh noise; with a `[2]` integer seed the result depends only on it.
        """
        image = tf.convert_to_tensor(image, tf.float32)
        draws = _Draws(seed=tf.cast(seed, tf.int64)) if seed is not None else _Draws(generator=self.generator())
        return tf.clip_by_value(self._corrupt(image, draws), 0.0, 1.0)

    def generator(self) -> tf.random.Generator:
        """The training RNG, made on first use outside any graph being traced, on the CPU where tf.data runs."""
        if self._generator is None:
            with tf.init_scope(), tf.device("/CPU:0"):
                start = int(tf.random.uniform([], 0, 2**62, dtype=tf.int64))
                self._generator = tf.random.Generator.from_seed(start)
        return self._generator

    # Whether `_corrupt` treats a whole batch (N, H, W, C) as N independent examples, so the pipeline can
    # corrupt a batch in one call instead of one call per example (per-example calls cost ~15% of training).
    corrupts_batches = False

    def pairs(self):
        """`image -> (noisy, clean)` for `ImageData.batches(..., pairs=noise.pairs())`; marked `batched` when
        it may be applied to whole batches."""
        self.generator()

        def noisy_clean(image):
            return self(image), image

        noisy_clean.batched = self.corrupts_batches
        return noisy_clean

    def apply_fixed(self, images: np.ndarray, seed: int) -> np.ndarray:
        """The same noisy copy of `images` (N, H, W, C) for the same seed; image i's noise depends on (seed, i)."""
        images = np.asarray(images, np.float32)
        if len(images) == 0:
            return images.copy()
        indices = tf.range(len(images), dtype=tf.int64)
        ds = tf.data.Dataset.from_tensor_slices((images, indices))
        ds = ds.map(lambda image, i: self(image, seed=tf.stack([tf.constant(seed, tf.int64), i])))
        return np.concatenate(list(ds.batch(512).as_numpy_iterator()))


@dataclass
class PixelNoise(Noise):
    """One noise kind from `KINDS` at strength `amount` (sigma for gaussian/speckle, fraction p otherwise)."""

    kind: str
    amount: float
    _generator: tf.random.Generator | None = field(default=None, init=False, repr=False, compare=False)
    corrupts_batches = True  # every draw is per pixel: a batch is just more pixels

    def __str__(self):
        return f"{self.kind}:{self.amount:.12g}"

    def _corrupt(self, image, draws):
        if self.kind == "gaussian":
            return image + self.amount * draws.normal(tf.shape(image))
        if self.kind == "speckle":
            return image + image * self.amount * draws.normal(tf.shape(image))
        # salt_pepper and mask hit whole pixels: one draw per (row, column), shared by the channels.
        u = draws.uniform(tf.concat([tf.shape(image)[:-1], [1]], axis=0))
        if self.kind == "mask":
            return tf.where(u < self.amount, 0.0, image)
        image = tf.where(u < self.amount / 2, 0.0, image)
        return tf.where((u >= self.amount / 2) & (u < self.amount), 1.0, image)


@dataclass
class Mixture(Noise):
    """Each example gets one of `components`, picked with equal odds."""

    components: tuple[PixelNoise, ...]
    _generator: tf.random.Generator | None = field(default=None, init=False, repr=False, compare=False)

    def __str__(self):
        return f"{MIX}:" + ",".join(str(c) for c in self.components)

    def _corrupt(self, image, draws):
        choice = draws.uniform([], maxval=len(self.components), dtype=tf.int32)
        branches = [functools.partial(c._corrupt, image, draws.child()) for c in self.components]
        return tf.switch_case(choice, branches)


def parse(spec: str) -> Noise:
    """`--noise` flag -> `Noise`; anything malformed is a one-line `UserError` quoting the flag."""

    def fail(message):
        raise UserError(f"--noise {spec}: {message}")

    text = spec.strip()
    if not text:
        fail(f"empty noise spec; expected NAME:VALUE such as gaussian:0.4 (names: {', '.join([*KINDS, MIX])})")
    name, _, rest = text.partition(":")
    if name.strip().lower() == MIX:
        if not rest.strip():
            fail("mix needs components, e.g. mix:gaussian:0.3,salt_pepper:0.05")
        return Mixture(tuple(_parse_one(part, fail, in_mix=True) for part in rest.split(",")))
    return _parse_one(text, fail, in_mix=False)


def _parse_one(text: str, fail, in_mix: bool) -> PixelNoise:
    name, colon, value = (s.strip() for s in text.strip().partition(":"))
    name = name.lower()
    if name == MIX and in_mix:
        fail("a mix cannot contain another mix")
    if name not in KINDS:
        valid = ", ".join(KINDS) if in_mix else ", ".join([*KINDS, MIX])
        fail(f"unknown noise {name!r} (valid: {valid})")
    parameter, example = KINDS[name]
    if not value:
        fail(f"{name} needs a {parameter}, e.g. {name}:{example}")
    try:
        amount = float(value)
    except ValueError:
        fail(f"{name} {parameter} {value!r} is not a number")
    if not math.isfinite(amount):
        fail(f"{name} {parameter} must be a finite number, got {value}")
    if parameter == "sigma" and amount < 0:
        fail(f"{name} sigma must be >= 0, got {amount:g}")
    if parameter == "p" and not 0.0 <= amount <= 1.0:
        fail(f"{name} p must be in [0, 1], got {amount:g}")
    return PixelNoise(name, amount)
