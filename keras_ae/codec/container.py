"""The `.kae` file: a header that says everything needed to decode, the entropy-coded codes, a checksum.

Layout (little-endian; docs/kae_format.md has the full table):

    magic "\\x89KAE\\r\\n\\x1a\\n" | version u8 | header length u32 | header | payload length u32 | payload | CRC-32

Version 2 adds the kind of probability model (histogram or Gaussian) and a linear transform of the codes
(`transform.Transform`) to the header; version 3 adds the bit depth of the images (8 or 16, per image), so
16-bit inputs come back as 16-bit PNGs. The writer picks the oldest version that holds the archive (1 when
it needs none of these, 2 for 8-bit images, 3 once one image is 16-bit), so older readers open what they
can, and this reader opens all three (versions 1 and 2 hold 8-bit images).

The CRC-32 covers every byte before it, so a flipped byte anywhere, a truncation or an appended tail is
caught before anything is decoded. Every size in the header is bounded before anything is allocated, so a
forged header (with a correct checksum) cannot ask for gigabytes; and before the file names are read, the
payload must be large enough to hold the codes the header claims (`entropy.check_payload_size`), so a
5 KB file cannot make the reader list millions of names.
"""

from __future__ import annotations

import lzma
import re
import struct
import zlib
from dataclasses import dataclass

import numpy as np

from keras_ae.codec.entropy import CODERS, MODELS, CodeModel, CorruptData, check_payload_size
from keras_ae.codec.transform import Transform

MAGIC = b"\x89KAE\r\n\x1a\n"
VERSION = 3  # the newest: version 2 plus the bit depths; version 1 is 2 without the model kind and transform
VERSIONS = (1, 2, 3)
DEPTHS = (8, 16)  # bits per sample an archive's images come back with
MAX_IMAGES = 2**22
MAX_PIXELS = 2**26  # values per image (H * W * C)
MAX_CODE_SIZE = 65_535
MAX_VALUES = 2**26  # images x code size: the decoded symbols stay under 256 MiB
MAX_TABLE = 2**24  # code size x levels
MAX_NAME_BYTES = 1_024
MAX_NAMES_BYTES = 2**26
_PREFIX = struct.Struct("<8sBI")  # magic, version, header length
_FIXED = struct.Struct("<32sIHHBHBH")  # fingerprint, count, height, width, channels, code size, coder, levels
_LZMA_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}]


@dataclass
class Header:
    fingerprint: str  # sha256 hex of the model that wrote the archive
    shape: tuple[int, int, int]  # (height, width, channels) of every image
    names: list[str]  # original file names, in order
    coder: str
    levels: int
    offset: np.ndarray  # (code size,) float32, the quantizer's grid
    step: np.ndarray
    table: bytes  # the probability model (CodeModel.to_bytes), empty for coders that need none
    transform: Transform | None = None  # version 2: codes = transform.inverse(dequantized values)
    model: str = "histogram"  # version 2: what the table holds (entropy.MODELS)
    bits: list[int] | None = None  # version 3: each image's bit depth (DEPTHS); None: all 8-bit

    @property
    def depths(self) -> list[int]:
        """The bit depth each image was compressed from, and is decompressed to."""
        return [8] * self.count if self.bits is None else list(self.bits)

    @property
    def count(self) -> int:
        return len(self.names)

    @property
    def size(self) -> int:
        """Quantized values per image (K): the code size, or the transform's output size."""
        return len(self.offset)

    @property
    def code_size(self) -> int:
        """Values per code of the model that wrote the archive (D)."""
        return len(self.offset) if self.transform is None else self.transform.code_size


def pack(header: Header, payload: bytes) -> bytes:
    """The whole archive as bytes."""
    names = _pack_names(header.names)
    height, width, channels = header.shape
    depths = header.depths
    if len(depths) != header.count or not set(depths) <= set(DEPTHS):
        raise ValueError(f"bit depths must be one of {DEPTHS} per image")
    version = 3 if 16 in depths else 1 if header.transform is None and header.model == "histogram" else 2
    extension = b""  # version 2: model kind u8, transform size K u16 (0: none), the transform
    if version >= 2:
        extension = struct.pack("<BH", MODELS.index(header.model), 0 if header.transform is None else header.size)
        if header.transform is not None:
            if header.transform.size != header.size:
                raise ValueError("the transform's output size differs from the quantizer's")
            extension += header.transform.to_bytes()
    if version >= 3:
        extension += _pack_depths(depths)
    body = b"".join(
        [
            _FIXED.pack(
                bytes.fromhex(header.fingerprint),
                header.count,
                height,
                width,
                channels,
                header.code_size,
                CODERS.index(header.coder),
                header.levels - 1,
            ),
            extension,
            np.asarray(header.offset, "<f4").tobytes(),
            np.asarray(header.step, "<f4").tobytes(),
            struct.pack("<I", len(header.table)),
            header.table,
            struct.pack("<I", len(names)),
            names,
        ]
    )
    data = _PREFIX.pack(MAGIC, version, len(body)) + body + struct.pack("<I", len(payload)) + payload
    return data + struct.pack("<I", zlib.crc32(data))


def unpack(data: bytes, check_payload: bool = False) -> tuple[Header, bytes]:
    """Check and split an archive; `CorruptData` (one line, without the file name) for anything wrong.
    With `check_payload`, refuse a payload too small for the codes the header claims before reading names."""
    if len(data) < len(MAGIC) or data[: len(MAGIC)] != MAGIC:
        raise CorruptData("not a .kae archive (wrong magic bytes)")
    if len(data) < _PREFIX.size:
        raise CorruptData("truncated (ends inside the header)")
    _, version, header_length = _PREFIX.unpack_from(data)
    if version not in VERSIONS:
        raise CorruptData(
            f"archive format version {version}; this keras-ae reads versions {', '.join(map(str, VERSIONS))}"
        )
    if len(data) < _PREFIX.size + header_length + 8:
        raise CorruptData(f"truncated ({len(data)} bytes; the header alone needs {_PREFIX.size + header_length + 8})")
    (checksum,) = struct.unpack_from("<I", data, len(data) - 4)
    if zlib.crc32(data[:-4]) != checksum:
        raise CorruptData("checksum mismatch: the file is damaged or truncated")
    body = memoryview(data)[_PREFIX.size : _PREFIX.size + header_length]
    payload_at = _PREFIX.size + header_length
    (payload_length,) = struct.unpack_from("<I", data, payload_at)
    if payload_at + 4 + payload_length + 4 != len(data):
        raise CorruptData("payload length does not match the file size")
    return _read_header(body, version, payload_length if check_payload else None), bytes(
        data[payload_at + 4 : payload_at + 4 + payload_length]
    )


def _read_header(body: memoryview, version: int = VERSION, payload_length: int | None = None) -> Header:
    reader = _Reader(body)
    fingerprint, count, height, width, channels, size, coder, levels = reader.unpack(_FIXED)
    levels += 1
    if not 0 < count <= MAX_IMAGES:
        raise CorruptData(f"header claims {count} images (at most {MAX_IMAGES:,})")
    if not (height and width and channels in (1, 3, 4)) or height * width * channels > MAX_PIXELS:
        raise CorruptData(f"header claims absurd image shape {height}x{width}x{channels}")
    if not 0 < size <= MAX_CODE_SIZE or size * levels > MAX_TABLE or levels < 2:
        raise CorruptData(f"header claims absurd code size {size} x {levels} levels")
    if count * size > MAX_VALUES:
        raise CorruptData(f"header claims {count} codes of {size} values (at most {MAX_VALUES:,} values)")
    if coder >= len(CODERS):
        raise CorruptData(f"unknown entropy coder {coder}")
    transform, model = None, 0
    if version >= 2:
        model, values = reader.unpack(struct.Struct("<BH"))
        if model >= len(MODELS):
            raise CorruptData(f"unknown probability model {model}")
        if values:
            if values > size or values * size > MAX_TABLE:
                raise CorruptData(f"header claims a transform of {size} code values to {values}")
            transform = Transform.from_bytes(reader.take(Transform.nbytes(size, values)), size, values)
            size = values
    bits = _read_depths(reader, count) if version >= 3 else None
    offset = np.frombuffer(reader.take(4 * size), "<f4").astype(np.float32)
    step = np.frombuffer(reader.take(4 * size), "<f4").astype(np.float32)
    if not (np.all(np.isfinite(offset)) and np.all(np.isfinite(step)) and np.all(step > 0)):
        raise CorruptData("quantization grid is not finite and positive")
    table = reader.take(reader.unpack(struct.Struct("<I"))[0])
    if payload_length is not None:
        code_model = CodeModel.from_bytes(table, size, levels, MODELS[model]) if CODERS[coder] == "ans" else None
        check_payload_size(payload_length, count, size, levels, code_model, CODERS[coder])
    names = _read_names(reader.take(reader.unpack(struct.Struct("<I"))[0]), count)
    if reader.left:
        raise CorruptData(f"{reader.left} unexplained bytes at the end of the header")
    return Header(
        fingerprint.hex(), (height, width, channels), names, CODERS[coder], levels, offset, step, table, transform,
        MODELS[model], bits,
    )  # fmt: skip


def _pack_depths(depths: list[int]) -> bytes:
    """Version 3's bit depths: u8 8 or 16 when every image has it; else 0, then one bit per image (LSB
    first, set: 16-bit)."""
    if len(set(depths)) == 1:
        return struct.pack("<B", depths[0])
    return b"\0" + np.packbits(np.asarray(depths) == 16, bitorder="little").tobytes()


def _read_depths(reader: _Reader, count: int) -> list[int]:
    (depth,) = reader.unpack(struct.Struct("<B"))
    if depth in DEPTHS:
        return [depth] * count
    if depth:
        raise CorruptData(f"header claims images of {depth} bits (8 or 16)")
    wide = np.unpackbits(np.frombuffer(reader.take((count + 7) // 8), np.uint8), count=count, bitorder="little")
    return np.where(wide.astype(bool), 16, 8).tolist()


_NUMBERED = re.compile(r"^(.*?)(\d+)(\D*)$")


def _pack_names(names: list[str]) -> bytes:
    """Numbered names (`scan_0007.png`, `scan_0008.png`, ...) as one pattern; any other list through LZMA."""
    first = _NUMBERED.match(names[0])
    if first:
        prefix, number, suffix = first.groups()
        pattern = "\n".join([prefix, suffix, number, str(len(number))])
        if names == _numbered(prefix, suffix, int(number), len(number), len(names)):
            return b"\x01" + pattern.encode()
    return b"\x00" + lzma.compress("\n".join(names).encode(), format=lzma.FORMAT_RAW, filters=_LZMA_FILTERS)


def _numbered(prefix: str, suffix: str, start: int, digits: int, count: int) -> list[str]:
    return [f"{prefix}{start + i:0{digits}d}{suffix}" for i in range(count)]


def _read_names(data: bytes, count: int) -> list[str]:
    limit = min(count * (MAX_NAME_BYTES + 1), MAX_NAMES_BYTES)
    try:
        if data[:1] == b"\x01":
            prefix, suffix, start, digits = data[1:].decode().split("\n")
            if not (start.isdigit() and digits.isdigit() and int(digits) <= 20 and len(start) <= 20):
                raise CorruptData("numbered file names have a bad pattern")
            names = _numbered(prefix, suffix, int(start), int(digits), count)
        elif data[:1] == b"\x00":
            decompressor = lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=_LZMA_FILTERS)
            text = decompressor.decompress(data[1:], max_length=limit + 1).decode()
            if len(text) > limit:
                raise CorruptData("file names are longer than the header allows")
            names = text.split("\n")
        else:
            raise CorruptData("unknown file-name encoding")
    except (lzma.LZMAError, UnicodeDecodeError, ValueError) as error:
        raise CorruptData(f"file names do not decode ({error})") from None
    if len(names) != count:
        raise CorruptData(f"header lists {len(names)} file names for {count} images")
    for name in names:
        if not safe_name(name):
            raise CorruptData(f"unsafe file name {name!r} in the archive")
    if len(set(names)) != len(names):
        raise CorruptData("the archive names one file twice")
    return names


def safe_name(name: str) -> bool:
    """A plain file name: no folders, no `..`, nothing that could write outside the output folder."""
    return (
        0 < len(name.encode()) <= MAX_NAME_BYTES
        and name not in (".", "..")
        and not any(c in name for c in "/\\\0\n")
        and name.isprintable()
    )


class _Reader:
    def __init__(self, data: memoryview):
        self.data, self.at = data, 0

    @property
    def left(self) -> int:
        return len(self.data) - self.at

    def take(self, n: int) -> bytes:
        if n > self.left:
            raise CorruptData("header is shorter than its fields")
        chunk = bytes(self.data[self.at : self.at + n])
        self.at += n
        return chunk

    def unpack(self, layout: struct.Struct):
        return layout.unpack(self.take(layout.size))
