"""The built-in `smileys` faces: deterministic, attributes independent and visible in the pixels."""

from __future__ import annotations

import numpy as np
import pytest

from keras_ae import data as datasets
from keras_ae.data.smileys import draw_attributes, drawn_midpoints, render, smileys
from keras_ae.errors import UserError


@pytest.fixture(scope="module")
def faces():
    return smileys(seed=3, count=400)


def test_same_seed_same_faces_and_split(faces):
    again = smileys(seed=3, count=400)
    x, y = faces.arrays("train")
    x2, y2 = again.arrays("train")
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    other, _ = smileys(seed=4, count=400).arrays("train")
    assert not np.allclose(x, other)


def test_shape_range_labels_and_attributes_follow_the_split(faces):
    x, y = faces.arrays("train")
    assert faces.shape == (32, 32, 3) and x.dtype == np.float32
    assert x.min() >= 0.0 and x.max() <= 1.0
    assert faces.class_names == ["sad", "smiling"]
    train = faces.attributes["train"]
    assert set(train) >= {"smile", "glasses", "eyes_open", "face_x", "face_y", "curvature"}
    assert all(len(v) == len(x) for v in train.values())
    np.testing.assert_array_equal(train["smile"], y)  # the label is the smile, in the same order
    assert len(faces.attributes["validation"]["smile"]) == faces.num_validation
    # curvature carries the smile's sign, and never sits near flat
    assert np.all((train["curvature"] > 0.3) == (train["smile"] == 1))
    assert np.all(np.abs(train["curvature"]) >= 0.35)


def test_attributes_are_independent():
    a = draw_attributes(4000, seed=0)
    for first, second in (("smile", "glasses"), ("smile", "eyes_open"), ("glasses", "eyes_open")):
        correlation = np.corrcoef(a[first], a[second])[0, 1]
        assert abs(correlation) < 0.06, (first, second, correlation)
    for name in ("smile", "glasses", "eyes_open"):
        assert 0.45 < a[name].mean() < 0.55


def test_each_attribute_changes_only_its_own_pixels():
    """Flip one attribute of the same face: the pixels that change lie where that feature is drawn."""
    base = {k: v[:1].copy() for k, v in draw_attributes(1, seed=1).items()}
    base.update(glasses=np.array([0]), eyes_open=np.array([1]))

    def drawn(**changes):
        attributes = {k: v.copy() for k, v in base.items()}
        attributes.update({k: np.array([v]) for k, v in changes.items()})
        return render(attributes, noise=0.0)[0]

    plain = drawn()
    mouth = np.abs(drawn(curvature=-base["curvature"][0]) - plain).sum(-1) > 0.1
    glasses = np.abs(drawn(glasses=1) - plain).sum(-1) > 0.1
    eyes = np.abs(drawn(eyes_open=0) - plain).sum(-1) > 0.1
    rows = lambda mask: np.flatnonzero(mask.any(axis=1))  # noqa: E731
    assert mouth.sum() >= 15 and glasses.sum() >= 15 and eyes.sum() >= 4  # bold enough to survive a decoder
    assert rows(mouth).min() > rows(glasses).max() - 2  # the mouth sits below the eyes and glasses
    assert not (mouth & glasses).any() and not (mouth & eyes).any()


def test_built_in_spec_and_bad_sizes():
    assert "smileys" in datasets.sources.BUILTIN
    with pytest.raises(UserError, match="smileys"):
        smileys(count=1)


def test_drawn_midpoints_average_what_is_continuous_and_keep_yes_no_whole():
    first = draw_attributes(40, seed=5)
    first["background"][:] = 0.875  # the drawn midpoints' background
    np.testing.assert_allclose(drawn_midpoints(first, first, seed=2), render(first, seed=2), atol=1e-6)
    # faces that differ only in glasses meet at one of the two, never at faded glasses
    flipped = {**first, "glasses": 1 - first["glasses"]}
    middle = drawn_midpoints(first, flipped, seed=2)
    either = np.isclose(middle, render(first, seed=2), atol=1e-6).all(axis=(1, 2, 3))
    either |= np.isclose(middle, render(flipped, seed=2), atol=1e-6).all(axis=(1, 2, 3))
    assert either.all() and middle.shape == (40, 32, 32, 3)
    # a sad face and its smiling twin meet at a flat mouth
    twin = {**first, "smile": 1 - first["smile"], "curvature": -first["curvature"]}
    flat = {**first, "curvature": np.zeros(40, np.float32), "smile": np.zeros(40, int)}
    np.testing.assert_allclose(drawn_midpoints(first, twin, seed=2), render(flat, seed=2), atol=1e-6)
