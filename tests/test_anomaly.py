"""Anomaly detection: the metric functions on known numbers, the recipe end to end, `keras-ae score`."""

from __future__ import annotations

import csv
import json
import os

import numpy as np
import pytest
from conftest import assert_one_line_error

from keras_ae import anomaly
from keras_ae.measure.baselines import anomaly_scores


def test_metrics_on_known_inputs():
    labels = np.array([0, 0, 0, 0, 1, 1])
    assert anomaly.roc_auc(labels, [0.1, 0.2, 0.3, 0.4, 0.8, 0.9]) == 1.0
    assert anomaly.roc_auc(labels, [0.9, 0.8, 0.7, 0.6, 0.1, 0.2]) == 0.0
    assert anomaly.average_precision(labels, [0.1, 0.2, 0.3, 0.4, 0.8, 0.9]) == 1.0
    assert np.isnan(anomaly.roc_auc([0, 0], [0.1, 0.2]))
    report = anomaly.at_threshold(labels, [0.1, 0.2, 0.3, 0.7, 0.8, 0.9], threshold=0.5)
    assert report["precision"] == pytest.approx(2 / 3)
    assert report["recall"] == 1.0
    assert report["false_positive_rate"] == 0.25


def test_thresholds():
    normal = np.arange(100, dtype=float)  # 0..99
    assert anomaly.threshold_at_fpr(normal, 0.01) == 98.0  # only 99 lies above it: 1% of normals
    assert anomaly.threshold_at_fpr(normal, 0.1) == 89.0
    labels = np.array([0, 0, 0, 1, 1])
    t = anomaly.f1_best_threshold(labels, [0.1, 0.2, 0.3, 0.5, 0.6])
    assert anomaly.at_threshold(labels, [0.1, 0.2, 0.3, 0.5, 0.6], t)["f1"] == 1.0


def test_reconstruction_errors_and_baselines():
    x = np.zeros((3, 2, 2))
    r = np.ones((3, 2, 2)) * np.array([1.0, 2.0, 3.0])[:, None, None]
    np.testing.assert_allclose(anomaly.reconstruction_errors(x, r), [1.0, 4.0, 9.0])
    np.testing.assert_allclose(anomaly.reconstruction_errors(np.zeros((1, 2)), [[2.0, 4.0]], scale=[2.0, 4.0]), [1.0])
    rng = np.random.default_rng(0)
    normal = rng.normal(size=(200, 5))
    test = np.concatenate([rng.normal(size=(50, 5)), rng.normal(size=(50, 5)) + 4])
    labels = np.r_[np.zeros(50), np.ones(50)]
    scores = anomaly_scores(normal, {"test": test}, components=2)
    for method in ("isolation_forest", "pca", "knn"):
        assert anomaly.roc_auc(labels, scores[method]["test"]) > 0.9, method


def test_one_class_split_is_disjoint_and_normal_only_in_train():
    labels = np.repeat(np.arange(4), 25)
    train, val, test = anomaly.one_class_split(labels, normal=2, seed=1)
    assert set(labels[train]) == {2}
    assert not (set(train) & set(val)) and not (set(val) & set(test)) and not (set(train) & set(test))
    assert len(train) + len(val) + len(test) == 100


@pytest.fixture(scope="module")
def anomaly_run(tmp_path_factory):
    from keras_ae.recipes import anomaly as recipe

    out = str(tmp_path_factory.mktemp("anomaly") / "run")
    metrics = recipe.run(
        dataset="digits", normal_class="0", epochs=2, out=out, export_dir=None, echo=lambda *a: None, verbose=0
    )
    return out, metrics


@pytest.mark.slow
def test_recipe_end_to_end(anomaly_run):
    out, metrics = anomaly_run
    for name in ("model.keras", "metrics.json", "threshold.json", "scores.png", "roc.png"):
        assert os.path.isfile(os.path.join(out, name)), name
    with open(os.path.join(out, "metrics.json")) as f:
        saved = json.load(f)
    for key in ("roc_auc", "average_precision", "at_fpr", "f1_best"):
        assert set(saved[key]) == set(anomaly.METHODS), key
    assert saved["roc_auc"]["autoencoder"] > 0.5
    assert {"precision", "recall", "threshold"} <= set(saved["at_fpr"]["autoencoder"])
    with open(os.path.join(out, "threshold.json")) as f:
        assert json.load(f)["threshold"] == saved["at_fpr"]["autoencoder"]["threshold"]


@pytest.mark.slow
def test_score_command(anomaly_run, cli, tmp_path):
    out, _ = anomaly_run
    from sklearn.datasets import load_digits

    digits = load_digits()
    np.save(tmp_path / "x.npy", digits.images[:40] / 16.0)  # the [0, 1] scale it was trained on
    code, stdout, err = cli("score", "--model", out, tmp_path / "x.npy", "-o", tmp_path / "s.csv")
    assert code == 0, err
    with open(tmp_path / "s.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 40 and list(rows[0]) == ["index", "score", "is_anomaly"]
    flagged = np.array([int(r["is_anomaly"]) for r in rows])
    is_zero = digits.target[:40] == 0
    assert flagged[~is_zero].mean() > flagged[is_zero].mean()  # the non-zeros are the anomalies


@pytest.mark.slow
def test_score_refuses_wrong_width(anomaly_run, cli, tmp_path):
    out, _ = anomaly_run
    np.save(tmp_path / "x.npy", np.zeros((3, 9, 9), np.float32))
    code, _, err = cli("score", "--model", out, tmp_path / "x.npy", "-o", tmp_path / "s.csv")
    assert_one_line_error(code, err, "(9, 9, 1)", "(8, 8, 1)")


def test_unknown_normal_class_lists_classes(cli, tmp_path):
    code, _, err = cli("recipe", "anomaly", "--dataset", "digits", "--normal-class", "12", "--out", tmp_path / "r")
    assert_one_line_error(code, err, "--normal-class 12", "classes: 0, 1, 2")
