"""Export: SavedModel and TFLite files that answer like the Keras model, outside keras-ae, atomically.

One small conv AE is trained briefly (so int8 has real activation ranges to calibrate) and exported once for
the module; the parity checks load the files in fresh processes that import only TensorFlow, or only LiteRT,
as a server or a phone would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from conftest import run_python  # noqa: E402

from keras_ae import data as datasets  # noqa: E402
from keras_ae import export as exporter  # noqa: E402
from keras_ae.errors import UserError  # noqa: E402
from keras_ae.export import metadata, tflite  # noqa: E402
from keras_ae.measure.metrics import psnr  # noqa: E402
from keras_ae.models import conv_autoencoder  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SIGNATURES = ("reconstruct", "encode", "decode", "denoise")
CHECK_IMAGES = 100  # validation images run through every TFLite signature


def run_cli(*args):
    """`keras-ae export ARGS...` in a fresh process, as a user runs it."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(
        [sys.executable, "-m", "keras_ae.cli", "export", *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(0)
    data = datasets.load("mnist-5k")
    x_train, _ = data.arrays("train", limit=512)
    x_val, _ = data.arrays("validation", limit=CHECK_IMAGES)
    ae = conv_autoencoder((28, 28, 1), filters=(8, 16), bottleneck=8, dense_units=32)
    ae.autoencoder.compile(optimizer=keras.optimizers.Adam(3e-3), loss="mse")
    ae.autoencoder.fit(x_train, x_train, epochs=2, batch_size=16, verbose=0)
    return ae, x_train, x_val


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
    """The full export (SavedModel + four TFLite files), with a `denoise` endpoint added as a recipe would."""
    ae, x_train, _ = trained
    out = tmp_path_factory.mktemp("export") / "mnist"
    meta = exporter.export(
        ae, out, representative_data=x_train[:200], endpoints={"denoise": ae}, metadata={"dataset": "mnist-5k"}
    )
    return out, meta


def keras_outputs(ae, x):
    codes = ae.encoder(x, training=False).numpy()
    images = ae.autoencoder(x, training=False).numpy()
    return {
        "encode": codes,
        "decode": ae.decoder(codes, training=False).numpy(),
        "reconstruct": images,
        "denoise": images,
    }


@pytest.mark.slow
def test_saved_model_answers_like_keras_without_keras_ae(trained, exported, tmp_path):
    ae, _, x_val = trained
    out, _ = exported
    for batch in (1, 7):
        x = x_val[:batch]
        expected = keras_outputs(ae, x)
        np.save(tmp_path / f"images_{batch}.npy", x)
        np.save(tmp_path / f"codes_{batch}.npy", expected["encode"])
        for name, value in expected.items():
            np.save(tmp_path / f"{name}_{batch}.npy", value)
    script = f"""
        import json, sys
        import numpy as np
        import tensorflow as tf

        model = tf.saved_model.load({str(out / "saved_model")!r})
        calls = {{
            "reconstruct": ("images", "images"),
            "encode": ("images", "codes"),
            "decode": ("codes", "images"),
            "denoise": ("images", "images"),
            "serving_default": ("images", "images"),
        }}
        errors = {{}}
        for batch in (1, 7):
            for name, (source, key) in calls.items():
                x = tf.constant(np.load(f"{{source}}_{{batch}}.npy"))
                y = model.signatures[name](**{{source: x}})[key].numpy()
                expected = np.load(f"{{'reconstruct' if name == 'serving_default' else name}}_{{batch}}.npy")
                assert y.shape == expected.shape, (name, y.shape, expected.shape)
                errors[f"{{name}}/{{batch}}"] = float(np.abs(y - expected).max())
        assert not any(m.startswith("keras_ae") for m in sys.modules)
        print(json.dumps(errors))
    """
    errors = json.loads(run_python(script, cwd=tmp_path).strip().splitlines()[-1])
    assert len(errors) == 10
    assert max(errors.values()) <= 1e-5, errors


@pytest.mark.slow
def test_tflite_files_answer_like_keras_in_litert_alone(trained, exported, tmp_path):
    ae, _, x_val = trained
    out, _ = exported
    expected = keras_outputs(ae, x_val)
    np.save(tmp_path / "images.npy", x_val)
    for name, value in expected.items():
        np.save(tmp_path / f"{name}.npy", value)
    script = f"""
        import json, sys
        import numpy as np
        from ai_edge_litert.interpreter import Interpreter

        images, codes = np.load("images.npy"), np.load("encode.npy")
        inputs = {{"reconstruct": ("images", images), "encode": ("images", images),
                  "decode": ("codes", codes), "denoise": ("images", images)}}
        report = {{}}
        for mode in ("float32", "float16", "dynamic", "int8"):
            interpreter = Interpreter(model_path=f"{out}/model_{{mode}}.tflite", num_threads=1)
            report[mode] = {{"signatures": sorted(interpreter.get_signature_list())}}
            for name, (key, x) in inputs.items():
                runner = interpreter.get_signature_runner(name)
                y = np.concatenate([next(iter(runner(**{{key: x[i : i + 1]}}).values())) for i in range(len(x))])
                np.save(f"{{mode}}_{{name}}.npy", y)
        assert "tensorflow" not in sys.modules, "LiteRT pulled in TensorFlow"
        print(json.dumps(report))
    """
    report = json.loads(run_python(script, cwd=tmp_path).strip().splitlines()[-1])
    for mode in ("float32", "float16", "dynamic", "int8"):
        assert report[mode]["signatures"] == sorted(SIGNATURES), mode

    def error(mode, name):
        return float(np.abs(np.load(tmp_path / f"{mode}_{name}.npy") - expected[name]).max())

    for name in SIGNATURES:
        assert error("float32", name) <= 1e-4, name
        assert error("float16", name) <= 1e-2, name
    float_psnr = psnr(x_val, expected["reconstruct"])
    assert float_psnr > 11.0, "the model did not learn; int8 would be compared against noise"
    for mode in ("int8", "dynamic"):
        for name in ("reconstruct", "denoise"):
            quantized = psnr(x_val, np.load(tmp_path / f"{mode}_{name}.npy"))
            assert quantized >= float_psnr - 0.5, (mode, name, quantized, float_psnr)


@pytest.mark.slow
def test_metadata_lists_every_file_with_its_sha256(trained, exported):
    ae, _, _ = trained
    out, meta = exported
    assert json.loads((out / "metadata.json").read_text()) == json.loads(json.dumps(meta))
    on_disk = {
        str(path.relative_to(out)).replace(os.sep, "/")
        for path in out.rglob("*")
        if path.is_file() and path.name != "metadata.json"
    }
    assert set(meta["files"]) == on_disk
    assert {"model_float32.tflite", "model_int8.tflite", "saved_model/saved_model.pb"} <= on_disk
    for relative, entry in meta["files"].items():
        assert entry["sha256"] == metadata.sha256(out / relative), relative
        assert entry["bytes"] == (out / relative).stat().st_size, relative
    weights = meta["files"]["saved_model/variables/variables.data-00000-of-00001"]["bytes"]
    assert weights < 1.2 * 4 * ae.autoencoder.count_params(), "the SavedModel stores its weights more than once"
    assert meta["input"] == {"shape": [28, 28, 1], "dtype": "float32", "range": [0.0, 1.0]}
    assert meta["code_size"] == ae.code_size == 8
    assert meta["info"] == {"dataset": "mnist-5k"}
    assert set(meta["versions"]) == {"keras_ae", "tensorflow", "keras"}
    signatures = meta["saved_model"]["signatures"]
    assert set(signatures) == {*SIGNATURES, "serving_default"}
    assert signatures["encode"]["outputs"] == {"codes": {"shape": [None, 8], "dtype": "float32"}}
    assert signatures["decode"]["inputs"] == {"codes": {"shape": [None, 8], "dtype": "float32"}}
    for mode in ("float32", "float16", "dynamic", "int8"):
        entry = meta["tflite"][mode]
        assert entry["file"] == f"model_{mode}.tflite" and entry["batch"] == 1
        assert set(entry["signatures"]) == set(SIGNATURES)
        assert entry["signatures"]["reconstruct"]["inputs"]["images"]["shape"] == [1, 28, 28, 1]
        assert entry["signatures"]["encode"]["outputs"]["codes"]["shape"] == [1, 8]
    assert not os.path.exists(f"{out}.partial")
    assert not [p for p in out.rglob(".tflite-source-*")], "the fixed-batch SavedModel was left behind"


@pytest.fixture(scope="module")
def model_file(trained, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.keras"
    trained[0].save(str(path))
    return path


@pytest.mark.slow
def test_cli_exports_and_prints_a_table(model_file, tmp_path, capsys):
    from keras_ae.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "export",
                str(model_file),
                "-o",
                str(tmp_path / "out"),
                "--format",
                "tflite",
                "--quantize",
                "float32,float16",
            ]
        )
    stdout = capsys.readouterr().out
    assert exit_info.value.code == 0
    assert "model_float32.tflite" in stdout and "model_float16.tflite" in stdout and "KiB" in stdout
    assert sorted(os.listdir(tmp_path / "out")) == ["metadata.json", "model_float16.tflite", "model_float32.tflite"]


@pytest.mark.slow
def test_cli_refuses_a_file_that_is_not_a_model_in_one_line(tmp_path):
    """In a fresh process, as a user meets it: TensorFlow's start-up chatter must not bury the one line."""
    out = tmp_path / "out"
    (tmp_path / "notes.txt").write_text("not a model")
    assert_one_line_error(run_cli(tmp_path / "notes.txt", "-o", out), "not a Keras model file")
    assert not out.exists() and not Path(f"{out}.partial").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    "case", ["target under a file", "dataset of another shape", "unknown quantization", "unwritable target"]
)
def test_cli_refuses_bad_input_in_process(model_file, tmp_path, capsys, case):
    from keras_ae.cli import main

    (tmp_path / "notes.txt").write_text("not a folder")
    out = tmp_path / "notes.txt" / "out" if case == "target under a file" else tmp_path / "out"
    extra, fragment = {
        "target under a file": ([], "cannot write there"),
        "dataset of another shape": (["--dataset", "digits"], "digits"),
        "unknown quantization": (["--quantize", "int4"], "int4"),
        "unwritable target": ([], "-o /proc/forbidden"),
    }[case]
    if case == "unwritable target":
        out = Path("/proc/forbidden")
    with pytest.raises(SystemExit) as exit_info:
        main(["export", str(model_file), "-o", str(out), *extra])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err.count("\n") == 1 and err.startswith("Error: "), err
    assert fragment in err
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()
    assert not Path("/proc/forbidden.partial").exists()


@pytest.mark.slow
def test_library_refuses_bad_arguments(trained, tmp_path):
    ae, _, _ = trained
    out = tmp_path / "out"
    with pytest.raises(UserError, match="representative data"):
        exporter.export(ae, out, quantize=["int8"])
    with pytest.raises(UserError, match="unknown format 'onnx'.*saved_model, tflite"):
        exporter.export(ae, out, formats=["onnx"])
    with pytest.raises(UserError, match="unknown quantization mode 'int4'.*float32, float16, dynamic, int8"):
        exporter.export(ae, out, quantize="int4")
    with pytest.raises(UserError, match="shape"):
        exporter.export(ae, out, quantize=["int8"], representative_data=np.zeros((4, 8, 8, 1), np.float32))
    with pytest.raises(UserError, match="taken"):
        exporter.export(ae, out, formats=["saved_model"], endpoints={"encode": ae.autoencoder})
    with pytest.raises(UserError, match="tflite-batch"):
        exporter.export(ae, out, formats=["tflite"], quantize=["float32"], tflite_batch=0)
    with pytest.raises(UserError, match="not found"):
        exporter.export(tmp_path / "missing.keras", out)
    assert not out.exists() and not Path(f"{out}.partial").exists()


@pytest.mark.slow
def test_export_replaces_its_own_files_and_a_failed_one_leaves_the_folder_intact(trained, tmp_path, monkeypatch):
    ae, _, _ = trained
    out = tmp_path / "out"
    exporter.export(ae, out, formats=["saved_model"])
    (out / "notes.txt").write_text("added by the user")
    exporter.export(ae, out, formats=["tflite"], quantize=["float32"])
    assert sorted(os.listdir(out)) == ["metadata.json", "model_float32.tflite", "notes.txt"]  # saved_model/ went
    before = {name: (out / name).read_bytes() for name in os.listdir(out)}

    def broken(*args, **kwargs):
        raise RuntimeError("converter crashed")

    monkeypatch.setattr(tflite, "convert", broken)
    with pytest.raises(RuntimeError, match="converter crashed"):
        exporter.export(ae, out, formats=["saved_model", "tflite"], quantize=["float16"])
    assert {name: (out / name).read_bytes() for name in os.listdir(out)} == before
    assert not Path(f"{out}.partial").exists()


@pytest.mark.slow
def test_export_never_replaces_a_folder_that_is_not_an_export(model_file, tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"not an export")
    with pytest.raises(UserError, match="not an earlier export"):
        exporter.export(model_file, tmp_path / "photos", formats=["saved_model"])
    assert os.listdir(tmp_path / "photos") == ["cat.jpg"]
    with pytest.raises(UserError, match="holds the model"):
        exporter.export(model_file, model_file.parent, formats=["saved_model"])
    assert model_file.exists()
    exporter.export(model_file, tmp_path / "empty", formats=["saved_model"])  # an empty or new folder is fine


@pytest.mark.slow
def test_int8_io_and_a_larger_fixed_batch(trained, tmp_path):
    ae, x_train, x_val = trained
    out = tmp_path / "out"
    meta = exporter.export(
        ae, out, formats=["tflite"], quantize=["int8"], representative_data=x_train[:64], tflite_batch=4, int8_io=True
    )
    signature = meta["tflite"]["int8"]["signatures"]["reconstruct"]
    images_in, images_out = signature["inputs"]["images"], signature["outputs"]["images"]
    assert images_in["shape"] == [4, 28, 28, 1] and images_in["dtype"] == "int8"
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=str(out / "model_int8.tflite")).get_signature_runner("reconstruct")
    scale, zero = images_in["quantization"]["scale"], images_in["quantization"]["zero_point"]
    q = np.clip(np.round(x_val[:4] / scale + zero), -128, 127).astype(np.int8)
    y = runner(images=q)["images"]
    assert y.dtype == np.int8
    y = (y.astype(np.float32) - images_out["quantization"]["zero_point"]) * images_out["quantization"]["scale"]
    assert psnr(x_val[:4], y) >= psnr(x_val[:4], ae.reconstruct(x_val[:4])) - 1.0


@pytest.mark.slow
def test_a_model_built_under_mixed_precision_exports_float32_signatures(tmp_path):
    """`--mixed-precision` models compute in bfloat16 (float16 on a GPU). Their export answers in the float32
    that metadata.json promises, like the same weights in a float32 model, and converts to TFLite (which has
    no bfloat16 kernels); the user's model itself is left as it was."""
    import tensorflow as tf

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        keras.utils.set_random_seed(2)
        ae = conv_autoencoder((8, 8, 1), filters=(4,), bottleneck=3, dense_units=8)
        exporter.export(ae, tmp_path / "out", quantize=["float32"], endpoints={"denoise": ae})
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert ae.autoencoder.get_layer("encoder").get_layer("bottleneck").dtype_policy.name == "mixed_bfloat16"
    twin = conv_autoencoder((8, 8, 1), filters=(4,), bottleneck=3, dense_units=8)
    twin.autoencoder.set_weights(ae.autoencoder.get_weights())
    x = np.random.default_rng(0).random((3, 8, 8, 1), dtype=np.float32)
    loaded = tf.saved_model.load(str(tmp_path / "out" / "saved_model"))
    codes = loaded.signatures["encode"](images=tf.constant(x))["codes"]
    assert codes.dtype == tf.float32
    np.testing.assert_allclose(codes, twin.encoder(x), atol=1e-5)
    for name in ("reconstruct", "denoise"):
        images = loaded.signatures[name](images=tf.constant(x))["images"]
        assert images.dtype == tf.float32, name
        np.testing.assert_allclose(images, twin.autoencoder(x), atol=1e-5, err_msg=name)
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=str(tmp_path / "out" / "model_float32.tflite")).get_signature_runner("reconstruct")
    np.testing.assert_allclose(runner(images=x[:1])["images"], twin.autoencoder(x[:1]), atol=1e-4)
