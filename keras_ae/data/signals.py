"""Synthetic 1-D signals with injected anomalies, for Conv1D autoencoders: built-in spec `signals`.

Normal windows are noisy sines of varying frequency, phase and amplitude. Anomalous ones are the same
with one fault injected: a spike, a dropout (a stretch of zeros) or a drift (a ramp away from the sine).
Everything follows from the seed, so a benchmark on it is repeatable.
"""

from __future__ import annotations

import numpy as np

FAULTS = ("spike", "dropout", "drift")


def generate(count: int = 2000, length: int = 128, anomaly_fraction: float = 0.2, seed: int = 0):
    """`(signals (count, length, 1) float32, labels (count,) int32 with 1 = anomalous, fault names)`."""
    rng = np.random.default_rng(seed)
    t = np.arange(length, dtype=np.float64)
    freq = rng.uniform(1.5, 4.0, size=(count, 1)) / length
    phase = rng.uniform(0, 2 * np.pi, size=(count, 1))
    amplitude = rng.uniform(0.8, 1.2, size=(count, 1))
    x = amplitude * np.sin(2 * np.pi * freq * t + phase) + rng.normal(0, 0.05, size=(count, length))
    labels = (rng.random(count) < anomaly_fraction).astype(np.int32)
    faults = np.array([""] * count, dtype=object)
    for i in np.flatnonzero(labels):
        fault = FAULTS[rng.integers(len(FAULTS))]
        faults[i] = fault
        start = int(rng.integers(0, max(1, length - length // 8)))
        if fault == "spike":
            x[i, start] += rng.choice([-1, 1]) * rng.uniform(2.0, 4.0)
        elif fault == "dropout":
            x[i, start : start + max(2, length // 8)] = 0.0
        else:
            ramp = np.clip(t - start, 0, None) / length
            x[i] += rng.choice([-1, 1]) * rng.uniform(1.5, 3.0) * ramp
    return x[..., None].astype(np.float32), labels, faults.astype(str)


def signals(seed: int = 0):
    """The built-in `signals` data set: 2,000 windows of 128 steps, a fifth of them anomalous."""
    from keras_ae.data.dataset import from_arrays

    x, labels, _ = generate(seed=0)  # the data is fixed; the seed only moves the split
    return from_arrays("signals", x, labels, seed=seed, class_names=["normal", "anomalous"], kind="signals")
