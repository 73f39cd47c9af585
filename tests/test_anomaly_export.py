"""Vectors and signals leave keras-ae like images do: SavedModel and TFLite files that answer like the Keras
model (raw values in, raw values out: the standardisation travels inside), plus the `anomaly_score` signature
that computes the very score the recipe's threshold was set on."""

from __future__ import annotations

import csv
import json
import os

import keras
import numpy as np
import pytest
from conftest import assert_one_line_error, run_python

from keras_ae import anomaly
from keras_ae import data as datasets
from keras_ae import export as exporter
from keras_ae.data.vectors import standardization
from keras_ae.models import build

SIGNATURES = {"reconstruct": "x", "encode": "x", "decode": "codes", "anomaly_score": "x"}  # name: what it takes


def _vectors():
    """The breast-cancer table: 30 measurements on scales from 0.001 to 4,000."""
    x, _ = datasets.load("breast-cancer").arrays("train")
    ae = build("dense", x.shape[1:], 4, hidden=(16,), standardize=standardization(x))
    return ae, x[:24]


def _signals():
    x, _ = datasets.load("signals").arrays("train", limit=24)
    x = x * 40.0 + 300.0  # far from unit scale, so a lost standardisation would show
    ae = build("conv1d", x.shape[1:], 4, filters=(4, 8), standardize=standardization(x))
    return ae, x


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """Each kind's model exported once: {kind: (export folder, Keras' answers, model, inputs)}."""
    return {kind: _export(kind, tmp_path_factory) for kind in ("vectors", "signals")}


@pytest.fixture(params=["vectors", "signals"])
def exported(request, exports):
    return exports[request.param]


def _export(kind, tmp_path_factory):
    keras.utils.set_random_seed(0)  # the same weights every run: parity margins do not drift
    ae, x = {"vectors": _vectors, "signals": _signals}[kind]()
    out = tmp_path_factory.mktemp(kind) / "export"
    exporter.export(ae, out, quantize=("float32", "float16"), endpoints=anomaly.export_endpoints(ae))
    folder = out.parent
    np.save(folder / "x.npy", x)
    codes = ae.embed(x)
    np.save(folder / "codes.npy", codes)
    expected = {
        "reconstruct": ae.reconstruct(x),
        "encode": codes,
        "decode": ae.decode(codes),
        "anomaly_score": anomaly.score_model(ae).predict(x, verbose=0),
    }
    for name, value in expected.items():
        np.save(folder / f"{name}.npy", value)
    return out, expected, ae, x


def _relative_errors(folder, prefix, expected):
    """Raw outputs (0.001 to 4,000 here) are compared in units of each feature's range, as the images'
    tolerances are in units of their [0, 1] range; codes and scores relative to their size."""
    x = np.load(folder / "x.npy")
    spread = np.ptp(x.reshape(-1, x.shape[-1]), axis=0) + 1e-6  # per feature, or per channel of a signal
    errors = {}
    for name, e in expected.items():
        diff = np.abs(np.load(folder / f"{prefix}{name}.npy") - e)
        errors[name] = float(np.max(diff / spread if e.shape == x.shape else diff / (1.0 + np.abs(e))))
    return errors


@pytest.mark.slow
def test_keras_file_round_trip_keeps_raw_values(exported, tmp_path):
    from keras_ae.models import load

    _, expected, ae, x = exported
    ae.save(str(tmp_path / "m.keras"))
    again = load(str(tmp_path / "m.keras"))
    np.testing.assert_allclose(again.reconstruct(x), expected["reconstruct"], rtol=1e-6, atol=1e-4)
    assert np.abs(x - expected["reconstruct"]).max() < 50 * np.abs(x).max()  # raw scale, not standardised


@pytest.fixture(scope="module")
def saved_model_answers(exports, tmp_path_factory):
    """Every kind's SavedModel called in one fresh process with TensorFlow and without keras-ae (one start of
    TensorFlow for all of them): each answer is saved beside its export's inputs as sm_<signature>.npy."""
    script = f"""
        import os, sys
        import numpy as np
        import tensorflow as tf

        for saved_model, folder in {[(str(out / "saved_model"), str(out.parent)) for out, *_ in exports.values()]!r}:
            model = tf.saved_model.load(saved_model)
            for name, source in {SIGNATURES!r}.items():
                x = tf.constant(np.load(os.path.join(folder, f"{{source}}.npy")))
                outputs = model.signatures[name](**{{"images" if source == "x" else "codes": x}})
                np.save(os.path.join(folder, f"sm_{{name}}.npy"), next(iter(outputs.values())).numpy())
        assert not any(m.startswith("keras_ae") for m in sys.modules)
    """
    run_python(script, cwd=tmp_path_factory.mktemp("saved_model_answers"))


@pytest.mark.slow
def test_saved_model_answers_like_keras(exported, saved_model_answers):
    out, expected, _, _ = exported
    assert {f"sm_{name}.npy" for name in SIGNATURES} <= set(os.listdir(out.parent))
    errors = _relative_errors(out.parent, "sm_", expected)
    assert max(errors.values()) <= 1e-5, errors


@pytest.mark.slow
def test_tflite_answers_like_keras_in_litert_alone(exported):
    out, expected, _, _ = exported
    script = f"""
        import sys
        import numpy as np
        from ai_edge_litert.interpreter import Interpreter

        for mode in ("float32", "float16"):
            interpreter = Interpreter(model_path=f"{out}/model_{{mode}}.tflite", num_threads=1)
            assert sorted(interpreter.get_signature_list()) == {sorted(SIGNATURES)!r}
            for name, source in {SIGNATURES!r}.items():
                x, key = np.load(f"{{source}}.npy"), "images" if source == "x" else "codes"
                runner = interpreter.get_signature_runner(name)
                y = np.concatenate([next(iter(runner(**{{key: x[i : i + 1]}}).values())) for i in range(len(x))])
                np.save(f"{{mode}}_{{name}}.npy", y)
        assert "tensorflow" not in sys.modules, "LiteRT pulled in TensorFlow"
    """
    run_python(script, cwd=out.parent)
    float32 = _relative_errors(out.parent, "float32_", expected)
    float16 = _relative_errors(out.parent, "float16_", expected)
    assert max(float32.values()) <= 1e-4, float32
    assert max(float16.values()) <= 1e-2, float16


def test_breast_cancer_is_a_labelled_vector_set():
    data = datasets.load("breast-cancer")
    assert data.kind == "vectors" and data.shape == (30,)
    assert data.class_names == ["malignant", "benign"]
    assert data.num_train + data.num_validation == 569


@pytest.fixture(scope="module")
def vector_run(tmp_path_factory):
    from keras_ae.recipes import anomaly as recipe

    root = tmp_path_factory.mktemp("cancer")
    out, export_dir = str(root / "run"), str(root / "exported")
    metrics = recipe.run(
        dataset="breast-cancer",
        normal_class="benign",
        epochs=5,
        out=out,
        export_dir=export_dir,
        echo=lambda *a: None,
        verbose=0,
    )
    return out, export_dir, metrics


@pytest.mark.slow
def test_recipe_exports_the_score_and_its_threshold(vector_run):
    out, export_dir, metrics = vector_run
    assert metrics["roc_auc"]["autoencoder"] > 0.8  # malignant tumours rebuild worse than benign ones
    with open(os.path.join(export_dir, "metadata.json")) as f:
        meta = json.load(f)
    assert "anomaly_score" in meta["saved_model"]["signatures"]
    assert meta["saved_model"]["signatures"]["anomaly_score"]["outputs"] == {
        "scores": {"shape": [None], "dtype": "float32"}
    }
    with open(os.path.join(out, anomaly.THRESHOLD_FILE)) as f:
        assert meta["info"]["threshold"]["threshold"] == json.load(f)["threshold"]


@pytest.mark.slow
def test_export_command_adds_the_score_to_an_anomaly_run(vector_run, cli, tmp_path):
    out, _, _ = vector_run
    code, _, err = cli("export", out, "-o", tmp_path / "e", "--quantize", "float32")
    assert code == 0, err
    with open(tmp_path / "e" / "metadata.json") as f:
        meta = json.load(f)
    assert "anomaly_score" in meta["tflite"]["float32"]["signatures"]
    assert meta["info"]["threshold"]["normal_class"] == "benign"


@pytest.mark.slow
def test_score_reads_raw_pixels_on_the_training_scale(tmp_path, cli):
    """digits are stored as 0..16: a raw file and the same file divided by 16 score the same."""
    from keras_ae.recipes import anomaly as recipe
    from sklearn.datasets import load_digits

    run = str(tmp_path / "run")
    recipe.run(dataset="digits", normal_class="0", epochs=1, out=run, export_dir=None, echo=lambda *a: None, verbose=0)
    raw = load_digits().images[:30]
    np.save(tmp_path / "raw.npy", raw)
    np.save(tmp_path / "unit.npy", raw / 16.0)
    scores = {}
    for name in ("raw", "unit"):
        code, _, err = cli("score", "--model", run, tmp_path / f"{name}.npy", "-o", tmp_path / f"{name}.csv")
        assert code == 0, err
        with open(tmp_path / f"{name}.csv") as f:
            scores[name] = np.array([float(r["score"]) for r in csv.DictReader(f)])
    np.testing.assert_allclose(scores["raw"], scores["unit"], rtol=1e-5)

    np.save(tmp_path / "bright.npy", raw * 10)  # up to 160: not on the 0..16 scale it was trained on
    code, _, err = cli("score", "--model", run, tmp_path / "bright.npy", "-o", tmp_path / "b.csv")
    assert_one_line_error(code, err, "bright.npy", "[0, 16]")
    assert not (tmp_path / "b.csv").exists()
