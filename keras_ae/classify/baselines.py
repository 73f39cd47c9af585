"""The classical yardsticks for few-label classification: logistic regression on raw pixels, and on PCA codes.

PCA is fitted on the unlabeled images at the autoencoder's code width, so "PCA + logistic regression" is the
linear version of "autoencoder + head": if the autoencoder cannot beat it, its non-linearity has earned
nothing. The regularisation strength of both is chosen on the validation labels.
"""

from __future__ import annotations

import numpy as np

STRENGTHS = (0.01, 0.1, 1.0, 10.0)


def _flat(images) -> np.ndarray:
    images = np.asarray(images)
    return images.reshape(len(images), -1)


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
        from keras_ae.baselines import PCABaseline

        super().__init__(strengths, seed, standardize=True)
        self.pca = PCABaseline(components, seed=seed).fit(np.asarray(pool))

    def fit(self, x, y, val_x, val_y) -> PCALogisticRegression:
        return super().fit(self.pca.embed(x), y, self.pca.embed(val_x), val_y)

    def predict_proba(self, x) -> np.ndarray:
        return super().predict_proba(self.pca.embed(x))
