"""Numbers in, numbers out: the image-quality and embedding metrics every command reports.

PSNR is computed per image and then averaged (the convention of `tf.image.psnr`), with the data range 1.0.
"""

from __future__ import annotations

import numpy as np


def mse(reference: np.ndarray, estimate: np.ndarray) -> float:
    return float(np.mean((np.asarray(reference, np.float64) - np.asarray(estimate, np.float64)) ** 2))


def psnr(reference: np.ndarray, estimate: np.ndarray, max_value: float = 1.0) -> float:
    """Mean over images of 10·log10(max² / per-image MSE), in dB."""
    diff = np.asarray(reference, np.float64) - np.asarray(estimate, np.float64)
    per_image = np.mean(diff.reshape(len(diff), -1) ** 2, axis=1)
    return float(np.mean(10.0 * np.log10(max_value**2 / np.maximum(per_image, 1e-10))))


def ssim(reference: np.ndarray, estimate: np.ndarray, max_value: float = 1.0) -> float:
    """Mean structural similarity (tf.image.ssim); the Gaussian window shrinks to fit images under 11 px."""
    import tensorflow as tf

    reference = np.asarray(reference, np.float32)
    estimate = np.asarray(estimate, np.float32)
    if reference.ndim == 3:
        reference, estimate = reference[..., None], estimate[..., None]
    size = min(11, reference.shape[1], reference.shape[2])
    values = tf.image.ssim(
        tf.constant(reference),
        tf.constant(estimate),
        max_val=max_value,
        filter_size=size,
        filter_sigma=1.5 * size / 11,
    )
    return float(np.mean(values.numpy()))


def reconstruction_metrics(reference: np.ndarray, estimate: np.ndarray, prefix: str = "") -> dict:
    return {
        f"{prefix}mse": mse(reference, estimate),
        f"{prefix}psnr": psnr(reference, estimate),
        f"{prefix}ssim": ssim(reference, estimate),
    }


def knn_accuracy(train_features, train_labels, test_features, test_labels, k: int = 5) -> float:
    """Accuracy of a k-nearest-neighbour vote: do similar objects get nearby codes?"""
    from sklearn.neighbors import KNeighborsClassifier

    flat = lambda a: np.asarray(a).reshape(len(a), -1)  # noqa: E731
    classifier = KNeighborsClassifier(n_neighbors=min(k, len(train_features)))
    classifier.fit(flat(train_features), train_labels)
    return float(classifier.score(flat(test_features), test_labels))
