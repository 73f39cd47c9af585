"""`metadata.json`: what an app needs to call an export without reading keras-ae's code.

It records the input contract (shape, dtype, value range), the width of the code, every signature with
its tensor names and shapes per file, the versions that wrote it, and a sha256 per file, so that a copy
on a phone or a server can be checked against what was exported.
"""

from __future__ import annotations

import datetime
import hashlib
import os

FORMAT_VERSION = 1
FILE_NAME = "metadata.json"


def versions() -> dict:
    import importlib.metadata

    import keras
    import tensorflow as tf

    try:
        keras_ae_version = importlib.metadata.version("keras-ae")
    except importlib.metadata.PackageNotFoundError:  # running from a source tree that is not installed
        from keras_ae import __version__ as keras_ae_version
    return {"keras_ae": keras_ae_version, "tensorflow": tf.__version__, "keras": keras.__version__}


def sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_table(folder: str) -> dict:
    """`{relative/path: {"sha256", "bytes"}}` for every file under `folder` but metadata.json itself."""
    files = {}
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(root, name)
            relative = os.path.relpath(path, folder).replace(os.sep, "/")
            if relative == FILE_NAME:
                continue
            files[relative] = {"sha256": sha256(path), "bytes": os.path.getsize(path)}
    return files


def build(input_shape, code_size, folder: str, saved_model=None, tflite=None, info=None) -> dict:
    """The metadata of an export folder whose files are all written (`code_size` None: no bottleneck)."""
    return {
        "format_version": FORMAT_VERSION,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "input": {"shape": list(input_shape), "dtype": "float32", "range": [0.0, 1.0]},
        "code_size": code_size,
        "saved_model": saved_model,
        "tflite": tflite or {},
        "versions": versions(),
        "info": dict(info or {}),
        "files": file_table(folder),
    }
