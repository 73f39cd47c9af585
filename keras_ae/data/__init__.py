"""Data sources -> `ImageData` (float32 images in [0, 1], labels, a seeded train/validation split).

    >>> data = keras_ae.data.load("mnist-5k")
    >>> data.shape, data.num_train, data.num_validation
    ((28, 28, 1), 4500, 500)

Specs: `mnist-5k`, `digits`, a folder of PNG/JPEG files, a `.npz`/`.npy` file, an MNIST-style
`*-idx3-ubyte[.gz]` file, `tfds:NAME[:SPLIT]`, or `celeba:/path` (CelebA's official files, with attributes).
"""

from __future__ import annotations

import os

import numpy as np

from keras_ae.data import sources, vectors
from keras_ae.data.dataset import ImageData, as_nhwc, check_vectors, from_arrays, to_unit_range
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

    Args:
        spec: a built-in name (`mnist-5k`, `digits`, ...), a folder of images, a `.npz`/`.npy`/`.csv` file, an
            `*-idx3-ubyte[.gz]` file, `tfds:NAME[:SPLIT]` or `celeba:/path`.
        seed: seeds the train/validation split.
        resize: (height, width) for the images of a folder or CelebA.
        data_dir: TFDS's data folder (for `tfds:` specs prepared offline).
        label_column: a CSV column that is a label, not a feature.
        kind: `"signals"` reads a `.npy`/`.npz` array of shape (N, T) or (N, T, C) as 1-D signals (what
            `--arch conv1d` trains on) instead of as vectors or images; an `.npz` whose array is stored under
            the key `signals` is read that way on its own.

    Returns:
        An `ImageData`: float32 examples (images in [0, 1]), labels when the source has them, the split.
    """
    spec = str(spec)
    if spec in sources.BUILTIN:
        return sources.BUILTIN[spec](seed=seed)
    if spec in ("photos", "photos-test"):  # mixed sizes: keras_ae.data.patches.load_photos
        raise UserError(
            f"--dataset {spec}: photos of mixed sizes train on patches: keras-ae recipe denoise --dataset {spec}"
        )
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
            values, labels, _ = vectors.read_csv(spec, label_column)
            return from_arrays(spec, values, labels, seed=seed, kind="vectors")
        if "idx3-ubyte" in lower:
            return sources.idx_files(spec, seed=seed)
        raise UserError(f"--dataset {spec}: unknown file type (expected .npz, .npy, .csv or *-idx3-ubyte[.gz])")
    names = ", ".join(sources.BUILTIN)
    raise UserError(f"--dataset {spec}: no such built-in data set, folder or file (built-in: {names}; or tfds:NAME)")


def parse_size(text):
    """`--resize 32x32` -> (32, 32); a (height, width) pair is kept as it is."""
    if not text or isinstance(text, tuple | list):
        return tuple(text) if text else None
    try:
        height, width = (int(v) for v in text.lower().split("x"))
        if height < 1 or width < 1:
            raise ValueError
    except ValueError:
        raise UserError(f"--resize must look like HxW (e.g. 32x32), got '{text}'") from None
    return height, width


def read_examples(spec: str, input_shape, label_column: str | None = None, pixel_max=None) -> np.ndarray:
    """Every example a file or data spec holds, in file order, shaped for a model with `input_shape`.

    Images are brought to [0, 1] as for training: files already in [0, 1] are kept, others are divided by
    the training data's `pixel_max` (16 for `digits`, 255 for 8-bit images) when it is known. Vectors and
    signals stay raw (the model standardises). A data spec that is not a file yields its train split, then
    its validation split.
    """
    input_shape = tuple(int(s) for s in input_shape)
    lower = str(spec).lower()
    if os.path.isfile(spec) and lower.endswith(".csv"):
        x, _, _ = vectors.read_csv(spec, label_column)
    elif os.path.isfile(spec) and lower.endswith((".npy", ".npz")):
        try:
            loaded = np.load(spec, allow_pickle=False)
        except Exception as error:  # noqa: BLE001 - a corrupt or foreign file
            raise UserError(f"cannot read {spec} as a numpy file: {error}") from None
        if not isinstance(loaded, np.ndarray):
            with loaded:
                key = next((k for k in ("images", "x", "x_train", "X") if k in loaded), None)
                if key is None:
                    raise UserError(f"{spec}: no array under 'x' or 'images' (found: {', '.join(loaded)})")
                try:
                    loaded = loaded[key]
                except (ValueError, OSError, EOFError) as error:  # object arrays are pickles: never loaded
                    raise UserError(f"cannot read {spec} as a numpy file: {str(error).splitlines()[0]}") from None
        x = loaded
        if len(input_shape) == 3:
            x = as_nhwc(x, spec)
            if pixel_max is not None and x.size and float(np.max(x)) > 1.0:
                if float(np.max(x)) > float(pixel_max) or float(np.min(x)) < 0:
                    raise UserError(
                        f"{spec}: pixel values span [{float(np.min(x)):g}, {float(np.max(x)):g}], but the model "
                        f"was trained on images in [0, {float(pixel_max):g}] (or [0, 1])"
                    )
                x = to_unit_range(x, spec, max_value=pixel_max)
            else:
                x = to_unit_range(x, spec)
        else:
            x = check_vectors(x, spec)
    else:
        data = load(spec)
        x = np.concatenate([data.arrays("train")[0], data.arrays("validation")[0]])
    if len(input_shape) == 2 and x.ndim == 2 and input_shape[-1] == 1:
        x = x[..., None]  # (N, T) signals for a one-channel model
    if len(input_shape) == 2 and x.ndim == 3 and x.shape[1] < input_shape[0]:
        raise UserError(
            f"{spec}: signals of {x.shape[1]} steps are shorter than the model's window of {input_shape[0]} steps; "
            "score windows of the length it was trained on"
        )
    if tuple(x.shape[1:]) != input_shape:
        raise UserError(
            f"{spec}: examples of shape {tuple(x.shape[1:])} (width {int(np.prod(x.shape[1:]))}), "
            f"but the model takes {input_shape} (width {int(np.prod(input_shape))})"
        )
    return x


__all__ = ["DEFAULT_DATASET", "ImageData", "from_arrays", "load", "parse_size", "read_examples"]
