"""Classical baselines computed in the same run as the autoencoder, so every number has a yardstick.

PCA is the linear autoencoder: with `k` components it is the best any linear encoder/decoder pair of width `k`
can do in squared error. An autoencoder that does not beat it at equal width has not earned its non-linearity.
The same holds for classification ("PCA + logistic regression" is the linear "autoencoder + head") and for
anomaly scores (PCA reconstruction error of the same width, beside Isolation Forest and k-NN distance).
"""

from __future__ import annotations

import numpy as np

STRENGTHS = (0.01, 0.1, 1.0, 10.0)


def _flat(x) -> np.ndarray:
    x = np.asarray(x)
    return x.reshape(len(x), -1)


class PCABaseline:
    """PCA with `components` dimensions, fitted on training images, used as encoder + decoder.

    `clip=False` for unbounded data (standardised vectors); images are clipped to [0, 1]."""

    def __init__(self, components: int, seed: int = 0, clip: bool = True):
        from sklearn.decomposition import PCA

        self.pca = PCA(n_components=components, random_state=seed)
        self.shape = None
        self.clip = clip

    def fit(self, images: np.ndarray) -> PCABaseline:
        images = np.asarray(images)
        self.shape = images.shape[1:]
        components = max(1, min(self.pca.n_components, len(images), int(np.prod(self.shape))))
        self.pca.set_params(n_components=components)
        self.pca.fit(_flat(images))
        return self

    def embed(self, images: np.ndarray) -> np.ndarray:
        return self.pca.transform(_flat(images))

    def decode(self, codes: np.ndarray) -> np.ndarray:
        out = self.pca.inverse_transform(codes).reshape(len(codes), *self.shape)
        return out.clip(0.0, 1.0) if self.clip else out

    def reconstruct(self, images: np.ndarray) -> np.ndarray:
        return self.decode(self.embed(images))


# --- classification: logistic regression on pixels and on PCA codes -----------------------------------------


class LogisticRegression:
    """Multinomial logistic regression with C picked on validation accuracy.

    Pixels go in as they are (already in [0, 1]): standardising them with a hundred examples blows up the
    near-constant border pixels, and costs this baseline about 8 points on MNIST. Codes are standardised.
    """

    def __init__(self, strengths=STRENGTHS, seed: int = 0, standardize: bool = False):
        self.strengths, self.seed, self.standardize = strengths, seed, standardize

    def fit(self, x, y, val_x, val_y) -> LogisticRegression:
        from sklearn.linear_model import LogisticRegression as Logistic
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        best = None
        for strength in self.strengths:
            steps = [StandardScaler()] if self.standardize else []
            model = make_pipeline(*steps, Logistic(C=strength, max_iter=3000, random_state=self.seed))
            model.fit(_flat(x), y)
            score = float(np.mean(model.predict(_flat(val_x)) == np.asarray(val_y)))
            if best is None or score > best[0]:
                best = (score, strength, model)
        self.validation_accuracy, self.strength, self.model = best
        return self

    def predict_proba(self, x) -> np.ndarray:
        probabilities = self.model.predict_proba(_flat(x))
        full = np.zeros((len(probabilities), int(max(self.model.classes_)) + 1))
        full[:, self.model.classes_] = probabilities
        return full


class PCALogisticRegression(LogisticRegression):
    """PCA with `components` dimensions fitted on the unlabeled pool, then logistic regression on its codes."""

    def __init__(self, pool, components: int, strengths=STRENGTHS, seed: int = 0):
        super().__init__(strengths, seed, standardize=True)
        self.pca = PCABaseline(components, seed=seed).fit(np.asarray(pool))

    def fit(self, x, y, val_x, val_y) -> PCALogisticRegression:
        return super().fit(self.pca.embed(x), y, self.pca.embed(val_x), val_y)

    def predict_proba(self, x) -> np.ndarray:
        return super().predict_proba(self.pca.embed(x))


# --- anomaly scores: higher means "more anomalous" ----------------------------------------------------------


def anomaly_scores(train, evaluate: dict, components: int, seed: int = 0, k: int = 5) -> dict:
    """`{method: {split: scores}}` for Isolation Forest, PCA reconstruction error and k-NN distance, each
    fitted once on `train` (normal examples only)."""
    from sklearn.ensemble import IsolationForest
    from sklearn.neighbors import NearestNeighbors

    train = _flat(np.asarray(train, np.float64))
    forest = IsolationForest(n_estimators=200, random_state=seed).fit(train)
    pca = PCABaseline(components, seed=seed, clip=False).fit(train)
    neighbours = NearestNeighbors(n_neighbors=max(1, min(int(k), len(train)))).fit(train)
    out = {"isolation_forest": {}, "pca": {}, "knn": {}}
    for split, x in evaluate.items():
        x = _flat(np.asarray(x, np.float64))
        out["isolation_forest"][split] = -forest.score_samples(x)
        out["pca"][split] = np.mean((x - pca.reconstruct(x)) ** 2, axis=1)
        out["knn"][split] = neighbours.kneighbors(x)[0][:, -1]
    return out
