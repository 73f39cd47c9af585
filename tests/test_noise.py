"""Noise models: the statistics each spec promises, the flag's errors, and fresh-vs-fixed randomness."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_ae.data.dataset import from_arrays
from keras_ae.denoise import noise
from keras_ae.errors import UserError


@pytest.fixture(scope="module")
def digits(mnist_small):
    return mnist_small[1][0][:64]


def grey(n=64, size=28, channels=1, value=0.5):
    return np.full((n, size, size, channels), value, np.float32)


@pytest.mark.parametrize(
    "spec, canonical",
    [
        ("gaussian:0.4", "gaussian:0.4"),
        ("salt_pepper:0.05", "salt_pepper:0.05"),
        ("mask:1", "mask:1"),
        ("speckle:0.25", "speckle:0.25"),
        (" Gaussian : 0.30 ", "gaussian:0.3"),
        ("mix:gaussian:0.3, salt_pepper:0.05", "mix:gaussian:0.3,salt_pepper:0.05"),
    ],
)
def test_spec_round_trip(spec, canonical):
    parsed = noise.parse(spec)
    assert str(parsed) == canonical
    assert noise.parse(str(parsed)) == parsed


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(UserError) as info:
        noise.parse("gausian:0.4")
    valid = "gaussian, salt_pepper, mask, speckle, poisson_gaussian, mix"
    assert str(info.value) == f"--noise gausian:0.4: unknown noise 'gausian' (valid: {valid})"


@pytest.mark.parametrize(
    "spec, fragment",
    [
        ("gaussian", "gaussian needs a sigma, e.g. gaussian:0.4"),
        ("mask:", "mask needs a p"),
        ("gaussian:abc", "sigma 'abc' is not a number"),
        ("gaussian:0.3:1", "is not a number"),
        ("speckle:inf", "finite"),
        ("gaussian:-0.1", "sigma must be >= 0, got -0.1"),
        ("salt_pepper:1.5", "p must be in [0, 1], got 1.5"),
        ("mask:-0.2", "p must be in [0, 1], got -0.2"),
        ("", "empty noise spec"),
        ("mix:", "mix needs components"),
        ("mix:gaussian:0.3,mix:mask:0.1", "cannot contain another mix"),
        (
            "mix:gaussian:0.3,blur:1",
            "unknown noise 'blur' (valid: gaussian, salt_pepper, mask, speckle, poisson_gaussian)",
        ),
        ("mix:gaussian:0.3,mask:2", "p must be in [0, 1]"),
    ],
)
def test_spec_errors_are_one_line_naming_the_flag(spec, fragment):
    with pytest.raises(UserError) as info:
        noise.parse(spec)
    message = str(info.value)
    assert message.startswith(f"--noise {spec.strip()}:") or message.startswith(f"--noise {spec}:")
    assert fragment in message
    assert "\n" not in message


def test_gaussian_and_speckle_have_the_stated_spread():
    images = grey()
    gaussian = noise.parse("gaussian:0.1").apply_fixed(images, seed=1) - images
    assert abs(gaussian.std() - 0.1) < 0.003 and abs(gaussian.mean()) < 0.003
    speckle = noise.parse("speckle:0.2").apply_fixed(images, seed=1) - images
    assert abs(speckle.std() - 0.5 * 0.2) < 0.003  # multiplicative: sigma times the pixel value


def test_salt_pepper_and_mask_hit_the_stated_fraction_of_whole_pixels():
    images = grey(channels=3)
    sp = noise.parse("salt_pepper:0.2").apply_fixed(images, seed=2)
    assert abs((sp == 0).mean() - 0.1) < 0.01 and abs((sp == 1).mean() - 0.1) < 0.01
    assert np.all((sp == 0) | (sp == 1) | (sp == 0.5))
    assert np.all(sp == sp[..., :1]), "a pixel's channels are hit together"
    masked = noise.parse("mask:0.3").apply_fixed(images, seed=2)
    assert abs((masked == 0).mean() - 0.3) < 0.01
    assert np.all((masked == 0) | (masked == 0.5))
    assert np.all(noise.parse("mask:1").apply_fixed(images, seed=0) == 0)
    assert np.array_equal(noise.parse("mask:0").apply_fixed(images, seed=0), images)


@pytest.mark.parametrize("spec", ["gaussian:1.0", "speckle:3", "mix:gaussian:0.8,salt_pepper:0.3"])
def test_results_are_clipped_to_unit_range(digits, spec):
    noisy = noise.parse(spec).apply_fixed(digits, seed=0)
    assert noisy.dtype == np.float32 and noisy.shape == digits.shape
    assert noisy.min() == 0.0 and noisy.max() == 1.0


def test_mixture_applies_one_component_per_example():
    images = grey(n=200)
    noisy = noise.parse("mix:mask:0.5,salt_pepper:0.5").apply_fixed(images, seed=3)
    has_salt = (noisy == 1).reshape(len(noisy), -1).any(axis=1)
    # mask alone never sets a pixel to 1; salt_pepper:0.5 on 784 pixels always does
    masked_only = ~has_salt
    assert 60 < has_salt.sum() < 140
    assert np.allclose((noisy[masked_only] == 0).mean(), 0.5, atol=0.02)
    assert np.allclose((noisy[has_salt] == 0).mean(), 0.25, atol=0.02)


def test_fixed_noise_is_reproducible_per_seed_and_per_image(digits):
    gaussian = noise.parse("mix:gaussian:0.4,mask:0.3")
    first = gaussian.apply_fixed(digits, seed=7)
    assert np.array_equal(first, gaussian.apply_fixed(digits, seed=7))
    assert np.array_equal(first, noise.parse(str(gaussian)).apply_fixed(digits, seed=7))
    assert not np.allclose(first, gaussian.apply_fixed(digits, seed=8))
    # image i's noise depends only on (seed, i), not on how many images come with it
    assert np.array_equal(first[:5], gaussian.apply_fixed(digits[:5], seed=7))
    assert np.array_equal(first[3], gaussian(digits[3], seed=(7, 3)).numpy())


def test_training_noise_is_fresh_every_example_and_every_epoch(digits):
    # A global seed is what makes plain tf.random ops replay the same noise every epoch: guard against that.
    keras.utils.set_random_seed(0)
    same = np.repeat(digits[:1], 32, axis=0)
    data = from_arrays("digits", np.concatenate([digits, same]), seed=0)
    gaussian = noise.parse("gaussian:0.4")
    ds = data.batches("train", 32, pairs=gaussian.pairs())
    (noisy_1, clean_1), (noisy_2, clean_2) = (
        [np.concatenate(parts) for parts in zip(*ds.as_numpy_iterator(), strict=True)] for _ in range(2)
    )
    assert np.array_equal(clean_1, clean_2)
    assert noisy_1.shape == clean_1.shape and noisy_1.dtype == np.float32
    assert not np.any(np.all(noisy_1 == noisy_2, axis=(1, 2, 3))), "some example got the same noise twice"
    copies = noisy_1[np.all(clean_1 == digits[0], axis=(1, 2, 3))]
    assert len(copies) > 10
    assert len({c.tobytes() for c in copies}) == len(copies), "identical images must get different noise"


def test_noise_maps_inside_a_graph(digits):
    mixture = noise.parse("mix:speckle:0.3,salt_pepper:0.1,mask:0.2")
    ds = tf.data.Dataset.from_tensor_slices(digits).map(mixture, num_parallel_calls=tf.data.AUTOTUNE)
    noisy = np.stack(list(ds.as_numpy_iterator()))
    assert noisy.shape == digits.shape and noisy.min() >= 0.0 and noisy.max() <= 1.0
    assert not np.array_equal(noisy, digits)


def test_pipeline_corrupts_whole_batches_like_single_examples():
    """Pixel noise is applied to whole batches at once (cheaper); a mixture still picks per example."""
    data = from_arrays("grey", grey(n=256), seed=0, validation_fraction=0.01)
    mask = noise.parse("mask:0.3").pairs()
    assert mask.batched
    noisy, _ = next(iter(data.batches("train", 128, pairs=mask)))
    per_image = (noisy.numpy() == 0).reshape(128, -1).mean(axis=1)
    assert abs(per_image.mean() - 0.3) < 0.01 and per_image.std() < 0.05  # each example hit at its own rate
    mixture = noise.parse("mix:mask:0.5,salt_pepper:0.5").pairs()
    assert not mixture.batched
    noisy, _ = next(iter(data.batches("train", 128, pairs=mixture)))
    has_salt = (noisy.numpy() == 1).reshape(128, -1).any(axis=1)
    assert 0 < has_salt.sum() < 128  # both components within one batch


# -- ranges and Poisson-Gaussian noise (issue 16) -------------------------------------------------------------------
@pytest.mark.parametrize(
    "spec, canonical",
    [
        ("gaussian:0.02-0.2", "gaussian:0.02-0.2"),
        ("gaussian:1e-3-0.1", "gaussian:0.001-0.1"),
        ("poisson_gaussian:0.01,0.02", "poisson_gaussian:0.01,0.02"),
        ("poisson_gaussian:0.001-0.02, 0.005-0.03", "poisson_gaussian:0.001-0.02,0.005-0.03"),
        ("mix:poisson_gaussian:0.01,0.02,gaussian:0.1", "mix:poisson_gaussian:0.01,0.02,gaussian:0.1"),
    ],
)
def test_range_and_poisson_gaussian_specs_round_trip(spec, canonical):
    parsed = noise.parse(spec)
    assert str(parsed) == canonical
    assert noise.parse(str(parsed)) == parsed


@pytest.mark.parametrize(
    "spec, fragment",
    [
        ("gaussian:0.2-0.02", "gaussian sigma range 0.2-0.02 is backwards; write 0.02-0.2"),
        ("salt_pepper:0.1-1.5", "p must be in [0, 1], got 1.5"),
        ("poisson_gaussian:", "poisson_gaussian needs A,B"),
        ("poisson_gaussian:0.01,0.02,3", "poisson_gaussian needs A,B"),
        ("poisson_gaussian:-0.01,0.02", "A must be >= 0"),
        ("poisson_gaussian:0.01,x", "B 'x' is not a number"),
    ],
)
def test_range_and_poisson_gaussian_errors_are_one_line(spec, fragment):
    with pytest.raises(UserError) as info:
        noise.parse(spec)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_a_range_draws_one_sigma_per_example_fixed_and_in_the_pipeline():
    images = grey(n=300, size=16)
    spread = (noise.parse("gaussian:0.02-0.2").apply_fixed(images, seed=2) - images).reshape(300, -1).std(axis=1)
    assert spread.min() < 0.04 and spread.max() > 0.18 and abs(spread.mean() - 0.11) < 0.01
    again = (noise.parse("gaussian:0.02-0.2").apply_fixed(images, seed=2) - images).reshape(300, -1).std(axis=1)
    assert np.array_equal(spread, again)  # validation: the same level for the same image every time
    pairs = noise.parse("gaussian:0.02-0.2").pairs()
    noisy, _ = next(iter(tf.data.Dataset.from_tensor_slices(images).batch(100).map(pairs)))
    batch_spread = (noisy.numpy() - 0.5).reshape(100, -1).std(axis=1)
    assert batch_spread.max() - batch_spread.min() > 0.1  # each example of a batch has its own sigma


def test_poisson_gaussian_variance_grows_with_the_signal():
    levels = np.array([0.1, 0.3, 0.5], np.float32)
    images = np.broadcast_to(levels[None, None, :, None], (400, 8, 3, 1)).copy()
    noisy = noise.parse("poisson_gaussian:0.01,0.02").apply_fixed(images, seed=0)
    variance = (noisy - images)[..., 0].reshape(-1, 3).var(axis=0)
    np.testing.assert_allclose(variance, 0.01 * levels + 0.02**2, rtol=0.08)
