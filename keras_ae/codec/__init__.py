"""The `.kae` archiver: keep e(x) instead of x, quantized and entropy-coded, in a checked file format.

    from keras_ae import codec
    codec.compress(ae, files, "digits.kae", bits=5)       # images -> one archive
    codec.decompress(ae, "digits.kae", "restored/")        # -> PNGs with the original names

Modules: `quantize` (per-dimension grids), `transform` (the decoder-weighted KLT that decorrelates the codes
before quantizing: transform coding), `entropy` (probability model and coders), `container` (the
file layout, checksum and bounds), `archive` (files in, files out), `rate` (bytes against PSNR, beside JPEG,
WebP, PNG), `rounding` (uniform noise at the bottleneck while training, imported on its own: it needs Keras).
docs/kae_format.md describes the format.
"""

from keras_ae.codec.archive import (
    Codebook,
    Summary,
    archive_bytes,
    compress,
    decompress,
    encode_files,
    open_archive,
    read_archive,
    write_images,
)
from keras_ae.codec.container import MAGIC, VERSION, Header, pack, unpack
from keras_ae.codec.entropy import CODERS, CodeModel, CorruptData, default_coder
from keras_ae.codec.quantize import Quantizer
from keras_ae.codec.transform import Transform, decoder_metric

__all__ = [
    "CODERS",
    "MAGIC",
    "VERSION",
    "CodeModel",
    "Codebook",
    "CorruptData",
    "Header",
    "Quantizer",
    "Summary",
    "Transform",
    "archive_bytes",
    "compress",
    "decoder_metric",
    "decompress",
    "default_coder",
    "encode_files",
    "open_archive",
    "pack",
    "read_archive",
    "unpack",
    "write_images",
]
