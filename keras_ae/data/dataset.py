"""`ImageData`: the one description every source produces, and the one place that normalises pixels.

Whatever the source (built-in arrays, IDX files, a folder of PNGs, TFDS), training code sees the same thing:
float32 images in [0, 1] with shape (H, W, C), optional integer labels, and a train/validation split that
depends only on the seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from keras_ae.errors import UserError

VALIDATION_FRACTION = 0.1


@dataclass
class ImageData:
    """Images split into `train` and `validation` tf.data sets of `{"image": ..., "label": ...}` elements."""

    name: str
    shape: tuple[int, int, int]
    train: tf.data.Dataset
    validation: tf.data.Dataset
    num_train: int
    num_validation: int
    class_names: list[str] | None = None
    info: dict = field(default_factory=dict)
    kind: str = "images"  # or "vectors" (N, D), "signals" (N, T, C): raw values, standardised by the model
    # known per-example attributes (smileys, CelebA): {split: {name: array}}, in the order of `arrays(split)`
    attributes: dict | None = None

    @property
    def has_labels(self) -> bool:
        return self.class_names is not None

    def split(self, name: str) -> tf.data.Dataset:
        if name not in ("train", "validation"):
            raise ValueError(f"unknown split {name!r}")
        return self.train if name == "train" else self.validation

    def arrays(self, split: str = "validation", limit: int | None = None):
        """Materialise a split as numpy `(images, labels)`; labels is None when the data has none."""
        ds = self.split(split)
        if limit is not None:
            ds = ds.take(limit)
        images, labels = [], []
        for batch in ds.batch(512).as_numpy_iterator():
            images.append(batch["image"])
            if "label" in batch:
                labels.append(batch["label"])
        shape = (0, *self.shape)
        x = np.concatenate(images) if images else np.zeros(shape, np.float32)
        y = np.concatenate(labels) if labels else None
        return x, y

    def batches(self, split: str, batch_size: int, pairs=None, shuffle: bool = False, seed: int = 0):
        """Batches for `fit`: `pairs(image) -> (input, target)`, by default `(image, image)`.

        The map runs in the pipeline with parallel calls, so per-example work such as fresh noise for the
        denoising recipe costs no extra pass over the data and is drawn anew every epoch. A `pairs` marked
        `batched = True` receives whole batches instead of single examples.
        """
        ds = self.split(split)
        if shuffle:
            size = self.num_train if split == "train" else self.num_validation
            ds = ds.shuffle(shuffle_buffer(size, self.shape), seed=seed, reshuffle_each_iteration=True)
        pairs = pairs or (lambda image: (image, image))
        if getattr(pairs, "batched", False):  # one call per batch: same noise statistics, far less overhead
            ds = ds.batch(batch_size).map(lambda batch: pairs(batch["image"]), num_parallel_calls=tf.data.AUTOTUNE)
        else:
            ds = ds.map(lambda example: pairs(example["image"]), num_parallel_calls=tf.data.AUTOTUNE)
            ds = ds.batch(batch_size)
        return ds.prefetch(tf.data.AUTOTUNE)


SHUFFLE_BUFFER_IMAGES = 10_000
SHUFFLE_BUFFER_BYTES = 128 << 20


def shuffle_buffer(count: int, shape) -> int:
    """Examples the shuffle buffer holds: all of a small set, else at most 10,000 or 128 MiB of decoded
    float32 examples (2,730 of 64x64x3), so a folder too large for memory stays out of memory. The splits are
    already in a seeded random order, so a bounded buffer still mixes well."""
    example_bytes = 4 * int(np.prod(shape))
    return max(1, min(count, SHUFFLE_BUFFER_IMAGES, SHUFFLE_BUFFER_BYTES // max(1, example_bytes)))


def split_indices(count: int, seed: int, validation_fraction: float = VALIDATION_FRACTION):
    """A shuffled (train, validation) split of range(count) that depends only on `seed`."""
    if count < 2:
        raise UserError(f"need at least 2 images to split into train and validation, got {count}")
    order = np.random.default_rng(seed).permutation(count)
    n_val = min(max(1, round(count * validation_fraction)), count - 1)
    return order[n_val:], order[:n_val]


def to_unit_range(images: np.ndarray, source: str, max_value: float | None = None) -> np.ndarray:
    """Bring pixels to float32 in [0, 1]: uint8 and 0..255 floats are divided by 255, [0, 1] kept.

    Anything else (NaN/inf, negatives, values above 255, or a mixture of [0, 1] and [0, 255] images) is
    refused rather than guessed at, because a silently wrong scale trains a useless model.
    """
    scale = pixel_scale(images, source, max_value)
    return (images.astype(np.float32) / scale).clip(0.0, 1.0)


def pixel_scale(images: np.ndarray, source: str, max_value: float | None = None) -> float:
    """The value that `to_unit_range` divides by (what "white" is in these images)."""
    if images.size == 0:
        raise UserError(f"{source} holds no images")
    if images.dtype == bool:
        return 1.0
    if not np.issubdtype(images.dtype, np.number):
        raise UserError(f"{source}: images must be numeric, got dtype {images.dtype}")
    if np.issubdtype(images.dtype, np.floating) and not np.all(np.isfinite(images)):
        bad = int(np.count_nonzero(~np.isfinite(images)))
        raise UserError(f"{source}: {bad} pixel values are NaN or infinite")
    low, high = float(images.min()), float(images.max())
    if max_value is not None:
        scale = float(max_value)
    elif low < 0:
        raise UserError(f"{source}: pixel values must be in [0, 1] or [0, 255], found a minimum of {low:g}")
    elif high > 255:
        raise UserError(f"{source}: pixel values must be in [0, 1] or [0, 255], found a maximum of {high:g}")
    elif high <= 1.0:
        scale = 1.0
    else:
        per_image_max = images.reshape(len(images), -1).max(axis=1)
        small = np.count_nonzero((per_image_max > 0) & (per_image_max <= 1.0))
        if small > 0.01 * len(images):
            raise UserError(
                f"{source}: a mixture of scales: {small} images have values in [0, 1] while others reach {high:g}; "
                "bring them all to [0, 1] or all to [0, 255]"
            )
        scale = 255.0
    return scale


def as_nhwc(images: np.ndarray, source: str) -> np.ndarray:
    """(N, H, W) -> (N, H, W, 1); (N, H, W, C) kept; anything else is not an image stack."""
    if images.ndim == 3:
        return images[..., None]
    if images.ndim == 4 and images.shape[-1] in (1, 3, 4):
        return images
    raise UserError(f"{source}: expected images shaped (N, H, W) or (N, H, W, C) with C in 1, 3, 4; got {images.shape}")


def check_vectors(values: np.ndarray, source: str) -> np.ndarray:
    if not np.issubdtype(values.dtype, np.number) and values.dtype != bool:
        raise UserError(f"{source}: values must be numeric, got dtype {values.dtype}")
    values = values.astype(np.float32)
    if not np.all(np.isfinite(values)):
        bad = int(np.count_nonzero(~np.isfinite(values)))
        raise UserError(f"{source}: {bad} values are NaN or infinite")
    return values


def from_arrays(
    name,
    images,
    labels=None,
    seed=0,
    class_names=None,
    max_value=None,
    info=None,
    validation_fraction: float = VALIDATION_FRACTION,
    kind: str | None = None,
    attributes: dict | None = None,
) -> ImageData:
    """In-memory images (any numeric dtype) -> normalised, split `ImageData`.

    (N, D) arrays are vectors (`kind="vectors"`), and `kind="signals"` takes (N, T) or (N, T, C): both keep
    their raw values, which the model standardises with the training split's statistics."""
    images = np.asarray(images)
    if kind is None:
        kind = "vectors" if images.ndim == 2 else "images"
    info = dict(info or {})
    if kind == "images":
        images = as_nhwc(images, name)
        info["pixel_max"] = pixel_scale(images, name, max_value)  # recorded: new files are read on this scale
        images = to_unit_range(images, name, max_value=info["pixel_max"])
    else:
        if kind == "signals" and images.ndim == 2:
            images = images[..., None]
        if images.ndim != {"vectors": 2, "signals": 3}.get(kind, -1):
            raise UserError(f"{name}: {kind} must be shaped (N, D) / (N, T, C), got {images.shape}")
        images = check_vectors(images, name)
    if labels is not None:
        labels = np.asarray(labels)
        if len(labels) != len(images):
            raise UserError(f"{name}: {len(images)} images but {len(labels)} labels")
        if not np.issubdtype(labels.dtype, np.integer):
            raise UserError(f"{name}: labels must be integers, got dtype {labels.dtype}")
        labels = labels.astype(np.int32)
        if class_names is None:
            class_names = [str(c) for c in range(int(labels.max()) + 1)]
    train_idx, val_idx = split_indices(len(images), seed, validation_fraction)

    def part(idx):
        features = {"image": images[idx]}
        if labels is not None:
            features["label"] = labels[idx]
        return tf.data.Dataset.from_tensor_slices(features)

    return ImageData(
        name=name,
        shape=tuple(int(s) for s in images.shape[1:]),
        train=part(train_idx),
        validation=part(val_idx),
        num_train=len(train_idx),
        num_validation=len(val_idx),
        class_names=class_names,
        info=info,
        kind=kind,
        attributes=None
        if attributes is None
        else {
            split: {k: np.asarray(v)[idx] for k, v in attributes.items()}
            for split, idx in (("train", train_idx), ("validation", val_idx))
        },
    )
