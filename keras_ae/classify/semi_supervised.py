"""Use the unlabeled images too: spread the few labels through code space, then train on the surest guesses.

Label spreading (Zhou et al., 2004) links every image to its nearest neighbours in the autoencoder's code
space and lets the labels flow along those links until they settle: images in a dense cluster around one
labelled digit all take its label. That already beats a head trained on the labelled codes alone, because it
uses the shape of the unlabeled data. Its most confident guesses, a fixed number per class, then serve as
pseudo-labels to train a network on thousands of images instead of a few dozen (self-training).
"""

from __future__ import annotations

import warnings

import numpy as np

UNLABELED = -1
SCALES = ("unit", "standard")  # neighbours by angle (codes scaled to unit length) or by standardised distance


class LabelSpreading:
    """Label spreading over a k-nearest-neighbour graph of the codes, scaled to unit length or standardised.

    `alpha` is how much of its label an image takes from its neighbours rather than keeping its own start
    (0: none, near 1: labels travel far). `fit(codes, labels)` takes every pool image's code and its label,
    or `UNLABELED`; `distributions` are then the pool's class probabilities, and `predict_proba(codes)` those
    of new images (through their neighbours).
    """

    def __init__(self, neighbors: int = 10, alpha: float = 0.8, scale: str = "unit", max_iter: int = 100):
        if scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
        self.neighbors, self.alpha, self.scale, self.max_iter = neighbors, alpha, scale, max_iter

    def _scaled(self, codes: np.ndarray) -> np.ndarray:
        codes = self.scaler.transform(codes) if self.scale == "standard" else np.asarray(codes, np.float64)
        if self.scale == "unit":
            codes = codes / np.maximum(np.linalg.norm(codes, axis=1, keepdims=True), 1e-12)
        return codes

    def fit(self, codes: np.ndarray, labels: np.ndarray, num_classes: int) -> LabelSpreading:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.preprocessing import StandardScaler
        from sklearn.semi_supervised import LabelSpreading as Spreading

        self.scaler = StandardScaler().fit(codes) if self.scale == "standard" else None
        self.model = Spreading(kernel="knn", n_neighbors=self.neighbors, alpha=self.alpha, max_iter=self.max_iter)
        with warnings.catch_warnings():  # an unfinished spread after max_iter still ranks the guesses well
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model.fit(self._scaled(codes), np.asarray(labels))
        self.num_classes = num_classes
        self.distributions = self._full(self.model.label_distributions_)
        return self

    def predict_proba(self, codes: np.ndarray) -> np.ndarray:
        return self._full(self.model.predict_proba(self._scaled(codes)))

    def _full(self, probabilities: np.ndarray) -> np.ndarray:
        """Columns for every class (scikit-learn keeps only the classes it has seen), rows summing to 1."""
        full = np.zeros((len(probabilities), self.num_classes))
        full[:, self.model.classes_] = np.nan_to_num(probabilities)
        total = full.sum(axis=1, keepdims=True)
        return np.where(total > 0, full / np.maximum(total, 1e-12), 1.0 / self.num_classes)


def top_per_class(probabilities: np.ndarray, count: int, exclude=None):
    """The `count` most confident images of each predicted class: `(indices, pseudo_labels)`.

    Taking a fixed number per class, rather than everything above a threshold, keeps the pseudo-labelled set
    balanced even when the model is more sure of easy classes (ones) than of hard ones (eights).
    """
    predicted = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    allowed = np.ones(len(probabilities), bool)
    if exclude is not None and len(exclude):
        allowed[np.asarray(exclude)] = False
    chosen = []
    for c in range(probabilities.shape[1]):
        candidates = np.flatnonzero((predicted == c) & allowed)
        chosen.append(candidates[np.argsort(-confidence[candidates], kind="stable")[:count]])
    indices = np.concatenate(chosen).astype(np.int64)
    return indices, predicted[indices].astype(np.int32)
