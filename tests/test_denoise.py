"""The denoising recipe end to end on real digits, and `keras-ae denoise` on user files."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from conftest import assert_one_line_error
from keras_ae.recipes import denoise
from PIL import Image

from keras_ae.measure import filters as denoisers

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def denoise_run(tmp_path_factory):
    """One short run of the recipe on scikit-learn's 8x8 digits, with every comparison and the export."""
    root = tmp_path_factory.mktemp("denoise")
    metrics = denoise.run(
        dataset="digits",
        epochs=4,
        noise="gaussian:0.3",
        compare="all",
        out=str(root / "run"),
        export_dir=str(root / "exported"),
        echo=lambda *a: None,
        verbose=0,
    )
    return root, metrics


@pytest.mark.slow
def test_recipe_reports_every_method_on_the_same_images(denoise_run):
    root, metrics = denoise_run
    expected = {
        "noisy",
        "autoencoder",
        "clean_trained_autoencoder",
        "bottleneck_autoencoder",
        "keras_io_reference",
        *denoisers.available(),
    }
    assert set(metrics["psnr"]) == set(metrics["ssim"]) == expected
    written = json.loads((root / "run" / "metrics.json").read_text())
    assert written["psnr"] == pytest.approx(metrics["psnr"])
    psnr = metrics["psnr"]
    assert psnr["autoencoder"] > psnr["noisy"] + 2  # it really denoises, after 4 short epochs on 1,617 images
    assert psnr["autoencoder"] > psnr["clean_trained_autoencoder"]  # and the noise training is what does it
    for picture in ("denoise_grid.png", "curves.png"):
        with Image.open(root / "run" / picture) as image:
            assert image.size[0] > 300
    assert metrics["best_classical"] in denoisers.available()


@pytest.mark.slow
def test_default_keeps_the_essential_rows_with_the_same_numbers(denoise_run, tmp_path):
    """The default trains the denoiser alone (the comparison networks are `--compare all`): same rows, same dB."""
    _, everything = denoise_run
    metrics = denoise.run(
        dataset="digits",
        epochs=4,
        noise="gaussian:0.3",
        out=str(tmp_path / "run"),
        export_dir=None,
        echo=lambda *a: None,
        verbose=0,
    )
    assert set(metrics["psnr"]) == {"noisy", "autoencoder", *denoisers.available()}
    for name, value in metrics["psnr"].items():
        # the same training; only the order in which parallel map calls take their noise draws varies by run
        tolerance = 0.3 if name == "autoencoder" else 1e-6
        assert value == pytest.approx(everything["psnr"][name], abs=tolerance), name


@pytest.mark.slow
def test_recipe_exports_a_denoise_signature(denoise_run):
    root, _ = denoise_run
    names = set(os.listdir(root / "exported"))
    assert {"saved_model", "model_float32.tflite", "model_int8.tflite", "metadata.json"} <= names
    meta = json.loads((root / "exported" / "metadata.json").read_text())
    assert "denoise" in json.dumps(meta["saved_model"])


def _noisy_png(path, size, seed=0, mode="L"):
    rng = np.random.default_rng(seed)
    shape = size if mode == "L" else (*size, 3)
    Image.fromarray(rng.integers(0, 256, size=shape, dtype=np.uint8), mode).save(path)


def _noisy_digits_png(path, shape, seed=0, mode="L") -> tuple[np.ndarray, np.ndarray]:
    """Real 8x8 digits of the validation split tiled into an image of `shape` (H, W), with the noise the model
    was trained on (gaussian 0.3, clipped to [0, 1]), saved as an 8-bit PNG: returns (clean, noisy as saved)."""
    from keras_ae import data

    digits, _ = data.load("digits").arrays("validation")
    rows, cols = -(-shape[0] // 8), -(-shape[1] // 8)
    tiles = [[digits[(r * cols + c + 7 * seed) % len(digits), :, :, 0] for c in range(cols)] for r in range(rows)]
    clean = np.block(tiles)[: shape[0], : shape[1]]
    noisy = np.round(255 * np.clip(clean + np.random.default_rng(seed).normal(0, 0.3, clean.shape), 0, 1))
    pixels = noisy.astype(np.uint8)
    Image.fromarray(pixels if mode == "L" else np.stack([pixels] * 3, axis=-1), mode).save(path)
    return clean.astype(np.float32), (pixels / 255).astype(np.float32)


DENOISE_GAIN_DB = 1.0  # measured: +1.8 dB on the 37x50 mosaic (tiles, digits cut at its edges), more on 8x8


@pytest.mark.slow
@pytest.mark.parametrize("model_kind", ["keras", "export"])
def test_denoise_command_cleans_files_of_any_larger_size(cli, denoise_run, tmp_path, model_kind):
    """Real digits, noisy as in training, in files of the model's size, a larger awkward size, and RGB: every
    output keeps its file's size, and each one is closer to the clean digits by at least DENOISE_GAIN_DB."""
    from keras_ae.measure.metrics import psnr

    root, _ = denoise_run
    model = root / "run" / "model.keras" if model_kind == "keras" else root / "exported"
    inputs = tmp_path / "in"
    inputs.mkdir()
    images = {
        "small.png": _noisy_digits_png(inputs / "small.png", (8, 8), seed=1),
        "scan.png": _noisy_digits_png(inputs / "scan.png", (37, 50), seed=2),
        "colour.png": _noisy_digits_png(inputs / "colour.png", (16, 24), seed=3, mode="RGB"),
    }
    code, out, err = cli("denoise", "--model", model, inputs, "-o", tmp_path / "out")
    assert code == 0, err
    assert "converted RGB to grey" in err
    for name, (clean, noisy) in images.items():
        with Image.open(tmp_path / "out" / name) as image:
            assert image.size == clean.shape[::-1], name
            denoised = np.asarray(image.convert("L"), np.float32) / 255
        before, after = psnr(clean[None], noisy[None]), psnr(clean[None], denoised[None])
        assert after > before + DENOISE_GAIN_DB, (name, before, after)


@pytest.mark.slow
def test_denoise_command_bad_input(cli, denoise_run, tmp_path):
    root, _ = denoise_run
    model = root / "run" / "model.keras"
    tiny = tmp_path / "tiny.png"
    _noisy_png(tiny, (5, 5))
    assert_one_line_error(*cli("denoise", "--model", model, tiny, "-o", tmp_path / "o")[::2], "tiny.png", "smaller")
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG nonsense")
    assert_one_line_error(*cli("denoise", "--model", model, corrupt, "-o", tmp_path / "o")[::2], "corrupt.png")
    assert_one_line_error(*cli("denoise", "--model", tmp_path / "none", tiny, "-o", tmp_path / "o")[::2], "none")
    assert not (tmp_path / "o").exists() and not (tmp_path / "o.partial").exists()


@pytest.mark.parametrize(
    "spec,fragments",
    [
        ("gausian:0.4", ["gausian", "gaussian, salt_pepper"]),
        ("gaussian:-1", ["--noise gaussian:-1"]),
        ("mask:1.5", ["--noise mask:1.5"]),
    ],
)
def test_recipe_refuses_bad_noise_specs_before_any_work(cli, tmp_path, spec, fragments):
    code, _, err = cli("recipe", "denoise", "--dataset", "digits", "--noise", spec, "--out", tmp_path / "o")
    assert_one_line_error(code, err, *fragments)
    assert not (tmp_path / "o.partial").exists()


def test_recipe_list_names_every_recipe(cli):
    from pathlib import Path

    recipes = {path.stem for path in (Path(__file__).resolve().parents[1] / "recipes").glob("*.py")} - {"__init__"}
    code, out, _ = cli("recipe", "--list")
    assert code == 0 and len(recipes) >= 7
    assert {line.split()[0] for line in out.splitlines()} == recipes
