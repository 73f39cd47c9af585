"""`keras-ae recipe denoise` on photos of mixed sizes: patch training, Noise2Void, Noise2Noise, bad input."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from conftest import assert_one_line_error
from keras_ae.recipes import denoise
from PIL import Image

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")

SIZES = ((40, 56), (48, 48), (64, 40), (36, 60), (44, 52))


def smooth_photos(folder, sizes=SIZES, seed=0, noise=0.0):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i, (h, w) in enumerate(sizes):
        image = np.cumsum(np.cumsum(np.random.default_rng(i).normal(0, 1, (h, w)), 0), 1)
        image = (image - image.min()) / (image.max() - image.min())
        image = np.clip(image + noise * rng.standard_normal(image.shape), 0, 1)
        Image.fromarray((image * 255).round().astype(np.uint8)).save(folder / f"photo{i}.png")
    return folder


@pytest.fixture(scope="module")
def photo_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    folder = smooth_photos(root / "photos")
    metrics = denoise.run(
        dataset=str(folder),
        patch=16,
        filters=(8, 16, 32),
        epochs=2,
        batch_size=4,
        out=str(root / "run"),
        export_dir=str(root / "exported"),
        echo=lambda *a: None,
        verbose=0,
    )
    return root, metrics


@pytest.mark.slow
def test_mixed_sizes_train_on_patches_without_resize(photo_run):
    root, metrics = photo_run
    assert metrics["arch"] == "photo" and metrics["mode"] == "clean"
    assert {"noisy", "photo_denoiser (clean)", "gaussian_blur", "nl_means", "tv"} <= set(metrics["psnr"])
    assert metrics["psnr"]["photo_denoiser (clean)"] > metrics["psnr"]["noisy"]  # trained, not identity
    assert all(len(scores) == 1 for scores in metrics["per_image_psnr"].values())  # 10% of 5 files, at least 1
    run = root / "run"
    for name in ("model.keras", "metrics.json", "denoise_grid.png", "curves.png", "config.json"):
        assert (run / name).is_file()
    assert json.loads((run / "metrics.json").read_text())["noise"] == "gaussian:0.1"


@pytest.mark.slow
def test_the_export_takes_any_size(photo_run):
    import tensorflow as tf

    root, _ = photo_run
    exported = root / "exported"
    assert {"saved_model", "model_float32.tflite", "model_int8.tflite"} <= set(os.listdir(exported))
    loaded = tf.saved_model.load(str(exported / "saved_model"))
    out = loaded.signatures["denoise"](images=tf.random.uniform((1, 37, 51, 1)))
    assert next(iter(out.values())).shape == (1, 37, 51, 1)


@pytest.mark.parametrize("mode", ["n2v", "n2n"])
@pytest.mark.slow
def test_training_without_clean_images_lands_on_the_same_table(tmp_path, mode):
    folder = smooth_photos(tmp_path / "photos")
    metrics = denoise.run(
        dataset=str(folder),
        mode=mode,
        patch=16,
        filters=(8, 16, 32),
        epochs=1,
        batch_size=4,
        out=str(tmp_path / "run"),
        export_dir=None,
        compare="none",
        echo=lambda *a: None,
        verbose=0,
    )
    assert set(metrics["psnr"]) == {"noisy", f"photo_denoiser ({mode})"}
    assert metrics["mode"] == mode


@pytest.mark.slow
def test_noise2noise_from_two_folders_of_noisy_shots(tmp_path):
    a = smooth_photos(tmp_path / "a", seed=1, noise=0.08)
    b = smooth_photos(tmp_path / "b", seed=2, noise=0.08)
    metrics = denoise.run(
        dataset=str(a),
        mode="n2n",
        pairs=str(b),
        noise="none",
        patch=16,
        filters=(8, 16, 32),
        epochs=1,
        batch_size=4,
        out=str(tmp_path / "run"),
        export_dir=None,
        echo=lambda *a: None,
        verbose=0,
    )
    assert metrics["psnr"] == {}  # no clean images: nothing to measure against, the model is still written
    assert (tmp_path / "run" / "model.keras").is_file()


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--patch", "40"], "--patch 40 is larger than photo3.png (36x60); use --patch 36 or smaller"),
        (["--noise", "gaussian:0.2-0.05"], "range 0.2-0.05 is backwards; write 0.05-0.2"),
        (["--patch", "30"], "--patch must be a positive multiple of 4"),
        (["--patch", "0"], "--patch must be a positive multiple of 4"),  # not the default taken for 0
        (["--epochs", "0", "--patch", "16"], "--epochs must be at least 1"),
        (["--mode", "n2n", "--pairs", "PAIRS", "--patch", "16"], "only in"),
        (["--mode", "n2v", "--pairs", "PAIRS", "--patch", "16"], "--pairs"),
        (["--mode", "n2n", "--noise", "none", "--patch", "16"], "needs --pairs DIR"),
    ],
)
def test_bad_photo_input_is_one_line_and_exit_2(cli, tmp_path, args, fragment):
    folder = smooth_photos(tmp_path / "photos")
    pairs = smooth_photos(tmp_path / "pairs", sizes=SIZES[:3])
    args = [str(pairs) if a == "PAIRS" else a for a in args]
    code, _, err = cli("recipe", "denoise", "--dataset", folder, "--out", tmp_path / "run", "--no-export", *args)
    assert_one_line_error(code, err, fragment)


@pytest.mark.parametrize("args", [["--mode", "n2v"], ["--patch", "16"]])
def test_photo_flags_on_the_digit_set_name_the_flag_and_what_it_needs(cli, tmp_path, args):
    code, _, err = cli("recipe", "denoise", "--out", tmp_path / "run", "--no-export", *args)
    assert_one_line_error(code, err, args[0], "a folder of images", "--dataset mnist-5k is neither")
