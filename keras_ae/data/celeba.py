"""CelebA faces with their 40 attributes, from the official files on disk or from TFDS when prepared.

The TFDS download of CelebA is known to fail (its Google Drive links hit quota), so the first source is the
official layout in a local folder: `celeba:/path` with `img_align_celeba/*.jpg` and `list_attr_celeba.txt`.
Attribute names are the file's (`Smiling`, `Eyeglasses`, ...), their values 1 (has it) or 0 (the file's -1).
The aligned 178x218 photos are cropped to the 148x148 square around the face, as is usual for autoencoders
of CelebA, then resized (64x64 by default). Images are decoded in the tf.data pipeline, never all at once.
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

from keras_ae.data.dataset import ImageData, split_indices
from keras_ae.errors import UserError

IMAGES_FOLDER = "img_align_celeba"
ATTRIBUTES_FILE = "list_attr_celeba.txt"
DEFAULT_SIZE = (64, 64)
FACE_BOX = (40, 15, 148, 148)  # top, left, height, width of the face in an aligned 218x178 photo


def read_attributes(path: str):
    """`list_attr_celeba.txt` -> (file names, {attribute: 0/1 array}). Line 1: count; line 2: the names;
    then one line per image: its file name and one 1 or -1 per attribute."""
    try:
        with open(path) as f:
            lines = [line.split() for line in f if line.strip()]
    except OSError as error:
        raise UserError(f"cannot read {path}: {error.strerror or error}") from None
    if len(lines) < 3 or len(lines[0]) != 1 or not lines[0][0].isdigit():
        raise UserError(f"{path}: not a CelebA attribute file (expected a count, then attribute names)")
    names = lines[1]
    rows = lines[2:]
    bad = next((i for i, row in enumerate(rows) if len(row) != len(names) + 1), None)
    if bad is not None:
        raise UserError(f"{path}: line {bad + 3} has {len(rows[bad]) - 1} values for {len(names)} attributes")
    try:
        values = np.array([[int(v) for v in row[1:]] for row in rows], np.int32)
    except ValueError:
        raise UserError(f"{path}: attribute values must be 1 or -1") from None
    if not np.isin(values, (-1, 1)).all():
        raise UserError(f"{path}: attribute values must be 1 or -1")
    files = [row[0] for row in rows]
    return files, {name: (values[:, i] == 1).astype(np.int32) for i, name in enumerate(names)}


def _crop_and_resize(image: tf.Tensor, size) -> tf.Tensor:
    """The face square of an aligned photo (the centre square of any other size), resized to `size`."""
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    top, left, box_h, box_w = FACE_BOX
    is_aligned = tf.logical_and(tf.equal(height, 218), tf.equal(width, 178))
    side = tf.minimum(height, width)
    top = tf.where(is_aligned, top, (height - side) // 2)
    left = tf.where(is_aligned, left, (width - side) // 2)
    box = tf.where(is_aligned, box_h, side)
    image = tf.image.crop_to_bounding_box(image, top, left, box, box)
    image = tf.image.resize(tf.image.convert_image_dtype(image, tf.float32), size, antialias=True)
    return tf.ensure_shape(tf.clip_by_value(image, 0.0, 1.0), (*size, 3))


def celeba(root: str, seed: int = 0, resize=None) -> ImageData:
    """`celeba:/path`: the official folder layout; every attribute under `data.attributes[split][name]`."""
    images_dir = os.path.join(root, IMAGES_FOLDER)
    attributes_path = os.path.join(root, ATTRIBUTES_FILE)
    if not os.path.isdir(root):
        raise UserError(f"--dataset celeba:{root}: no such folder")
    for needed in (images_dir, attributes_path):
        if not os.path.exists(needed):
            raise UserError(f"--dataset celeba:{root}: missing {os.path.basename(needed)} (the official CelebA layout)")
    files, attributes = read_attributes(attributes_path)
    paths = [os.path.join(images_dir, name) for name in files]
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        raise UserError(
            f"--dataset celeba:{root}: {len(missing)} images listed in {ATTRIBUTES_FILE} are missing, e.g. {missing[0]}"
        )
    size = tuple(resize or DEFAULT_SIZE)
    train_idx, val_idx = split_indices(len(paths), seed)

    def part(idx):
        ds = tf.data.Dataset.from_tensor_slices(np.array(paths)[idx])
        return ds.map(
            lambda path: {"image": _crop_and_resize(tf.io.decode_jpeg(tf.io.read_file(path), channels=3), size)},
            num_parallel_calls=tf.data.AUTOTUNE,
        )

    return ImageData(
        name=f"celeba:{root}",
        shape=(*size, 3),
        train=part(train_idx),
        validation=part(val_idx),
        num_train=len(train_idx),
        num_validation=len(val_idx),
        info={"files": len(paths)},
        attributes={
            split: {name: values[idx] for name, values in attributes.items()}
            for split, idx in (("train", train_idx), ("validation", val_idx))
        },
    )


def celeba_tfds(split: str = "train", data_dir: str | None = None, seed: int = 0, resize=None) -> ImageData:
    """`tfds:celeb_a[:SPLIT]` when TFDS has it prepared: the same crop and attributes as `celeba:/path`.
    The last 10% of the split (TFDS's deterministic slicing) is validation, as for any `tfds:` spec."""
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder("celeb_a", data_dir=data_dir)
        builder.download_and_prepare()
        parts = {
            "train": builder.as_dataset(split=f"{split}[:90%]", shuffle_files=False),
            "validation": builder.as_dataset(split=f"{split}[90%:]", shuffle_files=False),
        }
        skip = {"image": tfds.decode.SkipDecoding()}
        raw = {
            name: builder.as_dataset(split=s, shuffle_files=False, decoders=skip)
            for name, s in (("train", f"{split}[:90%]"), ("validation", f"{split}[90%:]"))
        }
    except Exception as error:  # noqa: BLE001 - offline downloads fail in many different ways
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0][:160]
        raise UserError(
            f"tfds:celeb_a could not be loaded ({first_line}); its download is known to fail: put the official "
            "files in a folder and pass --dataset celeba:/path"
        ) from None
    size = tuple(resize or DEFAULT_SIZE)
    attributes = {}
    for name, ds in raw.items():
        columns = {}
        for batch in ds.map(lambda e: e["attributes"]).batch(4096).as_numpy_iterator():
            for key, values in batch.items():
                columns.setdefault(key, []).append(np.asarray(values, np.int32))
        attributes[name] = {key: np.concatenate(v) for key, v in sorted(columns.items())}
    counts = {name: len(next(iter(a.values()))) if a else 0 for name, a in attributes.items()}
    return ImageData(
        name="tfds:celeb_a",
        shape=(*size, 3),
        train=parts["train"].map(lambda e: {"image": _crop_and_resize(e["image"], size)}),
        validation=parts["validation"].map(lambda e: {"image": _crop_and_resize(e["image"], size)}),
        num_train=counts["train"],
        num_validation=counts["validation"],
        info={"split": split},
        attributes=attributes,
    )
