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

**Ranges: one model for every noise level.** A strength may be a range, `gaussian:0.02-0.2`: each example (each
patch) draws its own strength uniformly from it, so a model trained that way is blind to the level and serves
all of them (the blind photo denoiser is trained on `gaussian:0-0.216`, sigma 0..55 on the 0..255 scale). A
backwards range (`gaussian:0.2-0.02`) is refused. On the validation path the strength is drawn statelessly too:
the same image always gets the same level.

**Poisson-Gaussian: the noise of real sensors.** `poisson_gaussian:A,B` is signal-dependent: a pixel of clean
value x gets noise of variance A·x + B² (photon shot noise, whose variance grows with the light collected, plus
the sensor's read noise B), the model of Foi et al. (2008) used for raw camera and microscope data. A is the
gain (one photon's share of the full scale: A = 0.01 is ~100 photons at white) and B a standard deviation;
either may be a range (`poisson_gaussian:0.001-0.02,0.005-0.03`), and `poisson_gaussian:A` means B = 0. It is
drawn as x + sqrt(A·x + B²)·N(0, 1), the Gaussian approximation of the Poisson part, accurate from a few
photons up (and what lets the training path draw from a `tf.random.Generator`, which has no Poisson sampler).
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from keras_ae.errors import UserError

# name -> (parameter name, example value for messages); the parameter is a std-dev ("sigma") or a fraction ("p").
KINDS = {"gaussian": ("sigma", 0.4), "salt_pepper": ("p", 0.1), "mask": ("p", 0.5), "speckle": ("sigma", 0.3)}
POISSON_GAUSSIAN = "poisson_gaussian"  # two parameters, A (gain) and B (read noise sigma): variance A*x + B**2
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

    def strength(self, image, low, high):
        """`low` for a fixed strength; for a range, one uniform draw in [low, high] per example of `image`
        ((H, W, C) -> a scalar, a batch (N, H, W, C) -> shape (N, 1, 1, 1))."""
        if high is None:
            return low
        shape = [tf.shape(image)[0], 1, 1, 1] if image.shape.rank == 4 else []
        return low + (high - low) * self.uniform(shape)

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
    high: float | None = None  # a range amount..high: each example draws its strength from it
    _generator: tf.random.Generator | None = field(default=None, init=False, repr=False, compare=False)
    corrupts_batches = True  # every draw is per pixel or per example of a batch (N, H, W, C)

    def __str__(self):
        return f"{self.kind}:{_format(self.amount, self.high)}"

    def _corrupt(self, image, draws):
        amount = draws.strength(image, self.amount, self.high)
        if self.kind == "gaussian":
            return image + amount * draws.normal(tf.shape(image))
        if self.kind == "speckle":
            return image + image * amount * draws.normal(tf.shape(image))
        # salt_pepper and mask hit whole pixels: one draw per (row, column), shared by the channels.
        u = draws.uniform(tf.concat([tf.shape(image)[:-1], [1]], axis=0))
        if self.kind == "mask":
            return tf.where(u < amount, 0.0, image)
        image = tf.where(u < amount / 2, 0.0, image)
        return tf.where((u >= amount / 2) & (u < amount), 1.0, image)


@dataclass
class PoissonGaussian(Noise):
    """Signal-dependent noise of variance `gain`·x + `read`² at a pixel of clean value x (see the module)."""

    gain: float
    read: float = 0.0
    gain_high: float | None = None
    read_high: float | None = None
    _generator: tf.random.Generator | None = field(default=None, init=False, repr=False, compare=False)
    corrupts_batches = True

    def __str__(self):
        text = f"{POISSON_GAUSSIAN}:{_format(self.gain, self.gain_high)}"
        return text + (f",{_format(self.read, self.read_high)}" if self.read or self.read_high else "")

    def _corrupt(self, image, draws):
        gain = draws.strength(image, self.gain, self.gain_high)
        read = draws.strength(image, self.read, self.read_high)
        variance = gain * tf.maximum(image, 0.0) + tf.square(read)
        return image + tf.sqrt(variance) * draws.normal(tf.shape(image))


def _format(low: float, high: float | None) -> str:
    return f"{low:.12g}" if high is None else f"{low:.12g}-{high:.12g}"


@dataclass
class Mixture(Noise):
    """Each example gets one of `components`, picked with equal odds."""

    components: tuple[Noise, ...]
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
        fail(f"empty noise spec; expected NAME:VALUE such as gaussian:0.4 (names: {', '.join(NAMES)})")
    name, _, rest = text.partition(":")
    if name.strip().lower() == MIX:
        if not rest.strip():
            fail("mix needs components, e.g. mix:gaussian:0.3,salt_pepper:0.05")
        # components are separated by commas that start a new name (poisson_gaussian's own comma does not)
        return Mixture(tuple(_parse_one(part, fail, in_mix=True) for part in re.split(r",(?=\s*[A-Za-z])", rest)))
    return _parse_one(text, fail, in_mix=False)


NAMES = (*KINDS, POISSON_GAUSSIAN, MIX)


def _parse_one(text: str, fail, in_mix: bool) -> Noise:
    name, _, value = (s.strip() for s in text.strip().partition(":"))
    name = name.lower()
    if name == MIX and in_mix:
        fail("a mix cannot contain another mix")
    if name == POISSON_GAUSSIAN:
        return _parse_poisson_gaussian(value, fail)
    if name not in KINDS:
        valid = ", ".join(n for n in NAMES if n != MIX) if in_mix else ", ".join(NAMES)
        fail(f"unknown noise {name!r} (valid: {valid})")
    parameter, example = KINDS[name]
    if not value:
        fail(f"{name} needs a {parameter}, e.g. {name}:{example} or a range such as {name}:0.02-0.2")
    low, high = _parse_strength(value, f"{name} {parameter}", fail)
    for amount in (low, high):
        if amount is None:
            continue
        if parameter == "sigma" and amount < 0:
            fail(f"{name} sigma must be >= 0, got {amount:g}")
        if parameter == "p" and not 0.0 <= amount <= 1.0:
            fail(f"{name} p must be in [0, 1], got {amount:g}")
    return PixelNoise(name, low, high)


def _parse_poisson_gaussian(value: str, fail) -> PoissonGaussian:
    parts = [p.strip() for p in value.split(",")] if value else []
    if not 1 <= len(parts) <= 2 or not all(parts):
        fail(f"{POISSON_GAUSSIAN} needs A,B (variance A*x + B^2), e.g. {POISSON_GAUSSIAN}:0.01,0.02")
    gain = _parse_strength(parts[0], f"{POISSON_GAUSSIAN} A", fail)
    read = _parse_strength(parts[1], f"{POISSON_GAUSSIAN} B", fail) if len(parts) == 2 else (0.0, None)
    for label, values in (("A", gain), ("B", read)):
        if any(v is not None and v < 0 for v in values):
            fail(f"{POISSON_GAUSSIAN} {label} must be >= 0, got {min(v for v in values if v is not None):g}")
    return PoissonGaussian(gain[0], read[0], gain[1], read[1])


def _parse_strength(value: str, what: str, fail) -> tuple[float, float | None]:
    """`0.1` -> (0.1, None); a range `0.02-0.2` -> (0.02, 0.2); backwards ranges and non-numbers fail."""

    def number(text):
        try:
            amount = float(text)
        except ValueError:
            return None
        if not math.isfinite(amount):
            fail(f"{what} must be a finite number, got {text.strip()}")
        return amount

    single = number(value)
    if single is not None:
        return single, None
    # a range: split at a '-' that is neither a leading sign nor an exponent's sign (1e-3-0.1)
    for match in re.finditer("-", value):
        i = match.start()
        if i == 0 or value[i - 1] in "eE":
            continue
        low, high = number(value[:i]), number(value[i + 1 :])
        if low is not None and high is not None:
            if low > high:
                fail(f"{what} range {value} is backwards; write {high:g}-{low:g}")
            return low, high
    fail(f"{what} {value!r} is not a number or a range LOW-HIGH")
