"""Training lowers the loss, and an interrupted run resumes with a history that covers every epoch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import keras
import pytest

from keras_ae import conv_autoencoder, data, training


class Crash(Exception):
    pass


class CrashAfterEpoch(keras.callbacks.Callback):
    """Simulates a killed process: raises once epoch `epoch` (1-based) has been saved."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epoch:
            raise Crash()


class CountEpochs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.ran = []

    def on_epoch_begin(self, epoch, logs=None):
        self.ran.append(epoch + 1)


def _digits_run(workdir, epochs, callbacks=()):
    keras.utils.set_random_seed(0)
    d = data.load("digits")
    ae = conv_autoencoder(d.shape, filters=(8,), bottleneck=8, dense_units=32)
    return training.fit(
        ae.autoencoder,
        d.batches("train", 64, shuffle=True),
        d.batches("validation", 64),
        epochs=epochs,
        workdir=str(workdir),
        steps_per_epoch=training.steps(d.num_train, 64),
        callbacks=callbacks,
        verbose=0,
    )


@pytest.mark.slow
def test_training_lowers_the_loss(tmp_path):
    history = _digits_run(tmp_path, epochs=4)
    assert history["epoch"] == [1, 2, 3, 4]
    assert history["loss"][-1] < 0.7 * history["loss"][0]
    assert history["val_loss"][-1] < history["val_loss"][0]


def test_fit_gives_keras_its_data_without_the_autotuning_model(tmp_path, monkeypatch):
    """Deleting an autotuned iterator at each epoch's end stalled training for seconds (training.py says how)."""
    seen = []
    original_fit = keras.Model.fit

    def spy(model, x=None, validation_data=None, **kwargs):
        seen.extend([x, validation_data])
        return original_fit(model, x, validation_data=validation_data, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", spy)
    history = _digits_run(tmp_path, epochs=1)
    assert [ds.options().autotune.enabled for ds in seen] == [False, False]
    assert len(history["loss"]) == 1
    plain = data.load("digits").batches("train", 64)
    assert plain.options().autotune.enabled is not False  # the data module's own pipelines stay as they were
    assert training.without_autotune_model(None) is None


@pytest.mark.slow
def test_interrupted_training_resumes_and_keeps_every_epoch(tmp_path):
    with pytest.raises(Crash):
        _digits_run(tmp_path, epochs=5, callbacks=[CrashAfterEpoch(2)])
    assert os.path.isdir(tmp_path / "backup")
    counter = CountEpochs()
    history = _digits_run(tmp_path, epochs=5, callbacks=[counter])
    assert counter.ran == [3, 4, 5]  # resumed after the last completed epoch
    assert history["epoch"] == [1, 2, 3, 4, 5]
    assert len(history["loss"]) == len(history["val_loss"]) == 5
    assert not os.path.exists(tmp_path / "backup")  # removed once training completed


# The run is killed once 2 epochs are saved (the test polls every 50 ms): 10 epochs leave 8 epochs' time to
# kill it in, and the resumed run trains the other 8 (was 30: 28 more epochs of the same check).
KILLED_RUN_EPOCHS = 10


@pytest.mark.slow
def test_killed_cli_run_resumes_where_it_stopped(tmp_path):
    """The real thing: SIGKILL `keras-ae train` mid-run, run the same command again."""
    out = tmp_path / "run"
    command = [
        sys.executable,
        "-m",
        "keras_ae.cli",
        "train",
        "--dataset",
        "digits",
        "--bottleneck",
        "8",
        "--filters",
        "8",
        "--epochs",
        str(KILLED_RUN_EPOCHS),
        "--out",
        str(out),
    ]
    history_file = tmp_path / "run.partial" / "history.json"
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and process.poll() is None:
            if history_file.exists() and len(json.loads(history_file.read_text())["epoch"]) >= 2:
                break
            time.sleep(0.05)
        assert process.poll() is None, "training finished before it could be interrupted"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    done_before = len(json.loads(history_file.read_text())["epoch"])
    assert not out.exists()  # nothing half-written in place of the run folder
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert f"Epoch {done_before + 1}/{KILLED_RUN_EPOCHS}" in result.stdout
    assert f"Epoch 1/{KILLED_RUN_EPOCHS}" not in result.stdout
    history = json.loads((out / "history.json").read_text())
    assert history["epoch"] == list(range(1, KILLED_RUN_EPOCHS + 1))
    assert len(history["loss"]) == len(history["val_loss"]) == KILLED_RUN_EPOCHS
    assert json.loads((out / "metrics.json").read_text())["epochs"] == KILLED_RUN_EPOCHS
    assert not (tmp_path / "run.partial").exists()


def test_the_first_training_step_is_traced_once(monkeypatch):
    """compile_model builds the optimizer, so the first step does not create variables inside its tf.function
    (which makes TensorFlow trace it a second time: half of a short run's time on a CPU)."""
    import numpy as np

    ae = conv_autoencoder((8, 8, 1), filters=(4,), bottleneck=3, dense_units=0)
    model = training.compile_model(ae.autoencoder)
    traced = []
    original = type(model).train_step
    monkeypatch.setattr(type(model), "train_step", lambda self, batch: traced.append(1) or original(self, batch))
    x = np.random.default_rng(0).random((32, 8, 8, 1), dtype=np.float32)
    history = model.fit(x, x, batch_size=8, epochs=2, verbose=0)
    assert len(traced) == 1
    assert history.history["loss"][-1] < history.history["loss"][0]
