"""Data sources -> `ImageData` (float32 images in [0, 1], labels, a seeded train/validation split).

    >>> data = keras_ae.data.load("mnist-5k")
    >>> data.shape, data.num_train, data.num_validation
    ((28, 28, 1), 4500, 500)

Specs: `mnist-5k`, `digits`, a folder of PNG/JPEG files, a `.npz`/`.npy` file, an MNIST-style
`*-idx3-ubyte[.gz]` file, or `tfds:NAME[:SPLIT]`.
"""

from __future__ import annotations

import os

from keras_ae.data import sources
from keras_ae.data.dataset import ImageData, from_arrays
from keras_ae.defaults import DEFAULT_DATASET
from keras_ae.errors import UserError


def load(
    spec: str = DEFAULT_DATASET, seed: int = 0, resize=None, data_dir: str | None = None, label_column=None
) -> ImageData:
    """Load the images a spec names; every problem is a one-line `UserError` naming the spec."""
    spec = str(spec)
    if spec in sources.BUILTIN:
        return sources.BUILTIN[spec](seed=seed)
    if spec.startswith("tfds:"):
        name, _, split = spec[len("tfds:") :].partition(":")
        return sources.tfds_source(name, split or "train", data_dir=data_dir, seed=seed)
    if os.path.isdir(spec):
        return sources.folder(spec, seed=seed, resize=resize)
    if os.path.isfile(spec):
        lower = spec.lower()
        if lower.endswith((".npz", ".npy")):
            return sources.numpy_file(spec, seed=seed)
        if lower.endswith(".csv"):
            from keras_ae.data.vectors import read_csv

            values, labels, _ = read_csv(spec, label_column)
            return from_arrays(spec, values, labels, seed=seed, kind="vectors")
        if "idx3-ubyte" in lower:
            return sources.idx_files(spec, seed=seed)
        raise UserError(f"--dataset {spec}: unknown file type (expected .npz, .npy, .csv or *-idx3-ubyte[.gz])")
    names = ", ".join(sources.BUILTIN)
    raise UserError(f"--dataset {spec}: no such built-in data set, folder or file (built-in: {names}; or tfds:NAME)")


def parse_size(text: str | None):
    """`--resize 32x32` -> (32, 32)."""
    if not text:
        return None
    try:
        height, width = (int(v) for v in text.lower().split("x"))
        if height < 1 or width < 1:
            raise ValueError
    except ValueError:
        raise UserError(f"--resize must look like HxW (e.g. 32x32), got '{text}'") from None
    return height, width


__all__ = ["DEFAULT_DATASET", "ImageData", "from_arrays", "load", "parse_size"]
