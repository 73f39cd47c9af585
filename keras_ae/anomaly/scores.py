"""Anomaly detection by reconstruction error: scores, thresholds and metrics. Numbers in, numbers out.

An autoencoder trained on normal examples only reconstructs what it has seen; what it has not seen comes
back worse. The per-example reconstruction error is therefore an anomaly score, and it is only worth
something next to the classical scores computed on the same split (`keras_ae.measure.baselines.anomaly_scores`:
Isolation Forest, PCA reconstruction error of the same width, the distance to the k-th nearest normal example).
Higher scores mean "more anomalous" everywhere in this module.
"""

from __future__ import annotations

import numpy as np

from keras_ae.errors import UserError

METHODS = ("autoencoder", "isolation_forest", "pca", "knn")
THRESHOLD_FILE = "threshold.json"


def reconstruction_errors(x, reconstructions, scale=None) -> np.ndarray:
    """Per-example mean squared error; `scale` (per feature) measures it in standardised units, so a
    feature measured in thousands does not drown one measured in thousandths."""
    diff = np.asarray(x, np.float64) - np.asarray(reconstructions, np.float64)
    if scale is not None:
        diff = diff / np.asarray(scale, np.float64)  # per feature, or per channel of a signal
    return np.mean(diff.reshape(len(diff), -1) ** 2, axis=1)


def model_scale(ae):
    """The per-feature standard deviation a vector model standardises with (None for images): errors are
    measured in the units the model was trained in."""
    import keras

    for layer in ae.encoder.layers:
        if isinstance(layer, keras.layers.Normalization) and not layer.invert:
            std = np.sqrt(np.asarray(keras.ops.convert_to_numpy(layer.variance), np.float64))
            return std.reshape(-1) if std.size > 1 else float(std.reshape(-1)[0])
    return None


SCORE_ENDPOINT = "anomaly_score"


def score_model(ae):
    """x -> its reconstruction error, as one Keras model (the `anomaly_score` endpoint of an export)."""
    import keras

    from keras_ae.models.layers import ReconstructionError

    inputs = keras.Input(shape=ae.input_shape, name="image")
    scores = ReconstructionError(model_scale(ae), name="reconstruction_error")([inputs, ae.autoencoder(inputs)])
    return keras.Model(inputs, scores, name=SCORE_ENDPOINT)


def export_endpoints(ae) -> dict:
    """The extra signature an anomaly model exports: `anomaly_score` (examples in, `scores` out)."""
    from keras_ae.export.saved_model import Endpoint

    return {SCORE_ENDPOINT: Endpoint(score_model(ae), output_name="scores")}


def _check(labels, scores):
    labels = np.asarray(labels).astype(int).ravel()
    scores = np.asarray(scores, np.float64).ravel()
    if labels.shape != scores.shape:
        raise ValueError(f"{len(labels)} labels but {len(scores)} scores")
    return labels, scores


def roc_auc(labels, scores) -> float:
    """Area under the ROC curve (1 = anomalous); NaN when only one kind is present."""
    from sklearn.metrics import roc_auc_score

    labels, scores = _check(labels, scores)
    if len(np.unique(labels)) < 2:
        return float("nan")
    return float(roc_auc_score(labels, scores))


def average_precision(labels, scores) -> float:
    from sklearn.metrics import average_precision_score

    labels, scores = _check(labels, scores)
    if len(np.unique(labels)) < 2:
        return float("nan")
    return float(average_precision_score(labels, scores))


def threshold_at_fpr(normal_scores, fpr: float = 0.01) -> float:
    """The score above which at most `fpr` of the normal (validation) examples fall."""
    if not 0 < fpr < 1:
        raise UserError(f"--fpr must be between 0 and 1, got {fpr}")
    normal_scores = np.sort(np.asarray(normal_scores, np.float64).ravel())
    if normal_scores.size == 0:
        raise UserError("no normal validation examples to set a threshold on")
    allowed = int(np.floor(fpr * len(normal_scores)))  # how many normals may lie above the threshold
    return float(normal_scores[len(normal_scores) - 1 - allowed])


def f1_best_threshold(labels, scores) -> float:
    """The threshold (flag `score > t`) with the highest F1 on these labelled examples."""
    labels, scores = _check(labels, scores)
    candidates = np.unique(scores)
    # flag score > t: test every distinct score and one below the smallest (flag everything)
    candidates = np.concatenate([[candidates[0] - 1.0], candidates[:-1]]) if len(candidates) > 1 else candidates - 1
    best, best_f1 = float(candidates[0]), -1.0
    positives = labels.sum()
    for t in candidates:
        flagged = scores > t
        tp = np.count_nonzero(flagged & (labels == 1))
        f1 = 2 * tp / (flagged.sum() + positives) if (flagged.sum() + positives) else 0.0
        if f1 > best_f1:
            best, best_f1 = float(t), f1
    return best


def at_threshold(labels, scores, threshold: float) -> dict:
    """Precision, recall, F1 and false-positive rate when `score > threshold` is flagged."""
    labels, scores = _check(labels, scores)
    flagged = scores > threshold
    tp = int(np.count_nonzero(flagged & (labels == 1)))
    fp = int(np.count_nonzero(flagged & (labels == 0)))
    fn = int(np.count_nonzero(~flagged & (labels == 1)))
    negatives = int(np.count_nonzero(labels == 0))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "threshold": float(threshold),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "false_positive_rate": fp / negatives if negatives else 0.0,
    }


def evaluate_method(val_labels, val_scores, test_labels, test_scores, fpr: float = 0.01) -> dict:
    """Thresholds chosen on validation, measured on test: the whole report for one method."""
    val_labels, val_scores = _check(val_labels, val_scores)
    at_fpr = threshold_at_fpr(val_scores[val_labels == 0], fpr)
    f1_best = f1_best_threshold(val_labels, val_scores)
    return {
        "roc_auc": roc_auc(test_labels, test_scores),
        "average_precision": average_precision(test_labels, test_scores),
        "at_fpr": at_threshold(test_labels, test_scores, at_fpr),
        "f1_best": at_threshold(test_labels, test_scores, f1_best),
    }


def one_class_split(labels, normal: int, seed: int = 0, fractions=(0.6, 0.2)):
    """Indices `(train, validation, test)`: train holds normal examples only (a `fractions[0]` share of
    them); validation and test split the remaining normals and all anomalies, stratified, by the seed."""
    labels = np.asarray(labels).ravel()
    rng = np.random.default_rng(seed)
    normal_idx = rng.permutation(np.flatnonzero(labels == normal))
    other_idx = rng.permutation(np.flatnonzero(labels != normal))
    if len(normal_idx) < 5:
        raise UserError(f"normal class {normal} has only {len(normal_idx)} examples; need at least 5")
    n_train = int(round(len(normal_idx) * fractions[0]))
    n_val = max(1, int(round(len(normal_idx) * fractions[1])))
    half = len(other_idx) // 2
    train = normal_idx[:n_train]
    validation = np.concatenate([normal_idx[n_train : n_train + n_val], other_idx[:half]])
    test = np.concatenate([normal_idx[n_train + n_val :], other_idx[half:]])
    return train, rng.permutation(validation), rng.permutation(test)
