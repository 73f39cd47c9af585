"""Every data source gives float32 images in [0, 1], a seeded split, and one-line errors for bad input."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
from PIL import Image

from keras_ae import data
from keras_ae.errors import UserError


@pytest.mark.slow
def test_mnist_5k_is_real_digits_split_by_seed():
    d = data.load("mnist-5k", seed=0)
    assert d.shape == (28, 28, 1)
    assert (d.num_train, d.num_validation) == (4500, 500)
    x, y = d.arrays("validation")
    assert x.dtype == np.float32 and x.shape == (500, 28, 28, 1)
    assert x.min() == 0.0 and x.max() == 1.0
    assert set(np.unique(y)) == set(range(10))
    again, _ = data.load("mnist-5k", seed=0).arrays("validation")
    other, _ = data.load("mnist-5k", seed=1).arrays("validation")
    np.testing.assert_array_equal(x, again)
    assert not np.array_equal(x, other)


def test_digits_are_8x8_scaled_from_0_16():
    d = data.load("digits")
    x, y = d.arrays("train")
    assert d.shape == (8, 8, 1) and len(x) == d.num_train == 1617
    assert x.max() == 1.0 and x.min() == 0.0
    assert d.class_names == [str(i) for i in range(10)]


def test_batches_give_image_pairs_and_apply_the_pair_function():
    d = data.load("digits")
    x, target = next(iter(d.batches("train", 16, shuffle=True, seed=0)))
    assert x.shape == (16, 8, 8, 1)
    np.testing.assert_array_equal(x, target)
    noisy, clean = next(iter(d.batches("validation", 4, pairs=lambda image: (image * 0.0, image))))
    assert float(np.abs(noisy).max()) == 0.0 and float(clean.numpy().max()) > 0


def test_npz_with_uint8_images_and_labels(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(30, 12, 10), dtype=np.uint8)
    path = tmp_path / "set.npz"
    np.savez(path, images=images, labels=np.arange(30) % 3)
    d = data.load(str(path))
    x, y = d.arrays("train")
    assert d.shape == (12, 10, 1) and d.class_names == ["0", "1", "2"]
    assert x.max() <= 1.0 and len(x) + d.num_validation == 30
    assert y is not None


@pytest.mark.parametrize(
    "images,message",
    [
        (np.full((10, 8, 8), np.nan, np.float32), "NaN"),
        (np.full((10, 8, 8), -1.0, np.float32), "minimum"),
        (np.full((10, 8, 8), 300.0, np.float32), "maximum"),
        (np.concatenate([np.full((5, 8, 8), 0.5), np.full((5, 8, 8), 200.0)]).astype(np.float32), "mixture"),
        (np.zeros((10,), np.float32), "expected images"),  # (N, D) arrays load as vectors
    ],
)
def test_arrays_with_bad_values_are_refused_by_name(tmp_path, images, message):
    path = tmp_path / "bad.npy"
    np.save(path, images)
    with pytest.raises(UserError, match=message) as error:
        data.load(str(path))
    assert "bad.npy" in str(error.value)


def _write_idx(path, array, magic):
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">I", magic))
        f.write(struct.pack(f">{array.ndim}I", *array.shape))
        f.write(array.astype(np.uint8).tobytes())


def test_idx_files_with_their_labels(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, size=(20, 28, 28))
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images, 0x803)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.arange(20) % 10, 0x801)
    d = data.load(str(tmp_path / "t10k-images-idx3-ubyte.gz"))
    x, y = d.arrays("train")
    assert d.shape == (28, 28, 1) and y is not None and len(x) == 18
    truncated = tmp_path / "cut-images-idx3-ubyte"
    truncated.write_bytes(struct.pack(">IIII", 0x803, 5, 28, 28) + b"\0" * 100)
    with pytest.raises(UserError, match="cut-images"):
        data.load(str(truncated))


def _png(path, size=(10, 10), mode="L", seed=0):
    rng = np.random.default_rng(seed)
    shape = size[::-1] if mode == "L" else (*size[::-1], 3)
    Image.fromarray(rng.integers(0, 256, size=shape, dtype=np.uint8), mode).save(path)


def test_folder_with_class_subfolders_reads_lazily(tmp_path):
    for label in ("cats", "dogs"):
        (tmp_path / label).mkdir()
        for i in range(6):
            _png(tmp_path / label / f"{i}.png", seed=i)
    d = data.load(str(tmp_path))
    assert d.class_names == ["cats", "dogs"] and d.shape == (10, 10, 1)
    assert d.num_train + d.num_validation == 12
    # Nothing was decoded yet: pixels written after `load` are the ones the tf.data pipeline reads.
    for path in tmp_path.rglob("*.png"):
        Image.fromarray(np.full((10, 10), 51, np.uint8), "L").save(path)
    x, y = d.arrays("train")
    assert x.dtype == np.float32 and x.shape == (d.num_train, 10, 10, 1) and set(y) <= {0, 1}
    np.testing.assert_array_equal(x, np.float32(51 / 255))


def test_folder_errors_name_the_file(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError, match="no image files"):
        data.load(str(empty))

    mixed = tmp_path / "mixed"
    mixed.mkdir()
    _png(mixed / "a.png", size=(10, 10))
    _png(mixed / "b.png", size=(12, 10))
    with pytest.raises(UserError, match="--resize"):
        data.load(str(mixed))
    resized = data.load(str(mixed), resize=(8, 8))
    assert resized.shape == (8, 8, 1)
    assert resized.arrays("train")[0].shape[1:] == (8, 8, 1)

    broken = tmp_path / "broken"
    broken.mkdir()
    _png(broken / "good.png")
    (broken / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    with pytest.raises(UserError, match="bad.png"):
        data.load(str(broken))


def test_colour_and_grey_files_together_become_rgb(tmp_path):
    _png(tmp_path / "grey.png", mode="L")
    _png(tmp_path / "colour.png", mode="RGB")
    assert data.load(str(tmp_path)).shape == (10, 10, 3)


def test_unknown_dataset_names_the_flag():
    with pytest.raises(UserError, match="--dataset mnist-50k"):
        data.load("mnist-50k")


def test_tfds_source_reads_through_tensorflow_datasets():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=20):
        d = data.load("tfds:mnist")
    assert d.shape == (28, 28, 1) and d.class_names is not None
    x, y = d.arrays("train")
    assert x.dtype == np.float32 and x.max() <= 1.0 and len(x) == d.num_train and y is not None


def test_tfds_offline_download_is_one_clear_line(tmp_path):
    with pytest.raises(UserError, match="--data-dir") as error:
        data.load("tfds:mnist", data_dir=str(tmp_path))
    assert "\n" not in str(error.value)
