"""Random patches from images of any size: how the photo denoiser trains without resizing anything.

    >>> images = patches.load_images("photos/")                      # or a list of (H, W, C) float32 arrays
    >>> train = patches.random_patches(images, patch=64, seed=0)     # tf.data of (64, 64, C) float32 crops
    >>> val = patches.fixed_patches(held_out, patch=64, count=64, seed=0)   # the same crops every time

An epoch is as many crops as the images hold non-overlapping patches (sum of H*W / patch**2, at least one
per image), each drawn from an image picked with odds proportional to its area, so a 1411x1411 retina gives
~190 crops an epoch and a 102x102 one about 2: every pixel is about as likely to be seen. Each crop is at a
uniform random position, then flipped and rotated by a multiple of 90 degrees (the 8 symmetries of the square,
which leave the statistics of photos and noise unchanged). Epoch e draws from a NumPy generator seeded with
(seed, e): the same seed gives the same crops, and every epoch gets new ones.

Images are decoded once and kept in memory when their float32 pixels fit in `memory_bytes` (1 GiB); a larger
set stays on disk as file names and is streamed: each visit to a file decodes it once and takes
`crops_per_visit` crops from it, and a shuffle buffer mixes the visits. 8-bit files are divided by 255 and
16-bit files (PNG/TIFF) by 65535, so a 16-bit scan keeps all of its precision (`keras_ae.io.read_image`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from keras_ae.errors import UserError

MEMORY_BYTES = 1 << 30
CROPS_PER_VISIT = 8
SHUFFLE_BUFFER = 512


def read_image(path: str, channels: int | None = None) -> np.ndarray:
    """One image file -> (H, W, C) float32 in [0, 1], keeping its bit depth (8-bit / 255, 16-bit / 65535).

    `channels` 1 converts colour to gray (ITU-R 601 luma), 3 repeats gray; None keeps the file's. The reading
    is `keras_ae.io.read_image`'s (one reader for every command); this only drops the bit depth it returns.
    """
    from keras_ae import io

    return io.read_image(path, channels)[0]


def _to_channels(image: np.ndarray, channels: int | None) -> np.ndarray:
    if image.ndim == 2:
        image = image[..., None]
    if image.shape[-1] == 4:
        image = image[..., :3]
    if channels is None or image.shape[-1] == channels:
        return image.astype(np.float32, copy=False)
    if channels == 1:
        weights = np.array([0.299, 0.587, 0.114], np.float32)
        return (image @ weights)[..., None].astype(np.float32)
    return np.repeat(image, channels, axis=-1).astype(np.float32)


def _image_header(path: str):
    """(H, W, channels) from the file's header, without decoding pixels."""
    from keras_ae import io

    info = io.image_info(path)
    return info.height, info.width, info.channels


@dataclass
class ImageSet:
    """Images of any sizes with one channel count: in memory (`arrays`) or on disk (`paths`, streamed)."""

    names: list[str]
    sizes: list[tuple[int, int]]
    channels: int
    arrays: list[np.ndarray] | None = None
    paths: list[str] | None = None

    def __len__(self):
        return len(self.names)

    @property
    def in_memory(self) -> bool:
        return self.arrays is not None

    def image(self, index: int) -> np.ndarray:
        if self.arrays is not None:
            return self.arrays[index]
        return read_image(self.paths[index], self.channels)

    def all(self) -> list[np.ndarray]:
        return [self.image(i) for i in range(len(self))]

    def subset(self, indices) -> ImageSet:
        indices = list(indices)
        return ImageSet(
            [self.names[i] for i in indices],
            [self.sizes[i] for i in indices],
            self.channels,
            None if self.arrays is None else [self.arrays[i] for i in indices],
            None if self.paths is None else [self.paths[i] for i in indices],
        )


def from_arrays(images: Sequence[np.ndarray], names=None, channels: int | None = None) -> ImageSet:
    """(H, W) or (H, W, C) arrays in [0, 1] (float) or uint8/uint16 -> an in-memory `ImageSet`."""
    arrays = []
    for i, image in enumerate(images):
        image = np.asarray(image)
        if image.dtype == np.uint8:
            image = image.astype(np.float32) / 255.0
        elif image.dtype == np.uint16:
            image = image.astype(np.float32) / 65535.0
        image = np.asarray(image, np.float32)
        if image.ndim == 2:
            image = image[..., None]
        if image.ndim != 3 or image.shape[-1] not in (1, 3, 4):
            raise UserError(f"image {i} must be shaped (H, W) or (H, W, C) with C in 1, 3, 4; got {image.shape}")
        arrays.append(image[..., :3])
    if not arrays:
        raise UserError("no images given")
    if channels is None:
        channels = 3 if any(a.shape[-1] == 3 for a in arrays) else 1
    arrays = [_to_channels(a, channels) for a in arrays]
    names = list(names) if names is not None else [f"image {i}" for i in range(len(arrays))]
    return ImageSet(names, [a.shape[:2] for a in arrays], channels, arrays=arrays)


def list_image_files(root: str) -> list[str]:
    """Image files directly in `root` or below it, sorted."""
    from keras_ae import io

    if not os.path.isdir(root):
        raise UserError(f"{root}: no such folder")
    files = sorted(
        os.path.join(folder, name)
        for folder, _, names in os.walk(root)
        for name in names
        if io.is_image_file(name) and not name.startswith(".")
    )
    if not files:
        raise UserError(f"{root} holds no image files ({', '.join(io.IMAGE_EXTENSIONS)})")
    return files


def load_images(source, channels: int | None = None, memory_bytes: int = MEMORY_BYTES) -> ImageSet:
    """A folder or a list of image files -> `ImageSet`: decoded into memory when the float32 pixels fit in
    `memory_bytes`, else kept as paths and streamed. Channels: gray when every file is gray, else RGB."""
    paths = list_image_files(source) if isinstance(source, str | os.PathLike) else [str(p) for p in source]
    if not paths:
        raise UserError("no image files given")
    headers = [_image_header(p) for p in paths]
    if channels is None:
        channels = 3 if any(c == 3 for _, _, c in headers) else 1
    sizes = [(h, w) for h, w, _ in headers]
    names = [os.path.basename(p) for p in paths]
    total = sum(4 * h * w * channels for h, w in sizes)
    if total <= memory_bytes:
        arrays = [read_image(p, channels) for p in paths]
        return ImageSet(names, [a.shape[:2] for a in arrays], channels, arrays=arrays, paths=paths)
    return ImageSet(names, sizes, channels, paths=paths)


@dataclass
class PhotoData:
    """Training and validation images of any sizes: what `load_photos` gives and patch training takes."""

    name: str
    train: ImageSet
    validation: ImageSet
    info: dict | None = None

    @property
    def channels(self) -> int:
        return self.train.channels


def load_photos(spec: str, seed: int = 0, channels: int | None = None, memory_bytes: int = MEMORY_BYTES) -> PhotoData:
    """`photos`, `photos-test` (built in) or a folder -> `PhotoData`. A folder's files are split by `seed`:
    about 10% of them (at least one) are held out whole for validation."""
    builtin = PHOTO_SETS
    if spec in builtin:
        return builtin[spec](seed=seed)
    if not os.path.isdir(spec):
        names = ", ".join(builtin) or "photos"
        raise UserError(f"--dataset {spec}: not a folder of images nor a built-in photo set ({names})")
    from keras_ae.data.dataset import split_indices

    files = list_image_files(spec)
    if len(files) < 2:
        raise UserError(f"--dataset {spec}: needs at least 2 images (one is held out for validation), found 1")
    train_idx, val_idx = split_indices(len(files), seed)
    images = load_images(files, channels=channels, memory_bytes=memory_bytes)
    return PhotoData(spec, images.subset(sorted(train_idx)), images.subset(sorted(val_idx)), info={"files": len(files)})


def mixed_sizes(spec: str) -> bool:
    """Whether a `--dataset` names images of different sizes: a built-in photo set, or a folder whose files
    (read from their headers only) are not all one size."""
    if spec in PHOTO_SETS:
        return True
    if not os.path.isdir(str(spec)):
        return False
    try:
        files = list_image_files(str(spec))
    except UserError:
        return False
    return len({_image_header(f)[:2] for f in files}) > 1


def as_image_set(images) -> ImageSet:
    if isinstance(images, ImageSet):
        return images
    if isinstance(images, str | os.PathLike):
        return load_images(images)
    return from_arrays(images)


def check_patch(images: ImageSet, patch: int, flag: str = "--patch") -> None:
    """A one-line `UserError` when a patch does not fit in some image."""
    if not isinstance(patch, int | np.integer) or patch < 1:
        raise UserError(f"{flag} must be a positive integer, got {patch}")
    for name, (height, width) in zip(images.names, images.sizes, strict=True):
        if patch > min(height, width):
            smallest = min(min(size) for size in images.sizes)
            raise UserError(
                f"{flag} {patch} is larger than {name} ({height}x{width}); use {flag} {smallest} or smaller"
            )


def patches_per_epoch(images: ImageSet, patch: int) -> int:
    """Crops in one epoch: the non-overlapping patches the images hold, at least one per image."""
    return int(sum(max(1, (h * w) // (patch * patch)) for h, w in images.sizes))


def _augment(crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    crop = np.rot90(crop, int(rng.integers(4)), axes=(0, 1))
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    return np.ascontiguousarray(crop)


def _crop(image: np.ndarray, patch: int, rng: np.random.Generator) -> np.ndarray:
    y = int(rng.integers(0, image.shape[0] - patch + 1))
    x = int(rng.integers(0, image.shape[1] - patch + 1))
    return image[y : y + patch, x : x + patch]


def random_patches(
    images,
    patch: int = 64,
    seed: int = 0,
    per_epoch: int | None = None,
    augment: bool = True,
    crops_per_visit: int = CROPS_PER_VISIT,
) -> tf.data.Dataset:
    """A finite tf.data set of `per_epoch` random (patch, patch, C) float32 crops; new crops each pass.

    `images`: an `ImageSet`, a folder, or a list of arrays. Batch it yourself (`.batch(16)`)."""
    images = as_image_set(images)
    check_patch(images, patch)
    per_epoch = int(per_epoch or patches_per_epoch(images, patch))
    area = np.array([h * w for h, w in images.sizes], np.float64)
    odds = area / area.sum()
    visit = 1 if images.in_memory else max(1, int(crops_per_visit))
    epoch = [0]

    def generate():
        rng = np.random.default_rng([seed, epoch[0]])
        epoch[0] += 1
        made = 0
        while made < per_epoch:
            index = int(rng.choice(len(odds), p=odds))
            image = images.image(index)
            for _ in range(min(visit, per_epoch - made)):
                crop = _crop(image, patch, rng)
                yield _augment(crop, rng) if augment else np.ascontiguousarray(crop)
                made += 1

    signature = tf.TensorSpec((patch, patch, images.channels), tf.float32)
    ds = tf.data.Dataset.from_generator(generate, output_signature=signature)
    ds = ds.apply(tf.data.experimental.assert_cardinality(per_epoch))
    if visit > 1:  # streamed: crops of one file arrive together, so mix them
        ds = ds.shuffle(SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
    return ds


def fixed_patches(images, patch: int = 64, count: int = 64, seed: int = 0) -> np.ndarray:
    """`count` crops (count, patch, patch, C) at positions fixed by `seed` (no flips): validation patches."""
    images = as_image_set(images)
    check_patch(images, patch)
    rng = np.random.default_rng([seed, 1 << 20])
    area = np.array([h * w for h, w in images.sizes], np.float64)
    picks = np.sort(rng.choice(len(images), count, p=area / area.sum()))
    crops, cached = [], {}
    for index in picks:
        if index not in cached:
            cached.clear()
            cached[index] = images.image(int(index))
        crops.append(np.ascontiguousarray(_crop(cached[index], patch, rng)))
    return np.stack(crops).astype(np.float32)


__all__ = [
    "ImageSet",
    "PhotoData",
    "load_photos",
    "mixed_sizes",
    "as_image_set",
    "check_patch",
    "fixed_patches",
    "from_arrays",
    "list_image_files",
    "load_images",
    "patches_per_epoch",
    "random_patches",
    "read_image",
]


# -- the built-in photo sets (`photos`, `photos-test`) ----------------------------------------------------------
PHOTOS_TRAIN = (
    *("brick", "grass", "gravel", "hubble_deep_field", "immunohistochemistry", "rocket", "page", "cell"),
    *("horse", "retina", "microaneurysms", "clock"),
)
PHOTOS_SKLEARN = ("china", "flower")  # sklearn.datasets.load_sample_images, in this order
PHOTOS_VALIDATION = ("astronaut", "chelsea", "coffee")
PHOTOS_TEST = ("camera", "moon", "coins", "text")  # never trained or validated on: the bench's test images


def _skimage_data():
    try:
        import skimage.color  # noqa: F401
        import skimage.data
    except ImportError:
        raise UserError("the photos data sets need scikit-image: pip install scikit-image") from None
    return skimage.data


def _gray8(image) -> np.ndarray:
    """A photo as gray float32 in [0, 1] on the 8-bit grid: colour through skimage.color.rgb2gray, then rounded
    to 1/255 steps, as a user's 8-bit gray file would hold it."""
    import skimage.color

    image = np.asarray(image)
    if image.dtype == bool:
        return image.astype(np.float32)[..., None]
    if image.ndim == 3:
        gray = skimage.color.rgb2gray(image[..., :3])
        return (np.round(gray * 255) / 255).astype(np.float32)[..., None]
    return (image.astype(np.float32) / 255.0)[..., None]


def _photo_set(names):
    data = _skimage_data()
    images, labels = [], []
    for name in names:
        if name in PHOTOS_SKLEARN:
            from sklearn.datasets import load_sample_images

            image = load_sample_images().images[PHOTOS_SKLEARN.index(name)]
        else:
            image = getattr(data, name)()
        images.append(_gray8(image))
        labels.append(name)
    return from_arrays(images, names=labels, channels=1)


def photos(seed: int = 0):
    """`photos`: 14 grayscale photos of mixed sizes, 102x102 to 1411x1411, that ship inside scikit-image and
    scikit-learn (textures, a page, cells, a retina, a rocket, the Hubble deep field, two scenes); validation:
    astronaut, chelsea and coffee, whole. The four test images (camera, moon, coins, text) are in neither."""
    train = _photo_set([*PHOTOS_TRAIN, *PHOTOS_SKLEARN])
    return PhotoData("photos", train, _photo_set(PHOTOS_VALIDATION), info={"seed": seed})


def photos_test(seed: int = 0):
    """`photos-test`: the four test images (camera, moon, coins, text) as validation; trains on `photos`."""
    train = _photo_set([*PHOTOS_TRAIN, *PHOTOS_SKLEARN])
    return PhotoData("photos-test", train, _photo_set(PHOTOS_TEST), info={"seed": seed})


PHOTO_SETS = {"photos": photos, "photos-test": photos_test}
