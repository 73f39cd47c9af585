"""Synthetic signals and the Conv1D autoencoder."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_one_line_error

from keras_ae.data.signals import generate


def test_signals_are_deterministic_by_seed():
    a, la, fa = generate(count=50, length=40, seed=3)
    b, lb, fb = generate(count=50, length=40, seed=3)
    c, _, _ = generate(count=50, length=40, seed=4)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)
    assert list(fa) == list(fb)
    assert not np.array_equal(a, c)
    assert a.shape == (50, 40, 1) and set(np.unique(la)) <= {0, 1} and la.sum() > 0


def test_builtin_signals_spec():
    from keras_ae import data

    d = data.load("signals")
    assert d.kind == "signals" and d.shape == (128, 1) and d.class_names == ["normal", "anomalous"]


def test_conv1d_refuses_images():
    from keras_ae.errors import UserError
    from keras_ae.models import build

    with pytest.raises(UserError, match="--arch conv1d needs signals"):
        build("conv1d", (8, 8, 1), 4)


def test_signal_shorter_than_the_receptive_field_is_refused(cli, tmp_path):
    from keras_ae.errors import UserError
    from keras_ae.models import build

    with pytest.raises(UserError, match="receptive field \\(13 steps"):
        build("conv1d", (12, 1), 4, filters=(4, 8))  # kernel 5, two stride-2 stages: 1 + 4 * 3 = 13 steps
    np.save(tmp_path / "short.npy", np.random.default_rng(0).normal(size=(40, 6)).astype(np.float32))
    code, _, err = cli(
        "train", "--dataset", tmp_path / "short.npy", "--arch", "conv1d", "--bottleneck", "2", "--out", tmp_path / "r"
    )
    assert_one_line_error(code, err, "6 steps", "receptive field")
    assert not (tmp_path / "r").exists()


def test_scoring_signals_shorter_than_the_models_window_is_refused(tmp_path):
    from keras_ae.data import read_examples
    from keras_ae.errors import UserError

    np.save(tmp_path / "short.npy", np.zeros((5, 10), np.float32))
    with pytest.raises(UserError, match="10 steps are shorter than the model's window of 20 steps"):
        read_examples(str(tmp_path / "short.npy"), (20, 1))
    assert read_examples(str(tmp_path / "short.npy"), (10, 1)).shape == (5, 10, 1)
