"""Anomaly detection by reconstruction error; `scores` holds the scores, thresholds and metrics.

The classical scores it is compared with live in `keras_ae.measure.baselines.anomaly_scores`."""

from keras_ae.anomaly.scores import (
    METHODS,
    SCORE_ENDPOINT,
    THRESHOLD_FILE,
    at_threshold,
    average_precision,
    evaluate_method,
    export_endpoints,
    f1_best_threshold,
    model_scale,
    one_class_split,
    reconstruction_errors,
    roc_auc,
    score_model,
    threshold_at_fpr,
)

__all__ = [
    "METHODS",
    "SCORE_ENDPOINT",
    "THRESHOLD_FILE",
    "at_threshold",
    "average_precision",
    "evaluate_method",
    "export_endpoints",
    "f1_best_threshold",
    "model_scale",
    "one_class_split",
    "reconstruction_errors",
    "roc_auc",
    "score_model",
    "threshold_at_fpr",
]
