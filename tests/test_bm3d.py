"""BM3D, the classical reference of the photo bench: an optional extra, used when installed, skipped when not."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from keras_ae.errors import UserError
from keras_ae.measure import filters


def test_bm3d_denoises_a_real_photo_crop_when_installed():
    pytest.importorskip("bm3d")
    skimage_data = pytest.importorskip("skimage.data")
    clean = skimage_data.camera()[200:248, 200:248].astype(np.float32) / 255
    noisy = np.clip(clean + 25 / 255 * np.random.default_rng(0).standard_normal(clean.shape), 0, 1)
    out = filters.bm3d(noisy[None, ..., None], 25 / 255)
    assert out.shape == (1, 48, 48, 1) and out.dtype == np.float32

    def mse(x):
        return float(np.mean((x - clean) ** 2))

    assert mse(out[0, ..., 0]) < mse(noisy) / 3


def test_without_the_package_it_is_reported_not_crashed(monkeypatch):
    monkeypatch.setitem(sys.modules, "bm3d", None)  # `import bm3d` now raises ImportError
    assert not filters.has_bm3d()
    with pytest.raises(UserError, match="pip install"):
        filters.bm3d(np.zeros((8, 8), np.float32), 0.1)
