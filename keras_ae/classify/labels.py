"""Labels for few-label training: which images are labelled, and what a user's label text means.

Every check here raises a one-line `UserError`: a data set without labels, too few labelled images for the
`--labels-per-class` asked for, a class without any labelled image, and labels that are neither integers nor
class names.
"""

from __future__ import annotations

import os

import numpy as np

from keras_ae.errors import UserError


def load_labeled(spec, seed: int = 0):
    """`keras_ae.data.load(spec)`, refusing data without labels. A `.npz` whose labels are strings (class
    names) is read too: its classes are the sorted distinct names."""
    from keras_ae import data as datasets

    if isinstance(spec, datasets.ImageData):
        data = spec
    elif isinstance(spec, str) and spec.lower().endswith(".npz") and os.path.isfile(spec):
        data = _npz_with_named_labels(spec, seed) or datasets.load(spec, seed=seed)
    else:
        data = datasets.load(spec, seed=seed)
    if not data.has_labels:
        raise UserError(
            f"--dataset {data.name}: has no labels; classification needs labelled images "
            "(class subfolders, or a labels array in the .npz)"
        )
    return data


def _npz_with_named_labels(path: str, seed: int):
    from keras_ae.data import from_arrays

    try:
        with np.load(path, allow_pickle=False) as loaded:
            keys = list(loaded.keys())
            label_key = next((k for k in ("labels", "y", "y_train") if k in keys), None)
            image_key = next((k for k in ("images", "x", "x_train", "X") if k in keys), None)
            if label_key is None or image_key is None or loaded[label_key].dtype.kind not in "US":
                return None
            names = loaded[label_key].astype(str)
            images = loaded[image_key]
    except (OSError, ValueError):
        return None  # the data module says what is wrong with the file
    class_names = sorted(set(names.tolist()))
    labels = np.searchsorted(np.array(class_names), names).astype(np.int32)
    return from_arrays(path, images, labels, seed=seed, class_names=class_names)


def draw_labeled(labels, per_class: int, seed: int, class_names, exclude=None, source: str = "the data set"):
    """Indices of `per_class` images of every class, drawn with `seed`; `exclude` indices are never drawn.

    The draw is what makes a seed: each seed sees a different small labelled set of the same pool.
    """
    labels = np.asarray(labels)
    if isinstance(per_class, bool) or not isinstance(per_class, (int, np.integer)) or per_class < 1:
        raise UserError(f"--labels-per-class must be a positive integer, got {per_class!r}")
    available = np.ones(len(labels), bool)
    if exclude is not None and len(exclude):
        available[np.asarray(exclude)] = False
    counts = [int(np.count_nonzero((labels == c) & available)) for c in range(len(class_names))]
    empty = [class_names[c] for c, n in enumerate(counts) if n == 0]
    if empty:
        raise UserError(f"{source}: class '{empty[0]}' has no labelled image to train on")
    needed = len(class_names) * per_class
    if sum(counts) < needed:
        raise UserError(
            f"{source}: {len(class_names)} classes x --labels-per-class {per_class} needs {needed} labelled images, "
            f"found {sum(counts)}"
        )
    short = [(class_names[c], n) for c, n in enumerate(counts) if n < per_class]
    if short:
        name, n = short[0]
        raise UserError(f"{source}: class '{name}' has {n} labelled images, fewer than --labels-per-class {per_class}")
    rng = np.random.default_rng(seed)
    chosen = [
        rng.choice(np.flatnonzero((labels == c) & available), per_class, replace=False) for c in range(len(counts))
    ]
    return np.sort(np.concatenate(chosen))


def parse_labels(values, class_names, source: str) -> np.ndarray:
    """Label texts -> class indices. A text is a class name, or else an integer index into the classes."""
    names = [str(name) for name in class_names]
    index = {name: i for i, name in enumerate(names)}
    parsed = []
    for value in values:
        text = str(value).strip()
        if text in index:
            parsed.append(index[text])
            continue
        try:
            number = int(text)
        except ValueError:
            number = None
        shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
        if number is None:
            kind = "unknown class name" if text and not _is_number(text) else "not an integer or a class name:"
            raise UserError(f"{source}: {kind} '{text}' (classes: {shown})")
        if not 0 <= number < len(names):
            raise UserError(f"{source}: class index {number} is out of range 0..{len(names) - 1}")
        parsed.append(number)
    return np.array(parsed, np.int32)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
