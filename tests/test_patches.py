"""Random patches from images of mixed sizes (keras_ae.data.patches) and the photo denoiser they train."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from keras_ae.data import patches
from keras_ae.errors import UserError


def mixed_images(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.random((h, w, 1), dtype=np.float32) for h, w in ((40, 56), (24, 24), (64, 33))]


def test_random_patches_shapes_and_count():
    images = patches.from_arrays(mixed_images())
    ds = patches.random_patches(images, patch=16, seed=0)
    crops = np.stack(list(ds.as_numpy_iterator()))
    expected = (40 * 56) // 256 + (24 * 24) // 256 + (64 * 33) // 256
    assert crops.shape == (expected, 16, 16, 1)
    assert int(ds.cardinality()) == expected
    assert crops.dtype == np.float32


def test_every_crop_is_a_square_of_one_image_up_to_a_symmetry():
    images = mixed_images()
    crops = list(patches.random_patches(images, patch=8, seed=3, per_epoch=40).as_numpy_iterator())

    def found(crop):
        for image in images:
            for k in range(4):
                for flip in (False, True):
                    c = np.rot90(crop, -k, axes=(0, 1)) if not flip else np.rot90(crop[:, ::-1], -k, axes=(0, 1))
                    for y in range(image.shape[0] - 7):
                        for x in range(image.shape[1] - 7):
                            if np.array_equal(image[y : y + 8, x : x + 8], c):
                                return True
        return False

    assert all(found(c) for c in crops[:5])


def test_seeded_and_fresh_every_epoch():
    images = mixed_images()
    first = patches.random_patches(images, patch=16, seed=1)
    again = patches.random_patches(images, patch=16, seed=1)
    epoch1 = np.stack(list(first.as_numpy_iterator()))
    epoch2 = np.stack(list(first.as_numpy_iterator()))
    assert np.array_equal(epoch1, np.stack(list(again.as_numpy_iterator())))  # same seed, same crops
    assert not np.array_equal(epoch1, epoch2)  # a new pass draws new crops


def test_images_are_sampled_in_proportion_to_area():
    big = np.zeros((200, 200, 1), np.float32)
    small = np.ones((50, 50, 1), np.float32)
    crops = np.stack(list(patches.random_patches([big, small], patch=10, seed=0, per_epoch=2000).as_numpy_iterator()))
    from_small = np.mean(crops[:, 0, 0, 0] == 1.0)
    assert abs(from_small - 2500 / 42500) < 0.02


def test_patch_larger_than_an_image_is_one_line_error():
    with pytest.raises(UserError) as error:
        patches.random_patches(patches.from_arrays(mixed_images(), names=["a.png", "b.png", "c.png"]), patch=30)
    message = str(error.value)
    assert "--patch 30" in message and "b.png (24x24)" in message and "24 or smaller" in message
    assert "\n" not in message


def test_folder_keeps_16_bit_precision_and_streams_when_over_budget(tmp_path):
    ramp = (np.arange(48 * 40).reshape(48, 40) * 27).astype(np.uint16)  # 16-bit values no 8-bit file holds
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    Image.fromarray((np.arange(32 * 36).reshape(32, 36) % 256).astype(np.uint8)).save(tmp_path / "plain.png")
    loaded = patches.load_images(str(tmp_path))
    assert loaded.in_memory and loaded.channels == 1
    deep = loaded.image(loaded.names.index("deep.png"))
    np.testing.assert_allclose(deep[..., 0] * 65535, ramp, atol=0.02)

    streamed = patches.load_images(str(tmp_path), memory_bytes=0)
    assert not streamed.in_memory and streamed.sizes == [(48, 40), (32, 36)]
    crops = np.stack(list(patches.random_patches(streamed, patch=16, seed=0).as_numpy_iterator()))
    assert crops.shape == (patches.patches_per_epoch(streamed, 16), 16, 16, 1)
    levels = np.round(crops.ravel() * 65535).astype(int)
    assert np.any(levels % 257 != 0)  # 8-bit levels are multiples of 257 on the 16-bit scale: these are not


def test_fixed_patches_repeat():
    images = mixed_images()
    a = patches.fixed_patches(images, patch=16, count=12, seed=4)
    b = patches.fixed_patches(images, patch=16, count=12, seed=4)
    assert a.shape == (12, 16, 16, 1) and np.array_equal(a, b)
    assert not np.array_equal(a, patches.fixed_patches(images, patch=16, count=12, seed=5))


def test_mixed_gray_and_colour_become_one_channel_count():
    rng = np.random.default_rng(0)
    images = patches.from_arrays([rng.random((20, 20)), rng.random((30, 20, 3))])
    assert images.channels == 3 and all(a.shape[-1] == 3 for a in images.arrays)
    gray = patches.from_arrays([rng.random((30, 20, 3))], channels=1)
    assert gray.arrays[0].shape == (30, 20, 1)


# -- the photo denoiser -----------------------------------------------------------------------------------------
def test_photo_denoiser_any_size_residual_and_safe_mode_load(tmp_path):
    import keras

    from keras_ae.models import photo

    model = photo.photo_denoiser(filters=(8, 16, 32))
    assert model.input_shape == (None, None, None, 1)
    assert model(np.zeros((1, 20, 28, 1), np.float32)).shape == (1, 20, 28, 1)
    noise_conv = model.get_layer("noise")
    noise_conv.set_weights([np.zeros_like(w) for w in noise_conv.get_weights()])
    image = np.random.default_rng(0).random((37, 51, 1), dtype=np.float32)
    np.testing.assert_allclose(photo.denoise(model, image), image, atol=1e-6)  # pads, predicts, crops
    model.save(tmp_path / "photo.keras")
    again = keras.models.load_model(tmp_path / "photo.keras", safe_mode=True)
    clone = photo.photo_denoiser(filters=(8, 16, 32))
    clone.load_weights(tmp_path / "photo.keras")  # same layer names: trained weights load into a new build
    x = np.random.default_rng(1).random((1, 16, 16, 1), dtype=np.float32)
    np.testing.assert_allclose(again(x), clone(x), atol=1e-6)


@pytest.mark.slow
def test_photo_denoiser_learns_from_patches():
    import keras

    from keras_ae.models import photo

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    smooth = [np.cumsum(np.cumsum(rng.random((h, w, 1)), 0), 1) for h, w in ((48, 64), (40, 40))]
    smooth = [(s / s.max()).astype(np.float32) for s in smooth]
    crops = patches.random_patches(smooth, patch=16, seed=0, per_epoch=64)
    pairs = crops.batch(16).map(lambda c: (c + 0.1 * tf_normal(c), c)).repeat()
    model = photo.photo_denoiser(filters=(8, 16, 32))
    model.compile(keras.optimizers.Adam(3e-3), "mse")
    history = model.fit(pairs, steps_per_epoch=8, epochs=3, verbose=0, shuffle=False).history["loss"]
    assert history[-1] < 0.5 * history[0]


def tf_normal(x):
    import tensorflow as tf

    return tf.random.normal(tf.shape(x))


def test_built_in_photos_keep_the_test_images_out():
    pytest.importorskip("skimage")
    data = patches.load_photos("photos")
    assert len(data.train) == 14 and data.channels == 1
    assert data.validation.names == ["astronaut", "chelsea", "coffee"]
    assert not {"camera", "moon", "coins", "text"} & set(data.train.names + data.validation.names)
    assert len({size for size in data.train.sizes}) > 5  # mixed sizes, none resized
    page = data.train.arrays[data.train.names.index("page")]
    np.testing.assert_allclose(page * 255, np.round(page * 255), atol=1e-4)  # on the 8-bit grid
    test = patches.photos_test()
    assert test.validation.names == ["camera", "moon", "coins", "text"]
    assert patches.mixed_sizes("photos") and not patches.mixed_sizes("mnist-5k")


def test_whole_image_commands_point_photos_to_the_patch_recipe():
    from keras_ae import data

    with pytest.raises(UserError, match="keras-ae recipe denoise --dataset photos"):
        data.load("photos")
