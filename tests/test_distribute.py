"""tf.distribute: one device vs two mirrored replicas, two workers on 127.0.0.1, and one-line errors.

Device layout and the multi-worker runtime are fixed when TensorFlow starts, so every run that needs them is
a fresh process, bounded by a timeout and killed if it overruns.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import assert_one_line_error

from keras_ae import distribute
from keras_ae.errors import UserError

PROCESS_TIMEOUT = 240
TINY_TRAIN = ("train", "--dataset", "digits", "--filters", "8", "--bottleneck", "8", "--epochs", "2")


def python(code: str, timeout=PROCESS_TIMEOUT, **env):
    """Run `code` in a fresh interpreter; returns the completed process."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env},
    )


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def cluster(ports, index: int) -> str:
    workers = [f"127.0.0.1:{port}" for port in ports]
    return json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})


MIRRORED_VS_ONE_DEVICE = """
    import json, tempfile
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from keras_ae import data as datasets, distribute, training
    from keras_ae.models import build

    data = datasets.load("digits", seed=0)
    curves = {}
    for name, loop in (("default", "fit"), ("mirrored", "fit"), ("mirrored", "custom")):
        strategy = distribute.use(name)
        keras.utils.set_random_seed(0)
        ae = build("conv", data.shape, 8, filters=(8,))
        train, validation = data.batches("train", 64, shuffle=True, seed=0), data.batches("validation", 64)
        if loop == "fit":  # training.fit: Keras' model.fit under the process-wide strategy
            history = training.fit(ae.autoencoder, train, validation, 3, tempfile.mkdtemp(), verbose=0)
        else:  # the multi-worker training step, here over two local replicas
            training.compile_model(ae.autoencoder)
            history = distribute.fit(ae.autoencoder, train, validation, 3, verbose=0).history
        copies = strategy.experimental_local_results(ae.autoencoder.weights[0].value)
        curves[f"{name}-{loop}"] = {"loss": history["loss"], "val_loss": history["val_loss"],
                                    "replicas": strategy.num_replicas_in_sync,
                                    "copies": len({c.device for c in copies})}
        distribute.reset()
    print(json.dumps(curves))
"""


@pytest.mark.slow
def test_two_mirrored_replicas_follow_the_one_device_loss_curve():
    done = python(MIRRORED_VS_ONE_DEVICE)
    assert done.returncode == 0, done.stderr[-3000:]
    curves = json.loads(done.stdout.strip().splitlines()[-1])
    one = curves["default-fit"]
    assert one["replicas"] == 1
    assert one["loss"][-1] < 0.5 * one["loss"][0]  # it trains
    for name in ("mirrored-fit", "mirrored-custom"):
        assert curves[name]["replicas"] == 2 and curves[name]["copies"] == 2, curves[name]
        for key in ("loss", "val_loss"):
            np.testing.assert_allclose(curves[name][key], one[key], rtol=0.1, err_msg=f"{name} {key}")


@pytest.mark.slow
def test_two_workers_train_in_step_and_only_the_chief_writes(tmp_path):
    """Two `keras-ae train --strategy multiworker` processes on 127.0.0.1, as on two machines."""
    ports = free_ports(2)
    out = tmp_path / "run"
    workers = []
    try:
        for index in range(2):
            private = tmp_path / f"tmp{index}"
            private.mkdir()
            env = {
                **os.environ,
                "TF_CPP_MIN_LOG_LEVEL": "3",
                "TF_CONFIG": cluster(ports, index),
                "TMPDIR": str(private),
                distribute.PEER_TIMEOUT_ENV: "90",
            }
            command = [sys.executable, "-m", "keras_ae.cli", *TINY_TRAIN, "--strategy", "multiworker", "--out", out]
            workers.append(
                subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            )
        results = [worker.communicate(timeout=PROCESS_TIMEOUT) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    for worker, (_, err) in zip(workers, results, strict=True):
        assert worker.returncode == 0, err[-3000:]

    from keras_ae import load

    assert sorted(os.listdir(tmp_path)) == ["run", "tmp0", "tmp1"]  # nothing else written beside the run
    assert json.loads((out / "history.json").read_text())["epoch"] == [1, 2]
    (copy,) = (tmp_path / "tmp1").rglob("model.keras")  # worker 1 wrote its files to a private copy
    assert not list((tmp_path / "tmp0").rglob("*.keras"))
    chief, other = load(out / "model.keras"), load(copy)
    for a, b in zip(chief.autoencoder.get_weights(), other.autoencoder.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    history = json.loads((out / "history.json").read_text())
    assert history["loss"][-1] < history["loss"][0]


@pytest.mark.slow
def test_a_worker_without_its_peer_gives_up_with_one_line(tmp_path):
    port, missing = free_ports(2)
    code = f"""
        from keras_ae.cli import main
        main({[*TINY_TRAIN, "--strategy", "multiworker", "--out", str(tmp_path / "run")]!r})
    """
    done = python(code, timeout=120, TF_CONFIG=cluster([port, missing], 0), **{distribute.PEER_TIMEOUT_ENV: "3"})
    assert_one_line_error(done.returncode, done.stderr, f"127.0.0.1:{missing}", "within 3 s")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "needs TF_CONFIG"),
        ("{not json", "not valid JSON"),
        ('{"task": {"type": "worker", "index": 0}}', '"cluster"'),
        ('{"cluster": {"worker": ["127.0.0.1:1"]}}', '"task"'),
        ('{"cluster": {"worker": ["127.0.0.1"]}, "task": {"type": "worker", "index": 0}}', "host:port"),
        ('{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 2}}', "out of range"),
        ('{"cluster": {"ps": ["a:1"]}, "task": {"type": "ps", "index": 0}}', '"ps"'),
        ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "chief", "index": 0}}', '"chief"'),
    ],
)
def test_malformed_tf_config_is_refused_in_one_line(text, fragment):
    with pytest.raises(UserError, match=re.escape(fragment)) as error:
        distribute.tf_config(text)
    assert "\n" not in str(error.value)


def test_bad_strategy_flags_are_one_line_errors(cli, monkeypatch):
    assert_one_line_error(*cli(*TINY_TRAIN, "--strategy", "gpus")[::2], "--strategy", "gpus")
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker"}}')
    assert_one_line_error(*cli(*TINY_TRAIN, "--strategy", "multiworker")[::2], "TF_CONFIG", '"index"')
    assert_one_line_error(*cli("recipe", "denoise", "--strategy", "many")[::2], "--strategy", "many")
    monkeypatch.setenv(distribute.PEER_TIMEOUT_ENV, "soon")
    monkeypatch.setenv("TF_CONFIG", cluster([1, 2], 0))
    assert_one_line_error(*cli(*TINY_TRAIN, "--strategy", "multiworker")[::2], distribute.PEER_TIMEOUT_ENV)


def test_every_recipe_takes_the_distribution_flags(cli):
    from keras_ae.cli import register_commands
    from keras_ae.cli.recipe import recipe, recipe_summaries

    register_commands()
    names = set(recipe_summaries())  # every module in recipes/, not only those that happen to have a command
    assert len(names) >= 7 and names <= set(recipe.commands), sorted(names - set(recipe.commands))
    for name in sorted(names):
        code, out, _ = cli("recipe", name, "--help")
        assert code == 0 and "--strategy" in out and "--jit-compile" in out and "--mixed-precision" in out, name


@pytest.mark.slow
def test_the_training_step_resumes_and_stops_like_fit(tmp_path):
    """keras_ae.distribute.fit (here on one device) honours BackupAndRestore, EarlyStopping and the history."""
    import keras

    from keras_ae import data as datasets
    from keras_ae import training
    from keras_ae.models import build

    data = datasets.load("digits", seed=0)

    class Killed(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise RuntimeError("killed after epoch 2")

    def run(callbacks):
        keras.utils.set_random_seed(0)
        ae = build("conv", data.shape, 8, filters=(8,))
        training.compile_model(ae.autoencoder)
        log = training.EpochLog(str(tmp_path / "history.json"))
        backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))
        train, validation = data.batches("train", 64), data.batches("validation", 64)
        history = distribute.fit(ae.autoencoder, train, validation, 6, callbacks=[log, backup, *callbacks], verbose=0)
        return history, log.history()

    with pytest.raises(RuntimeError, match="killed"):
        run([Killed()])
    stop = keras.callbacks.EarlyStopping("val_loss", min_delta=1.0, patience=0)  # no epoch improves by 1.0
    history, log = run([stop])
    assert history.epoch == [2, 3]  # resumed at epoch 3, stopped after epoch 4
    assert log["epoch"] == [1, 2, 3, 4] and log["val_loss"][-1] < log["val_loss"][0]
    assert not (tmp_path / "backup").exists()  # a finished run removes its backup


ACAI_THROUGH_EACH_LOOP = """
    import json
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    import numpy as np
    from keras_ae import distribute, training
    from keras_ae.models import conv_autoencoder
    from keras_ae.models.acai import AdversarialInterpolation

    x = np.random.default_rng(0).random((128, 8, 8, 1), dtype=np.float32)
    pairs = tf.data.Dataset.from_tensor_slices((x, x))
    curves = {}
    for name, loop in (("default", "keras"), ("default", "multi-worker"), ("mirrored", "multi-worker")):
        strategy = distribute.use(name)
        keras.utils.set_random_seed(0)
        model = AdversarialInterpolation(conv_autoencoder((8, 8, 1), filters=(4,), bottleneck=3, dense_units=0))
        critic = [w.numpy().copy() for w in model.critic.weights]
        training.compile_model(model)
        train, validation = pairs.batch(64), pairs.take(64).batch(64)
        if loop == "keras":
            history = model.fit(train, validation_data=validation, epochs=2, verbose=0, shuffle=False).history
        else:
            history = distribute.fit(model, train, validation, 2, verbose=0).history
        moved = [float(np.abs(b - w.numpy()).max()) for b, w in zip(critic, model.critic.weights)]
        curves[f"{name}/{loop}"] = {**history, "replicas": strategy.num_replicas_in_sync, "critic": max(moved),
                                    "own_step": distribute.has_own_train_step(model)}
        distribute.reset()
    plain = conv_autoencoder((8, 8, 1), filters=(4,), bottleneck=3).autoencoder
    curves["plain_own_step"] = distribute.has_own_train_step(plain)
    print(json.dumps(curves))
"""


@pytest.mark.slow
def test_a_model_with_its_own_training_step_keeps_it_under_every_loop():
    """ACAI trains a critic in its `train_step`. The multi-worker loop runs that step (not one made from the
    compiled loss alone, which would skip the critic), with Keras' own curves on one device; on two mirrored
    replicas the loss it reports and the weight of its critic's terms are those of one device (Keras divides
    only the compiled loss by the replicas in sync)."""
    done = python(ACAI_THROUGH_EACH_LOOP, timeout=2 * PROCESS_TIMEOUT)
    assert done.returncode == 0, done.stderr[-3000:]
    curves = json.loads(done.stdout.strip().splitlines()[-1])
    assert curves.pop("plain_own_step") is False
    keras_fit, one, two = curves["default/keras"], curves["default/multi-worker"], curves["mirrored/multi-worker"]
    assert one["own_step"] and (one["replicas"], two["replicas"]) == (1, 2)
    assert set(one) == set(keras_fit) and {"loss", "critic_loss", "mix_realism", "val_loss"} <= set(two)
    assert one["critic"] > 0 and one["critic"] == pytest.approx(keras_fit["critic"], rel=1e-4)  # the critic trained
    for key in ("loss", "critic_loss", "mix_realism", "val_loss"):
        np.testing.assert_allclose(one[key], keras_fit[key], rtol=1e-4, err_msg=key)
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(two[key], one[key], rtol=0.01, err_msg=f"two replicas: {key}")
    np.testing.assert_allclose(two["critic_loss"], one["critic_loss"], rtol=0.5)


@pytest.mark.slow
@pytest.mark.parametrize("flag", ["--mixed-precision", "--jit-compile"])
def test_precision_and_xla_flags_reach_a_real_training_run(cli, tmp_path, flag):
    """A tiny `keras-ae train` with each flag: the model trains under it, and the process is as before afterwards."""
    import zipfile

    import keras

    out = tmp_path / "run"
    args = ("train", "--dataset", "digits", "--arch", "dense", "--hidden", "16", "--bottleneck", "4", "--epochs", "1")
    code, _, err = cli(*args, flag, "--out", out)
    assert code == 0, err
    assert np.isfinite(json.loads((out / "history.json").read_text())["loss"][0])
    assert keras.mixed_precision.global_policy().name == "float32"  # undone when the command ended
    model = keras.saving.load_model(out / "model.keras", safe_mode=True, compile=False)
    dense = [layer for layer in model.get_layer("encoder").layers if isinstance(layer, keras.layers.Dense)]
    assert {w.dtype for w in model.weights} == {"float32"}
    with zipfile.ZipFile(out / "model.keras") as archive:
        compiled = json.loads(archive.read("config.json"))["compile_config"]
    if flag == "--mixed-precision":  # bfloat16 maths on a CPU (float16 on a GPU), float32 weights
        import tensorflow as tf

        expected = "mixed_float16" if tf.config.list_physical_devices("GPU") else "mixed_bfloat16"
        assert {layer.dtype_policy.name for layer in dense} == {expected}
    else:
        assert {layer.dtype_policy.name for layer in dense} == {"float32"}
        assert compiled["jit_compile"] is True
