"""Training without clean images: Noise2Void masking and training, Noise2Noise pairing."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_ae.denoise import blind_spot
from keras_ae.errors import UserError


def noisy_batch(n=4, size=16, seed=0):
    return np.random.default_rng(seed).random((n, size, size, 1), dtype=np.float32)


def test_masking_touches_only_the_blind_spot_pixels_with_a_neighbours_value():
    x = noisy_batch()
    (masked, mask), target = blind_spot.Noise2VoidPairs(fraction=0.05, radius=2, seed=0)(tf.constant(x))
    masked, mask, target = masked.numpy(), mask.numpy(), target.numpy()
    spots = mask[..., 0] > 0
    count = round(0.05 * 16 * 16)
    assert (spots.sum(axis=(1, 2)) == count).all()  # the same count in every patch
    assert np.array_equal(masked[~spots], x[~spots])  # nothing else changes
    for n, y, c in np.argwhere(spots):
        window = x[n, max(0, y - 2) : y + 3, max(0, c - 2) : c + 3, 0]
        others = np.delete(window.ravel(), np.flatnonzero(window.ravel() == x[n, y, c, 0]))
        assert masked[n, y, c, 0] in others  # a neighbour's value, never the pixel's own (N2V2)
    np.testing.assert_allclose(target, x * mask)
    # weights make the plain mean over all pixels the mean over the blind spots
    error = np.random.default_rng(1).random(x.shape, dtype=np.float32)
    np.testing.assert_allclose(np.mean((error * mask) ** 2), np.mean(error[spots] ** 2), rtol=1e-5)


def test_masks_are_fresh_per_call_and_fixed_per_seed():
    x = noisy_batch()
    pairs = blind_spot.Noise2VoidPairs(seed=0)
    first, second = pairs(tf.constant(x))[0][1].numpy(), pairs(tf.constant(x))[0][1].numpy()
    assert not np.array_equal(first, second)
    a = pairs.fixed(x, seed=3)[0][1]
    assert np.array_equal(a, pairs.fixed(x, seed=3)[0][1])


def test_bad_masking_settings_are_one_line_errors():
    with pytest.raises(UserError, match="fraction"):
        blind_spot.Noise2VoidPairs(fraction=0.0)
    with pytest.raises(UserError, match="radius"):
        blind_spot.Noise2VoidPairs(radius=0)


@pytest.mark.slow
def test_noise2void_lowers_the_error_against_clean_images_it_never_saw(tmp_path):
    import keras

    from keras_ae.data import patches
    from keras_ae.models.photo import denoise, photo_denoiser

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    clean = [
        np.clip(np.cumsum(np.cumsum(rng.normal(0, 1, (h, w, 1)), 0), 1) / 60 + 0.5, 0, 1).astype(np.float32)
        for h, w in ((64, 80), (72, 64))
    ]
    noisy = [np.clip(c + 0.1 * rng.standard_normal(c.shape), 0, 1).astype(np.float32) for c in clean]
    denoiser = photo_denoiser(filters=(8, 16, 32))
    trainer = blind_spot.blind_spot_trainer(denoiser)
    trainer.compile(keras.optimizers.Adam(2e-3), "mse")
    ds = patches.random_patches(noisy, patch=32, seed=0, per_epoch=64).batch(8).map(blind_spot.Noise2VoidPairs(seed=0))

    def error():
        return np.mean([np.mean((denoise(denoiser, n) - c) ** 2) for n, c in zip(noisy, clean, strict=True)])

    before = error()
    history = trainer.fit(ds.repeat(), steps_per_epoch=20, epochs=3, verbose=0, shuffle=False).history["loss"]
    after = error()
    assert history[-1] < history[0]
    assert after < before
    denoiser.save(tmp_path / "n2v.keras")  # the denoiser alone is a plain model
    again = keras.models.load_model(tmp_path / "n2v.keras", safe_mode=True)
    assert [layer.name for layer in again.layers] == [layer.name for layer in denoiser.layers]


def _write(folder, names, size=(20, 24)):
    folder.mkdir(exist_ok=True)
    for name in names:
        Image.fromarray(np.zeros(size, np.uint8)).save(folder / name)


def test_noise2noise_pairs_match_by_name(tmp_path):
    _write(tmp_path / "a", ["x.png", "y.png"])
    _write(tmp_path / "b", ["y.png", "x.png"])
    pairs = blind_spot.noise2noise_pairs(str(tmp_path / "a"), str(tmp_path / "b"))
    assert [(p.split("/")[-1], q.split("/")[-1]) for p, q in pairs] == [("x.png", "x.png"), ("y.png", "y.png")]
    shots = blind_spot.pair_images(pairs)
    assert shots.channels == 2 and shots.arrays[0].shape == (20, 24, 2)
    a, b = blind_spot.SplitPairs(0)(tf.constant(np.stack(shots.arrays)))
    assert a.shape == b.shape == (2, 20, 24, 1)


def test_noise2noise_unmatched_names_are_one_line_error(tmp_path):
    _write(tmp_path / "a", ["x.png", "y.png", "z.png"])
    _write(tmp_path / "b", ["x.png", "w.png"])
    with pytest.raises(UserError) as error:
        blind_spot.noise2noise_pairs(str(tmp_path / "a"), str(tmp_path / "b"))
    message = str(error.value)
    assert "y.png, z.png" in message and "w.png" in message and "\n" not in message


def test_noise2noise_sizes_must_match(tmp_path):
    _write(tmp_path / "a", ["x.png"])
    _write(tmp_path / "b", ["x.png"], size=(20, 20))
    pairs = blind_spot.noise2noise_pairs(str(tmp_path / "a"), str(tmp_path / "b"))
    with pytest.raises(UserError, match="same size"):
        blind_spot.pair_images(pairs)
