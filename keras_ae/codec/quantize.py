"""Per-dimension uniform quantization of bottleneck codes: floats -> small integers and back.

Each code dimension has its own range, so a dimension that varies little does not waste levels on values it
never takes. Two ways to choose the grid:

- `bits`: 2**bits levels spread over each dimension's range (the fixed-length view);
- `step`: the natural knob once symbols are entropy-coded. Each dimension's step is `step / sensitivity`,
  where the sensitivity says how far the decoded pixels move (RMS, 0-1 scale) per unit of that code value
  (`decoder_sensitivity`). So every dimension's rounding moves the picture by about the same amount, which
  for entropy-coded uniform quantizers is the allocation that minimises squared error at a given rate:
  dimensions the decoder barely listens to get coarse steps and cost almost nothing. Without a
  sensitivity, `step` is in standard deviations of each dimension.
"""

from __future__ import annotations

import math

import numpy as np

from keras_ae.errors import UserError

MAX_LEVELS = 4096


class Quantizer:
    """`symbol = round((code - offset) / step)` clipped to `0 .. levels-1`, per dimension."""

    def __init__(self, offset, step, levels: int):
        self.offset = np.asarray(offset, np.float32)
        self.step = np.asarray(step, np.float32)
        self.levels = int(levels)
        if self.offset.shape != self.step.shape or self.offset.ndim != 1:
            raise ValueError("offset and step must be vectors of the same length")

    @property
    def size(self) -> int:
        return len(self.offset)

    @classmethod
    def fit(
        cls, codes: np.ndarray, bits: int | None = None, step: float | None = None, sensitivity=None, zero_centred=False
    ) -> Quantizer:
        """Choose the grid from example codes (N, D): either `bits` per value or a `step` (see the module).

        `zero_centred` (with `step`): the grid holds 0, so values that all round to 0 decode to exactly 0
        (the grid for transformed values, whose mean is 0).
        """
        codes = np.asarray(codes, np.float64)
        if codes.ndim != 2 or len(codes) == 0:
            raise UserError("quantization needs at least one code vector")
        if (bits is None) == (step is None):
            raise UserError("give either --bits or --step")
        low, high = codes.min(axis=0), codes.max(axis=0)
        spread = np.maximum(high - low, 1e-6)
        if bits is not None:
            if not 1 <= bits <= 8:
                raise UserError(f"--bits must be between 1 and 8, got {bits}")
            levels = 2**bits
            widths = spread / (levels - 1)
        else:
            if not step > 0:
                raise UserError(f"--step must be positive, got {step}")
            if sensitivity is None:
                sensitivity = 1.0 / np.maximum(codes.std(axis=0), 1e-6)
            widths = np.clip(step / np.maximum(np.asarray(sensitivity, np.float64), 1e-9), 1e-6, None)
            if zero_centred:
                first = np.rint(low / widths)
                levels = int(np.max(np.rint(high / widths) - first)) + 1
                low = first * widths
            else:
                levels = int(np.max(np.ceil(spread / widths))) + 1
            if levels > MAX_LEVELS:
                raise UserError(f"--step {step} needs {levels} levels per value; the most is {MAX_LEVELS}")
        return cls(low, widths, levels)

    def quantize(self, codes: np.ndarray) -> np.ndarray:
        symbols = np.rint((np.asarray(codes, np.float32) - self.offset) / self.step)
        return np.clip(symbols, 0, self.levels - 1).astype(np.int32)

    def dequantize(self, symbols: np.ndarray) -> np.ndarray:
        return (self.offset + np.asarray(symbols, np.float32) * self.step).astype(np.float32)

    @property
    def bits(self) -> int:
        """Bits per value of a fixed-length code for these levels."""
        return max(1, math.ceil(math.log2(self.levels)))

    def __repr__(self) -> str:
        return f"Quantizer(size={self.size}, levels={self.levels})"


def decoder_sensitivity(decode, codes: np.ndarray, samples: int = 256, seed: int = 0) -> np.ndarray:
    """How far the decoded pixels move (RMS) per unit of each code value, around real codes: (D,).

    A finite difference of a tenth of each dimension's spread, on up to `samples` codes: D + 1 decoder passes.
    """
    codes = np.asarray(codes, np.float32)
    rng = np.random.default_rng(seed)
    sample = codes[rng.choice(len(codes), min(samples, len(codes)), replace=False)]
    delta = np.maximum(0.1 * codes.std(axis=0), 1e-3)
    base = np.asarray(decode(sample), np.float64)
    sensitivity = np.empty(codes.shape[1])
    for d in range(codes.shape[1]):
        moved = sample.copy()
        moved[:, d] += delta[d]
        change = np.asarray(decode(moved), np.float64) - base
        sensitivity[d] = np.sqrt(np.mean(change**2)) / delta[d]
    return sensitivity
