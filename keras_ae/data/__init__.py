"""Data sources -> `ImageData` (float32 images in [0, 1], labels, a seeded train/validation split).

    >>> data = keras_ae.data.load("mnist-5k")
    >>> data.shape, data.num_train, data.num_validation
    ((28, 28, 1), 4500, 500)

Specs: `mnist-5k`, `digits`, a folder of PNG/JPEG files, a `.npz`/`.npy` file, an MNIST-style
`*-idx3-ubyte[.gz]` file, `tfds:NAME[:SPLIT]`, or `celeba:/path` (CelebA's official files, with attributes).
"""

from __future__ import annotations

import os

from keras_ae.data import sources
from keras_ae.data.dataset import ImageData, from_arrays
from keras_ae.defaults import DEFAULT_DATASET
from keras_ae.errors import UserError


def load(
    spec: str = DEFAULT_DATASET,
    seed: int = 0,
    resize=None,
    data_dir: str | None = None,
    label_column=None,
    kind: str | None = None,
) -> ImageData:
    """Load the images a spec names; every problem is a one-line `UserError` naming the spec.

    `kind="signals"` reads a `.npy`/`.npz` array of shape (N, T) or (N, T, C) as 1-D signals (what
    `--arch conv1d` trains on) instead of as vectors or images; an `.npz` whose array is stored under the
    key `signals` is read that way on its own.
    """
    spec = str(spec)
    if spec in sources.BUILTIN:
        return sources.BUILTIN[spec](seed=seed)
    if spec.startswith("celeba:"):
        from keras_ae.data.celeba import celeba

        return celeba(spec[len("celeba:") :], seed=seed, resize=resize)
    if spec.startswith("tfds:"):
        name, _, split = spec[len("tfds:") :].partition(":")
        if name == "celeb_a":  # its attributes are not a label: read them as `celeba:` does
            from keras_ae.data.celeba import celeba_tfds

            return celeba_tfds(split or "train", data_dir=data_dir, seed=seed, resize=resize)
        return sources.tfds_source(name, split or "train", data_dir=data_dir, seed=seed)
    if os.path.isdir(spec):
        return sources.folder(spec, seed=seed, resize=resize)
    if os.path.isfile(spec):
        lower = spec.lower()
        if lower.endswith((".npz", ".npy")):
            return sources.numpy_file(spec, seed=seed, kind=kind)
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
