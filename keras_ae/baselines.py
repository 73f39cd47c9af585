"""Classical baselines computed in the same run as the autoencoder, so every number has a yardstick.

PCA is the linear autoencoder: with `k` components it is the best any linear encoder/decoder pair of width `k`
can do in squared error. An autoencoder that does not beat it at equal width has not earned its non-linearity.
"""

from __future__ import annotations

import numpy as np


class PCABaseline:
    """PCA with `components` dimensions, fitted on training images, used as encoder + decoder."""

    def __init__(self, components: int, seed: int = 0):
        from sklearn.decomposition import PCA

        self.pca = PCA(n_components=components, random_state=seed)
        self.shape = None

    def fit(self, images: np.ndarray) -> PCABaseline:
        self.shape = images.shape[1:]
        components = min(self.pca.n_components, len(images), int(np.prod(self.shape)))
        self.pca.set_params(n_components=components)
        self.pca.fit(images.reshape(len(images), -1))
        return self

    def embed(self, images: np.ndarray) -> np.ndarray:
        return self.pca.transform(images.reshape(len(images), -1))

    def decode(self, codes: np.ndarray) -> np.ndarray:
        return self.pca.inverse_transform(codes).reshape(len(codes), *self.shape).clip(0.0, 1.0)

    def reconstruct(self, images: np.ndarray) -> np.ndarray:
        return self.decode(self.embed(images))
