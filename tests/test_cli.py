"""The CLI end to end on real (tiny) data, and one-line errors for every kind of bad input."""

from __future__ import annotations

import json
import os

import keras
import numpy as np
import pytest
from conftest import assert_one_line_error, run_cli_process
from PIL import Image

from keras_ae import load

TRAIN = ("train", "--dataset", "digits", "--bottleneck", "8", "--filters", "16", "--epochs", "3")


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """One small run shared by the tests that only read it."""
    from keras_ae.cli import main

    out = tmp_path_factory.mktemp("runs") / "digits"
    with pytest.raises(SystemExit) as exit_info:
        main([*TRAIN, "--out", str(out)])
    assert exit_info.value.code == 0
    return out


@pytest.mark.slow
def test_train_writes_a_complete_run_folder(trained_run):
    names = set(os.listdir(trained_run))
    assert {"model.keras", "config.json", "history.json", "metrics.json", "curves.png", "reconstructions.png"} <= names
    metrics = json.loads((trained_run / "metrics.json").read_text())
    for key in ("val_mse", "val_psnr", "val_ssim", "pca_val_mse", "pca_val_psnr", "pca_val_ssim"):
        assert np.isfinite(metrics[key]), key
    assert metrics["epochs"] == 3 and metrics["code_size"] == 8
    assert json.loads((trained_run / "history.json").read_text())["epoch"] == [1, 2, 3]
    assert not os.path.exists(f"{trained_run}.partial")
    ae = load(trained_run / "model.keras")
    assert ae.input_shape == (8, 8, 1) and ae.code_size == 8
    for picture in ("curves.png", "reconstructions.png"):
        with Image.open(trained_run / picture) as image:
            assert image.size[0] > 300


@pytest.mark.slow
def test_embed_measures_codes_against_pixels(cli, trained_run, tmp_path):
    code, out, err = cli(
        "embed",
        "--model",
        trained_run / "model.keras",
        "--dataset",
        "digits",
        "--out",
        tmp_path / "emb",
        "--tensorboard",
        tmp_path / "tb",
    )
    assert code == 0, err
    codes = np.load(tmp_path / "emb" / "embeddings.npy")
    labels = np.load(tmp_path / "emb" / "labels.npy")
    assert codes.shape == (1797, 8) and labels.shape == (1797,)
    metrics = json.loads((tmp_path / "emb" / "metrics.json").read_text())
    assert 0.1 < metrics["knn_accuracy_embedding"] <= 1.0  # far above chance (0.1) even after 3 epochs
    assert metrics["knn_accuracy_pixels"] > 0.9
    assert (tmp_path / "emb" / "latent_map.png").exists()
    config = (tmp_path / "tb" / "projector_config.pbtxt").read_text()
    assert "metadata.tsv" in config and "sprite.png" in config
    assert len((tmp_path / "tb" / "metadata.tsv").read_text().splitlines()) == 1797


@pytest.mark.slow
def test_a_folder_keras_ae_did_not_make_is_refused_and_overwrite_keeps_its_files(cli, trained_run, tmp_path):
    out = tmp_path / "again"
    out.mkdir()
    (out / "notes.txt").write_text("the user's")
    assert_one_line_error(*cli(*TRAIN[:-1], "1", "--arch", "dense", "--out", out)[::2], "--overwrite")
    code, _, err = cli(*TRAIN[:-1], "1", "--arch", "dense", "--out", out, "--overwrite")
    assert code == 0, err
    assert (out / "notes.txt").read_text() == "the user's" and (out / "model.keras").exists()


def _not_a_keras_ae_model(tmp_path):
    inputs = keras.Input((4,))
    path = tmp_path / "plain.keras"
    keras.Model(inputs, keras.layers.Dense(2)(inputs)).save(path)
    return path


@pytest.mark.parametrize(
    "make_args,fragments",
    [
        (lambda t: ["train", "--dataset", "mnist-50k", "--out", t / "o"], ["--dataset mnist-50k"]),
        (lambda t: ["train", "--dataset", "digits", "--bottleneck", "0", "--out", t / "o"], ["--bottleneck"]),
        (lambda t: ["train", "--dataset", "digits", "--bottleneck", "64", "--out", t / "o"], ["--bottleneck 64"]),
        (lambda t: ["train", "--dataset", "digits", "--resize", "big", "--out", t / "o"], ["--resize"]),
        (lambda t: ["train", "--dataset", "digits", "--filters", "8,x", "--out", t / "o"], ["--filters"]),
        (lambda t: ["train", "--dataset", "digits", "--epochs", "0", "--out", t / "o"], ["--epochs"]),
        (lambda t: ["embed", "--model", t / "missing.keras", "--out", t / "o"], ["missing.keras"]),
        (lambda t: ["embed", "--model", _not_a_keras_ae_model(t), "--out", t / "o"], ["plain.keras", "keras-ae"]),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli, tmp_path, make_args, fragments):
    code, _, err = cli(*make_args(tmp_path))
    assert_one_line_error(code, err, *fragments)
    assert not (tmp_path / "o").exists() and not (tmp_path / "o.partial").exists()


def test_bad_files_and_folders_are_named(cli, tmp_path):
    text = tmp_path / "notes.keras"
    text.write_text("not a model")
    assert_one_line_error(*cli("embed", "--model", text, "--out", tmp_path / "o")[::2], "notes.keras")

    empty = tmp_path / "empty"
    empty.mkdir()
    assert_one_line_error(*cli("train", "--dataset", empty, "--out", tmp_path / "o")[::2], "no image files")

    arrays = tmp_path / "nan.npy"
    np.save(arrays, np.full((20, 8, 8), np.nan, np.float32))
    assert_one_line_error(*cli("train", "--dataset", arrays, "--out", tmp_path / "o")[::2], "nan.npy", "NaN")

    folder = tmp_path / "pngs"
    folder.mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(folder / "ok.png")
    (folder / "corrupt.png").write_bytes(b"\x89PNG garbage")
    assert_one_line_error(*cli("train", "--dataset", folder, "--out", tmp_path / "o")[::2], "corrupt.png")
    assert not (tmp_path / "o").exists() and not (tmp_path / "o.partial").exists()


def test_unwritable_out_is_named(cli, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    code, _, err = cli("train", "--dataset", "digits", "--out", blocker / "run")
    assert_one_line_error(code, err, "--out", "cannot write")


@pytest.mark.slow
def test_errors_reach_a_real_user_without_traceback(tmp_path):
    result = run_cli_process("train", "--dataset", "nowhere", "--out", tmp_path / "o")
    assert_one_line_error(result.returncode, result.stderr, "--dataset nowhere")


@pytest.mark.parametrize(
    "args, code",
    [(["--help"], 0), (["denoise", "no-such-photo.png", "-o", "out"], 2), (["export", "no-such-run", "-o", "out"], 2)],
    ids=["help", "missing-photo", "missing-run"],
)
def test_help_and_bad_input_answer_without_starting_tensorflow(args, code, tmp_path):
    """TensorFlow's import takes seconds: `--help` and an error a flag or a file check can see come first."""
    import subprocess
    import sys

    script = (
        f"import sys; from keras_ae.cli import main\ntry:\n    main({args!r})\nexcept SystemExit as e:\n"
        f"    assert e.code == {code}, e.code\nassert 'tensorflow' not in sys.modules, 'imported TensorFlow'"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    if code:
        assert_one_line_error(code, result.stderr, args[1])
    else:
        assert "train" in result.stdout and "embed" in result.stdout


def test_tensorboard_logging_needs_its_package(cli, tmp_path, monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else real_find_spec(name, *a)
    )
    code, _, err = cli("train", "--dataset", "digits", "--out", tmp_path / "o", "--tensorboard", tmp_path / "tb")
    assert_one_line_error(code, err, "--tensorboard", "pip install")
    assert not (tmp_path / "o.partial").exists()


def test_commands_hold_back_tensorflows_retracing_notice_and_nothing_else(caplog):
    """Four models' predict functions, each traced for a full and a shorter last batch, trip TF's counter."""
    import logging

    from keras_ae.cli import quiet_tensorflow

    quiet_tensorflow()
    quiet_tensorflow()  # idempotent: one filter
    tf_logger = logging.getLogger("tensorflow")
    assert len([f for f in tf_logger.filters if type(f).__name__ == "NoRetracingNotice"]) == 1
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        for _ in range(4):
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
            model.predict(np.zeros((10, 3), np.float32), batch_size=4, verbose=0)  # shapes 4 and 2
        tf_logger.warning("some other TensorFlow warning")
    messages = [r.getMessage() for r in caplog.records]
    assert "some other TensorFlow warning" in messages
    assert not any("retracing" in m for m in messages)
