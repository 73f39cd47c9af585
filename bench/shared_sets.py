"""The test sets of ../shared/data (MNIST-style IDX files, 10,000 images each), loaded one way for every bench."""

from __future__ import annotations

import os

from keras_ae import data as datasets
from keras_ae.data.sources import read_idx

SHARED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data")
CLASS_NAMES = {"notmnist": list("ABCDEFGHIJ")}


def test_set(name: str, validation_fraction: float = 0.2) -> datasets.ImageData:
    """`../shared/data/NAME`'s test images and labels: 8,000 to train on, 2,000 held out (a seeded split)."""
    folder = os.path.join(SHARED, name)
    images = read_idx(os.path.join(folder, "t10k-images-idx3-ubyte.gz"), 0x803)
    labels = read_idx(os.path.join(folder, "t10k-labels-idx1-ubyte.gz"), 0x801)
    return datasets.from_arrays(
        name,
        images,
        labels,
        seed=0,
        max_value=255,
        validation_fraction=validation_fraction,
        class_names=CLASS_NAMES.get(name),
    )
