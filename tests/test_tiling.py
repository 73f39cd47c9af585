"""Large images through a small model: tiles cover everything and blend without seams."""

from __future__ import annotations

import numpy as np
import pytest

from keras_ae.denoise.tiling import apply_tiled
from keras_ae.errors import UserError


def test_identity_model_returns_the_image_exactly_at_any_size():
    image = np.random.default_rng(0).random((61, 45, 1), dtype=np.float32)
    calls = []

    def identity(batch):
        calls.append(batch.shape)
        return batch

    np.testing.assert_allclose(apply_tiled(identity, image, (28, 28), batch_size=5), image, atol=1e-6)
    assert all(shape[1:] == (28, 28, 1) for shape in calls) and len(calls) > 1


def test_each_pixel_is_a_weighted_mean_of_the_tiles_that_cover_it():
    image = np.zeros((40, 40, 1), np.float32)
    out = apply_tiled(lambda batch: np.ones_like(batch) * 0.5, image, (16, 16))
    np.testing.assert_allclose(out, 0.5, atol=1e-6)


def test_exact_size_is_one_call_and_smaller_is_an_error():
    image = np.ones((28, 28, 1), np.float32)
    assert apply_tiled(lambda b: b * 2, image, (28, 28)).max() == 2.0
    with pytest.raises(UserError, match="scan.png is 20x28, smaller than the model's input 28x28"):
        apply_tiled(lambda b: b, np.ones((20, 28, 1), np.float32), (28, 28), source="scan.png")
