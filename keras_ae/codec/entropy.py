"""Entropy coding of quantized codes: each dimension's symbols cost about their entropy, not a fixed width.

The probability model (`CodeModel`) is, per code dimension, either a histogram of example symbols (counts in
the header: any shape, but the table costs bytes) or a Gaussian of their mean and standard deviation (two
float16 numbers per dimension: transformed codes are close to bell-shaped, and then it costs fewer bits in
all); `CodeModel.fit_best` keeps whichever makes the smaller file. Three coders share one interface,
`encode(symbols, levels, model, coder)` -> bytes and `decode(...)` -> symbols:

- `ans`: asymmetric numeral systems with the fitted model (the `constriction` package); costs within
  a fraction of a percent of the model's cross-entropy.
- `lzma`: the symbols, dimension by dimension, through LZMA (no model needed; the fallback when
  `constriction` is not installed).
- `raw`: fixed-length codes, ceil(log2(levels)) bits per value: the yardstick the other two must beat.

Symbols are laid out dimension-major (all images' first value, then all second values, ...), so that a
dimension's values sit together for LZMA, and ANS switches models only D times.
"""

from __future__ import annotations

import importlib.util
import lzma
import math

import numpy as np

from keras_ae.errors import UserError

CODERS = ("ans", "lzma", "raw")
MODELS = ("histogram", "gaussian")
MAX_COUNT = 127  # one byte per count; coarser counts cost under 0.1% of the payload
GAUSSIAN_TOTAL = 2**16  # a Gaussian becomes integer counts summing to about this: the same on every machine
MIN_STD = 0.3  # in steps: narrower Gaussians are not worth the risk of one surprising symbol
_LZMA_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}]


class CorruptData(Exception):
    """The bytes do not decode to what the header promised (raised inside the codec; callers add the file name)."""


def default_coder() -> str:
    return "ans" if importlib.util.find_spec("constriction") else "lzma"


def check_coder(coder: str) -> str:
    if coder not in CODERS:
        raise UserError(f"--coder must be one of {', '.join(CODERS)}, got '{coder}'")
    if coder == "ans" and importlib.util.find_spec("constriction") is None:
        raise UserError("--coder ans needs the constriction package: pip install constriction (or use --coder lzma)")
    return coder


class CodeModel:
    """Per-dimension symbol counts (D, levels); probabilities are the counts plus a tenth, normalised (so a
    symbol never seen in fitting stays encodable, at a price). A Gaussian model keeps its (mean, std) per
    dimension in symbols (`params`, float16) and turns them into counts by one fixed integer rounding."""

    def __init__(self, counts, kind: str = "histogram", params=None):
        self.counts = np.asarray(counts, np.int64)
        self.kind = kind
        self.params = params

    @classmethod
    def fit_gaussian(cls, symbols: np.ndarray, levels: int) -> CodeModel:
        symbols = np.asarray(symbols, np.float64)
        params = np.stack([symbols.mean(axis=0), np.maximum(symbols.std(axis=0), MIN_STD)], axis=1)
        return cls.from_gaussian(params.astype(np.float16), levels)

    @classmethod
    def from_gaussian(cls, params, levels: int) -> CodeModel:
        params = np.asarray(params, np.float16)
        mean, std = params[:, :1].astype(np.float64), params[:, 1:].astype(np.float64)
        weights = np.exp(-0.5 * ((np.arange(levels) - mean) / std) ** 2)
        counts = np.floor(GAUSSIAN_TOTAL * weights / np.maximum(weights.sum(axis=1, keepdims=True), 1e-300))
        return cls(counts.astype(np.int64), "gaussian", params)

    @classmethod
    def fit_best(cls, symbols: np.ndarray, levels: int) -> CodeModel:
        """The histogram or the Gaussian, whichever costs fewer bits with its own table counted."""
        models = [cls.fit(symbols, levels), cls.fit_gaussian(symbols, levels)]
        return min(models, key=lambda m: m.bits_per_value(symbols) * np.asarray(symbols).size + 8 * len(m.to_bytes()))

    @classmethod
    def fit(cls, symbols: np.ndarray, levels: int) -> CodeModel:
        symbols = np.asarray(symbols)
        counts = np.stack([np.bincount(column, minlength=levels)[:levels] for column in symbols.T])
        peak = counts.max(initial=1)
        if peak > MAX_COUNT:  # scale down, keeping every seen symbol's count above zero
            counts = np.where(counts > 0, np.maximum(1, counts * MAX_COUNT // peak), 0)
        return cls(counts)

    def probabilities(self, dimension: int) -> np.ndarray:
        counts = self.counts[dimension].astype(np.float64) + 0.1
        return counts / counts.sum()

    def to_bytes(self) -> bytes:
        """Histogram: LEB128 varints of the counts, through LZMA (a few hundred bytes for a 32 x 16 table).
        Gaussian: (mean, std) per dimension as float16 (4 bytes per dimension)."""
        if self.kind == "gaussian":
            return np.asarray(self.params, "<f2").tobytes()
        return lzma.compress(_varints(self.counts.ravel()), format=lzma.FORMAT_RAW, filters=_LZMA_FILTERS)

    @classmethod
    def from_bytes(cls, data: bytes, size: int, levels: int, kind: str = "histogram") -> CodeModel:
        if kind == "gaussian":
            if len(data) != 4 * size:
                raise CorruptData(f"Gaussian model of {len(data)} bytes, expected {4 * size}")
            params = np.frombuffer(data, "<f2").reshape(size, 2)
            if not (np.all(np.isfinite(params)) and np.all(params[:, 1] >= MIN_STD / 2)):
                raise CorruptData("Gaussian model holds a bad mean or standard deviation")
            return cls.from_gaussian(params, levels)
        values = _unvarints(_unlzma(data, 3 * size * levels), size * levels)
        if values.max(initial=0) > MAX_COUNT:
            raise CorruptData("probability table holds an impossible count")
        return cls(values.reshape(size, levels))

    def bits_per_value(self, symbols: np.ndarray) -> float:
        """Cross-entropy of `symbols` under this model, in bits per value (what `ans` will cost)."""
        total = 0.0
        for d, column in enumerate(np.asarray(symbols).T):
            total -= np.log2(self.probabilities(d)[column]).sum()
        return total / max(1, np.asarray(symbols).size)


def encode(symbols: np.ndarray, levels: int, model: CodeModel | None, coder: str) -> bytes:
    """(N, D) integer symbols in `0 .. levels-1` -> bytes."""
    symbols = np.ascontiguousarray(np.asarray(symbols, np.int32).T)  # dimension-major
    if coder == "raw":
        width = max(1, math.ceil(math.log2(levels)))
        bits = (symbols.ravel()[:, None] >> np.arange(width - 1, -1, -1)) & 1
        return np.packbits(bits.astype(np.uint8).ravel()).tobytes()
    if coder == "lzma":
        dtype = np.uint8 if levels <= 256 else np.uint16
        return lzma.compress(symbols.astype(dtype).tobytes(), format=lzma.FORMAT_RAW, filters=_LZMA_FILTERS)
    import constriction

    ans = constriction.stream.stack.AnsCoder()
    for d in reversed(range(len(symbols))):  # a stack: encode backwards, decode forwards
        ans.encode_reverse(symbols[d], _categorical(model, d))
    return ans.get_compressed().astype("<u4").tobytes()


LZMA_MAX_RATIO = 8_000  # LZMA2 never packs more than ~7,000 bytes into one (measured: 64 MiB of zeros, 6,821:1)


def check_payload_size(nbytes: int, count: int, size: int, levels: int, model: CodeModel | None, coder: str):
    """`CorruptData` if `nbytes` of payload cannot hold `count` x `size` symbols, before anything is decoded:
    raw codes have an exact size; LZMA packs at most `LZMA_MAX_RATIO` to one; ANS spends at least
    -log2(p) bits on a symbol of probability p, so at least the most likely symbol's cost per value (less
    the coder's 64-bit state and a margin for its rounded probabilities)."""
    total = count * size
    if coder == "raw":
        least = math.ceil(total * max(1, math.ceil(math.log2(levels))) / 8)
    elif coder == "lzma":
        dtype_size = 1 if levels <= 256 else 2
        least = (total * dtype_size - 65_536) / LZMA_MAX_RATIO
    else:
        if model is None:
            return
        bits = sum(-math.log2(model.probabilities(d).max()) for d in range(size)) * count
        least = (0.99 * bits - 64) / 8
    if nbytes < least:
        raise CorruptData(
            f"the header claims {count:,} images of {size} values, more than {nbytes:,} bytes of {coder} "
            f"payload can hold (at least {math.ceil(least):,})"
        )


def decode(data: bytes, count: int, size: int, levels: int, model: CodeModel | None, coder: str) -> np.ndarray:
    """bytes -> (count, size) symbols; `CorruptData` if the bytes are not exactly such a stream (or too few
    for what the header claims: `check_payload_size`)."""
    check_payload_size(len(data), count, size, levels, model, coder)
    total = count * size
    if coder == "raw":
        width = max(1, math.ceil(math.log2(levels)))
        if len(data) != math.ceil(total * width / 8):
            raise CorruptData(f"payload of {len(data)} bytes, expected {math.ceil(total * width / 8)}")
        bits = np.unpackbits(np.frombuffer(data, np.uint8))[: total * width].reshape(total, width)
        symbols = (bits.astype(np.int32) << np.arange(width - 1, -1, -1)).sum(axis=1)
    elif coder == "lzma":
        dtype = np.dtype(np.uint8 if levels <= 256 else "<u2")
        raw = _unlzma(data, total * dtype.itemsize)
        if len(raw) != total * dtype.itemsize:
            raise CorruptData(f"payload holds {len(raw) // dtype.itemsize} values, expected {total}")
        symbols = np.frombuffer(raw, dtype).astype(np.int32)
    else:
        import constriction

        if len(data) % 4:
            raise CorruptData("ANS payload is not a whole number of 32-bit words")
        words = np.frombuffer(data, "<u4").astype(np.uint32)
        try:
            ans = constriction.stream.stack.AnsCoder(words)
            columns = [np.asarray(ans.decode(_categorical(model, d), count)) for d in range(size)]
            leftover = not ans.is_empty()
        except BaseException as error:  # a Rust panic (pyo3's PanicException) is not an Exception
            if isinstance(error, (KeyboardInterrupt, SystemExit)):
                raise
            raise CorruptData(f"ANS stream does not decode ({error})") from None
        if leftover:
            raise CorruptData("ANS stream holds more data than the header's images")
        symbols = np.concatenate(columns) if columns else np.zeros(0, np.int32)
    symbols = np.asarray(symbols, np.int32).reshape(size, count).T
    if symbols.size and symbols.max() >= levels:
        raise CorruptData(f"a symbol exceeds the {levels} quantization levels")
    return symbols


def _categorical(model: CodeModel, dimension: int):
    import constriction

    return constriction.stream.model.Categorical(model.probabilities(dimension), perfect=False)


def _varints(values: np.ndarray) -> bytes:
    out = bytearray()
    for value in values.tolist():
        while value >= 0x80:
            out.append((value & 0x7F) | 0x80)
            value >>= 7
        out.append(value)
    return bytes(out)


def _unvarints(data: bytes, count: int) -> np.ndarray:
    values, value, shift = [], 0, 0
    for byte in data:
        value |= (byte & 0x7F) << shift
        shift += 7
        if shift > 21:
            raise CorruptData("probability table holds an over-long number")
        if not byte & 0x80:
            values.append(value)
            value, shift = 0, 0
    if shift or len(values) != count:
        raise CorruptData(f"probability table holds {len(values)} counts, expected {count}")
    return np.asarray(values, np.int64)


def _unlzma(data: bytes, limit: int) -> bytes:
    """Decompress at most `limit` bytes (plus one, to notice excess): a forged stream cannot exhaust memory."""
    decompressor = lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=_LZMA_FILTERS)
    try:
        raw = decompressor.decompress(data, max_length=limit + 1)
    except lzma.LZMAError as error:
        raise CorruptData(f"LZMA stream does not decode ({error})") from None
    if len(raw) > limit or not decompressor.eof or decompressor.unused_data:
        raise CorruptData("LZMA stream is longer or shorter than the header promises")
    return raw
