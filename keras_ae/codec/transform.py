"""Transform coding of bottleneck codes: turn them into decorrelated values that one step quantizes well.

An autoencoder's code values are correlated and the decoder listens to some directions far more than to
others; quantizing each raw value on its own wastes bits on both counts (the marginals are also close to
uniform, which leaves an entropy coder little to remove). The classical fix (JPEG's DCT, the KLT of
transform coding) is a linear change of basis before quantization:

1. `decoder_metric`: G (D x D), how far the decoded pixels move (mean square, 0-1 scale) for a small move of
   the code in any direction: |decode(c + e) - decode(c)|^2 ~ e^T G e, measured by finite differences
   through the decoder. Whitening by G^(1/2) makes rounding error cost the same picture error in every
   direction, so one uniform step is right for every value (a step of S moves the picture by about S RMS).
2. A KLT (the eigenvectors of the whitened codes' covariance, largest variance first): the values become
   uncorrelated and their variance piles into the first few, so the later ones round to zero and cost
   almost nothing; their marginals are also closer to a peaked bell than the raw codes' flat ones.

`Transform` keeps what the decoder needs, `code = mean + synthesis @ values` (synthesis D x K; K <= D, the
components that round to zero everywhere are dropped). The synthesis is stored as 8-bit integers with a
scale per column, to keep the header small (D*K + 4K bytes), and the encoder inverts that stored matrix
exactly, so both ends agree and the rounding of the matrix costs no fidelity beyond a slight tilt of the basis.
"""

from __future__ import annotations

import numpy as np

from keras_ae.codec.entropy import CorruptData

MAX_JACOBIAN_VALUES = 2**25  # samples x pixels x code size held at once (128 MiB of float32)


class Transform:
    """`values = analysis (code - mean)`, `code ~ mean + synthesis values`; synthesis (D, K), stored as
    int8 times a float32 scale per column.

    Only `mean` and `synthesis` are stored. The encoder's `analysis` is the least-squares inverse of the
    stored synthesis in the decoder's `metric` (the values whose decoding is nearest in pixels), or in plain
    code distance without one.
    """

    def __init__(self, mean, synthesis, metric=None):
        self.mean = np.asarray(mean, np.float32)
        synthesis = np.asarray(synthesis, np.float64)
        if self.mean.ndim != 1 or synthesis.ndim != 2 or synthesis.shape[0] != len(self.mean):
            raise ValueError("mean must be (D,) and synthesis (D, K)")
        self.scale = (np.maximum(np.abs(synthesis).max(axis=0, initial=0), 1e-30) / 127).astype(np.float32)
        self.integers = np.clip(np.rint(synthesis / self.scale), -127, 127).astype(np.int8)
        self.synthesis = self.integers * self.scale
        self.metric = metric
        self._analysis = None

    @property
    def analysis(self) -> np.ndarray:
        """(K, D), computed when first needed (a decoder never needs it)."""
        if self._analysis is None:
            basis = self.synthesis.astype(np.float64)
            if self.metric is None:
                self._analysis = np.linalg.pinv(basis)
            else:
                self._analysis = np.linalg.solve(basis.T @ self.metric @ basis, basis.T @ self.metric)
        return self._analysis

    @property
    def code_size(self) -> int:
        return len(self.mean)

    @property
    def size(self) -> int:
        """How many transformed values each code becomes (K)."""
        return self.synthesis.shape[1]

    @classmethod
    def fit(cls, codes: np.ndarray, metric: np.ndarray | None = None) -> Transform:
        """The metric-whitened KLT of example codes (N, D); without a `metric`, the plain KLT (PCA) of the codes."""
        codes = np.asarray(codes, np.float64)
        mean = codes.mean(axis=0)
        covariance = np.atleast_2d(np.cov(codes, rowvar=False))
        size = codes.shape[1]
        if metric is None:
            root, inverse_root = np.eye(size), np.eye(size)
        else:
            metric = np.asarray(metric, np.float64)
            metric = (metric + metric.T) / 2 + np.eye(size) * 1e-9 * max(np.trace(metric) / size, 1e-12)
            eigenvalues, vectors = np.linalg.eigh(metric)
            eigenvalues = np.maximum(eigenvalues, eigenvalues.max() * 1e-9)
            root = (vectors * np.sqrt(eigenvalues)) @ vectors.T
            inverse_root = (vectors / np.sqrt(eigenvalues)) @ vectors.T
        variances, basis = np.linalg.eigh(root @ covariance @ root)
        basis = basis[:, np.argsort(variances)[::-1]]
        basis *= np.where(basis[np.abs(basis).argmax(axis=0), range(size)] < 0, -1, 1)  # a fixed sign per vector
        return cls(mean, inverse_root @ basis, metric)

    def forward(self, codes: np.ndarray) -> np.ndarray:
        return ((np.asarray(codes, np.float64) - self.mean) @ self.analysis.T).astype(np.float32)

    def inverse(self, values: np.ndarray) -> np.ndarray:
        return (self.mean + np.asarray(values, np.float64) @ self.synthesis.T.astype(np.float64)).astype(np.float32)

    def keep(self, components) -> Transform:
        """The same transform with only some of its components (the others are taken to be zero)."""
        return Transform(self.mean, self.synthesis[:, list(components)], self.metric)

    def to_bytes(self) -> bytes:
        return self.mean.astype("<f4").tobytes() + self.scale.astype("<f4").tobytes() + self.integers.tobytes()

    @classmethod
    def from_bytes(cls, data: bytes, code_size: int, size: int) -> Transform:
        if len(data) != cls.nbytes(code_size, size):
            raise CorruptData(f"transform of {len(data)} bytes, expected {cls.nbytes(code_size, size)}")
        mean = np.frombuffer(data[: 4 * code_size], "<f4")
        scale = np.frombuffer(data[4 * code_size : 4 * (code_size + size)], "<f4")
        integers = np.frombuffer(data[4 * (code_size + size) :], np.int8).reshape(code_size, size)
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(scale)) and np.all(scale > 0)):
            raise CorruptData("the transform holds values that are not finite and positive")
        return cls(mean, integers.astype(np.float64) * scale)

    @staticmethod
    def nbytes(code_size: int, size: int) -> int:
        return 4 * code_size + 4 * size + code_size * size

    def __repr__(self) -> str:
        return f"Transform(code_size={self.code_size}, size={self.size})"


def decoder_metric(decode, codes: np.ndarray, samples: int = 256, seed: int = 0) -> np.ndarray:
    """G (D, D): the decoded pixels' mean square change for a code move e is about e^T G e, around real codes.

    Finite differences of a tenth of each dimension's spread on up to `samples` codes: D + 1 decoder passes.
    The square roots of its diagonal are `quantize.decoder_sensitivity`.
    """
    codes = np.asarray(codes, np.float32)
    rng = np.random.default_rng(seed)
    base = np.asarray(decode(codes[:1]), np.float32).reshape(1, -1)
    samples = max(1, min(samples, len(codes), MAX_JACOBIAN_VALUES // (base.shape[1] * codes.shape[1])))
    sample = codes[rng.choice(len(codes), samples, replace=False)]
    delta = np.maximum(0.1 * codes.std(axis=0), 1e-3)
    base = np.asarray(decode(sample), np.float32).reshape(samples, -1)
    jacobian = np.empty((samples, base.shape[1], codes.shape[1]), np.float32)
    for d in range(codes.shape[1]):
        moved = sample.copy()
        moved[:, d] += delta[d]
        jacobian[:, :, d] = (np.asarray(decode(moved), np.float32).reshape(samples, -1) - base) / delta[d]
    flat = jacobian.reshape(-1, codes.shape[1]).astype(np.float64)
    return flat.T @ flat / len(flat)
