"""Classical denoisers: tuned on real noisy digits, each must beat doing nothing, and stay inside its grid."""

from __future__ import annotations

import numpy as np
import pytest

from keras_ae.denoise import noise
from keras_ae.errors import UserError
from keras_ae.measure import filters as denoisers
from keras_ae.measure.metrics import psnr


@pytest.fixture(scope="module")
def digits(mnist_small):
    """200 validation digits with fixed gaussian:0.4 noise, as the denoising recipe will see them."""
    clean = mnist_small[1][0]
    return noise.parse("gaussian:0.4").apply_fixed(clean, seed=0), clean


@pytest.fixture(scope="module")
def tuned(digits):
    return denoisers.best_classical(*digits)


@pytest.mark.slow
def test_every_available_method_is_tuned_and_scored(tuned):
    assert list(tuned) == denoisers.available()
    for name, (denoiser, score) in tuned.items():
        assert denoiser.name == name and np.isfinite(score)


def test_each_denoiser_beats_the_noisy_input(digits, tuned):
    noisy, clean = digits
    baseline = psnr(clean, noisy)
    for name, (denoiser, score) in tuned.items():
        assert score > baseline + 2.0, f"{name}: {score:.2f} dB vs noisy {baseline:.2f} dB"
        assert score == pytest.approx(psnr(clean, denoiser(noisy)))


def test_contrast_curve_beats_plain_blur_on_digits(tuned):
    assert tuned["blur_contrast"][1] > tuned["gaussian_blur"][1] + 3.0
    assert tuned["blur_contrast"][1] > 18.0


def test_tuned_params_come_from_their_grids(tuned):
    for name, (denoiser, _) in tuned.items():
        assert set(denoiser.params) == set(denoisers.GRIDS[name])
        for key, value in denoiser.params.items():
            assert value in denoisers.GRIDS[name][key], f"{name}.{key} = {value}"


def test_shapes_dtypes_and_range_are_kept(digits, tuned):
    noisy, _ = digits
    for denoiser, _ in tuned.values():
        out = denoiser(noisy[:7].astype(np.float64))
        assert out.shape == (7, 28, 28, 1) and out.dtype == np.float32
        assert out.min() >= 0.0 and out.max() <= 1.0


def test_params_tuned_on_some_images_carry_to_others(digits):
    noisy, clean = digits
    blur = denoisers.tune("blur_contrast", noisy[:100], clean[:100], max_images=50)
    assert psnr(clean[100:], blur(noisy[100:])) > psnr(clean[100:], noisy[100:]) + 5.0


@pytest.mark.slow
def test_colour_images(digits):
    """Three channels: each channel a different real digit, so colour edges do not line up."""
    _, clean = digits
    rgb = np.concatenate([clean[0:40], clean[40:80], clean[80:120]], axis=-1)
    noisy = noise.parse("gaussian:0.2").apply_fixed(rgb, seed=1)
    results = denoisers.best_classical(noisy, rgb, max_images=40)
    for name, (denoiser, score) in results.items():
        assert denoiser(noisy).shape == rgb.shape
        assert score > psnr(rgb, noisy) + 1.0, name


def test_optional_methods_need_scikit_image(monkeypatch, digits):
    monkeypatch.setattr(denoisers, "_has_skimage", lambda: False)
    assert denoisers.available() == ["gaussian_blur", "blur_contrast"]
    with pytest.raises(UserError, match=r"denoiser tv needs scikit-image: pip install scikit-image"):
        denoisers.tune("tv", *digits)


def test_bad_names_and_shapes():
    valid = "gaussian_blur, blur_contrast, nl_means, tv"
    with pytest.raises(UserError, match=f"unknown denoiser 'median' .valid: {valid}."):
        denoisers.tune("median", np.zeros((2, 8, 8, 1)), np.zeros((2, 8, 8, 1)))
    with pytest.raises(ValueError, match="C = 1 or 3"):
        denoisers.apply("gaussian_blur", np.zeros((2, 8, 8)), sigma=1.0)
    with pytest.raises(ValueError, match="differ in shape"):
        denoisers.tune("gaussian_blur", np.zeros((2, 8, 8, 1)), np.zeros((3, 8, 8, 1)))
