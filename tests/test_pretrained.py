"""The shipped photo denoiser (keras_ae/pretrained/photo-gray): loads safely, takes any size, its SavedModel and
TFLite files agree with the Keras model, and `keras-ae denoise` uses it by default and really denoises."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from conftest import run_python

FOLDER = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "keras_ae", "pretrained", "photo-gray"
)


def camera_crop(size=96, sigma=25, seed=0):
    """A real photo crop (scikit-image's cameraman: a test image, never trained on) and its 8-bit noisy copy."""
    skimage_data = pytest.importorskip("skimage.data")
    clean = skimage_data.camera()[150 : 150 + size, 200 : 200 + size].astype(np.float32) / 255
    rng = np.random.default_rng(seed)
    noisy = np.round(np.clip(clean + sigma / 255 * rng.standard_normal(clean.shape), 0, 1) * 255) / 255
    return clean, noisy.astype(np.float32)


def psnr(a, b):
    return float(10 * np.log10(1.0 / np.mean((np.asarray(a, np.float64) - b) ** 2)))


@pytest.fixture(scope="module")
def shipped():
    import keras

    from keras_ae import pretrained

    model = keras.saving.load_model(os.path.join(pretrained.path(), "model.keras"), safe_mode=True)
    return model


def test_files_are_there_and_match_their_checksums():
    from keras_ae.export.metadata import sha256

    with open(os.path.join(FOLDER, "metadata.json")) as f:
        meta = json.load(f)
    for name in ("model.keras", "saved_model/saved_model.pb", "model_float32.tflite", "model_int8.tflite"):
        assert name in meta["files"], name
    for name, entry in meta["files"].items():
        assert sha256(os.path.join(FOLDER, name)) == entry["sha256"], name
    assert os.path.isfile(os.path.join(FOLDER, "MODEL_CARD.md"))
    total = sum(entry["bytes"] for entry in meta["files"].values())
    assert total < 12e6  # a few MB in all


def test_any_size_in_same_size_out_and_it_denoises(shipped):
    from keras_ae import pretrained

    clean, noisy = camera_crop(size=96)
    odd = noisy[:37, :53]
    out = pretrained.denoise(odd, model=shipped)
    assert out.shape == (37, 53) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1
    assert psnr(out, clean[:37, :53]) > psnr(odd, clean[:37, :53]) + 3


@pytest.mark.slow  # a LiteRT process of its own
def test_saved_model_and_tflite_agree_with_keras(shipped, tmp_path):
    import tensorflow as tf

    from keras_ae import pretrained

    _, noisy = camera_crop(size=96)
    odd = noisy[:37, :53, None]
    expected = pretrained.denoise(odd, model=shipped)
    signature = tf.saved_model.load(os.path.join(FOLDER, "saved_model")).signatures["denoise"]
    batch = np.stack([odd, odd[::-1]])  # any batch, any H and W
    served = signature(images=tf.constant(batch))["images"].numpy()
    np.testing.assert_allclose(served[0], expected, atol=1e-4)
    np.testing.assert_allclose(served[1], pretrained.denoise(odd[::-1], model=shipped), atol=1e-4)

    np.save(tmp_path / "x.npy", odd)
    np.save(tmp_path / "expected.npy", expected)
    # LiteRT, as a phone runs it: no TensorFlow in the process; the input is resized to the image
    out = run_python(
        f"""
        import sys
        import numpy as np
        from ai_edge_litert.interpreter import Interpreter
        x, expected = np.load("x.npy"), np.load("expected.npy")
        for mode in ("float32", "int8"):
            interpreter = Interpreter(model_path={FOLDER!r} + f"/model_{{mode}}.tflite")
            index = interpreter.get_input_details()[0]["index"]
            interpreter.resize_tensor_input(index, (1, *x.shape), strict=True)
            interpreter.allocate_tensors()
            interpreter.set_tensor(index, x[None])
            interpreter.invoke()
            y = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[0]
            assert y.shape == x.shape, y.shape
            print(mode, float(np.abs(y - expected).max()), float(np.sqrt(np.mean((y - expected) ** 2))))
        print("tensorflow" in sys.modules)
        """,
        cwd=tmp_path,
    )
    lines = out.split()
    assert lines[-1] == "False"
    float_max = float(lines[1])
    int8_rms = float(lines[5])
    assert float_max < 1e-4
    assert int8_rms < 0.02  # int8 activations: about 1/100 of the range off, 8-bit-like


def test_keras_ae_denoise_without_model_uses_the_shipped_one(cli, tmp_path):
    from PIL import Image

    from keras_ae import io

    clean, noisy = camera_crop(size=96)
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray((noisy * 255 + 0.5).astype(np.uint8)).save(folder / "photo.png")
    io.write_image(folder / "scan16.png", noisy[::-1], bits=16)  # a 16-bit scan comes back 16-bit
    code, _, err = cli("denoise", folder, "-o", tmp_path / "out")
    assert code == 0, err
    with Image.open(tmp_path / "out" / "photo.png") as f:
        assert f.mode == "L"
    out, bits = io.read_image(tmp_path / "out" / "photo.png")
    assert bits == 8 and out.shape == (*clean.shape, 1)
    assert psnr(out[..., 0], clean) > psnr(noisy, clean) + 4
    out16, bits = io.read_image(tmp_path / "out" / "scan16.png")
    assert bits == 16
    assert psnr(out16[::-1, :, 0], clean) > psnr(noisy, clean) + 4


def test_package_rebuilds_the_folder_and_keeps_the_model_card(tmp_path):
    """`pretrained.package` (what the bench runs to ship a model) writes every form, lists them in
    metadata.json, keeps the card a person wrote, and refuses a folder that is not such an export."""
    from keras_ae import pretrained
    from keras_ae.errors import UserError
    from keras_ae.models.photo import photo_denoiser

    model = photo_denoiser(filters=(4, 8))
    source = str(tmp_path / "net.keras")
    model.save(source)
    folder = tmp_path / "photo-gray"
    crops = [camera_crop(32)[1][..., None]]
    first = pretrained.package(source, str(folder), info={"steps": 1})  # no calibration images: no int8 file
    assert "model_int8.tflite" not in first["files"]
    (folder / pretrained.CARD).write_text("# card\n")
    meta = pretrained.package(source, str(folder), representative=crops, info={"steps": 2})
    assert (folder / pretrained.CARD).read_text() == "# card\n"
    assert {"model.keras", "model_float32.tflite", "model_int8.tflite"} <= set(meta["files"])
    assert pretrained.CARD not in meta["files"] and meta["info"] == {"steps": 2}
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("x")
    with pytest.raises(UserError, match="not an earlier export"):
        pretrained.package(source, str(tmp_path / "mine"))
