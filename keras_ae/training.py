"""`fit`: the one place keras-ae calls `model.fit`.

It compiles with a cosine learning-rate schedule, resumes interrupted runs with Keras' `BackupAndRestore`,
and keeps a history that spans restarts (Keras' own `History` only holds the epochs of the last `fit` call).
"""

from __future__ import annotations

import math
import os

import keras

from keras_ae.errors import UserError
from keras_ae.runs import read_json, write_json

LOSSES = ("mse", "bce")
HISTORY_FILE = "history.json"


def loss_function(loss: str, scale=None):
    """`mse`: the per-pixel squared error of the classic AE (a mean, i.e. the sum up to a constant factor);
    `bce`: binary cross-entropy, for decoders that end in a sigmoid."""
    if loss == "mse" and scale is not None:
        return StandardizedMSE(scale)
    if loss == "mse":
        return keras.losses.MeanSquaredError()
    if loss == "bce":
        return keras.losses.BinaryCrossentropy()
    raise UserError(f"--loss must be one of {', '.join(LOSSES)}, got '{loss}'")


def compile_model(
    model: keras.Model, loss: str = "mse", learning_rate: float = 1e-3, decay_steps: int | None = None, scale=None
):
    if learning_rate <= 0:
        raise UserError(f"--learning-rate must be positive, got {learning_rate}")
    schedule = learning_rate
    if decay_steps:
        schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps, alpha=0.05)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=loss_function(loss, scale))
    return model


class StandardizedMSE(keras.losses.Loss):
    """Squared error of raw vectors divided by each feature's variance: every feature counts alike, even
    when one is measured in thousands and another in thousandths."""

    def __init__(self, scale, name="standardized_mse", **kwargs):
        super().__init__(name=name, **kwargs)
        self.scale = [float(s) for s in scale]

    def call(self, y_true, y_pred):
        scale = keras.ops.convert_to_tensor(self.scale, dtype=y_pred.dtype)
        return keras.ops.mean(keras.ops.square((y_true - y_pred) / scale), axis=-1)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


class EpochLog(keras.callbacks.Callback):
    """Keeps every finished epoch's logs in `history.json`, across restarts.

    The file is Keras-style, `{"epoch": [1, 2, ...], "loss": [...], "val_loss": [...]}`. On a resumed run
    the re-done epoch replaces its old entry, so the file always holds epochs 1..N exactly once.
    """

    def __init__(self, path: str):
        super().__init__()
        self.path = path
        saved = read_json(path, {})
        self.epochs = {
            int(epoch): {k: v[i] for k, v in saved.items() if k != "epoch"}
            for i, epoch in enumerate(saved.get("epoch", []))
        }

    def on_epoch_end(self, epoch, logs=None):
        self.epochs[epoch + 1] = {k: float(v) for k, v in (logs or {}).items() if k != "learning_rate"}
        write_json(self.path, self.history())

    def history(self) -> dict:
        order = sorted(self.epochs)
        keys = sorted({k for logs in self.epochs.values() for k in logs})
        return {"epoch": order, **{k: [self.epochs[e].get(k) for e in order] for k in keys}}


def fit(
    model: keras.Model,
    train,
    validation,
    epochs: int,
    workdir: str,
    steps_per_epoch: int | None = None,
    loss: str = "mse",
    learning_rate: float = 1e-3,
    tensorboard: str | None = None,
    callbacks=(),
    verbose="auto",
    loss_scale=None,
) -> dict:
    """Train `model` on `(input, target)` batches; resumable from `workdir`. Returns the full history.

    `steps_per_epoch` only sizes the cosine schedule (the data sets are finite and end each epoch).
    `loss_scale` (per-feature std of vectors) measures the error in standardised units.
    """
    check_settings(epochs, loss, learning_rate, tensorboard)
    decay_steps = epochs * steps_per_epoch if steps_per_epoch else None
    compile_model(model, loss, learning_rate, decay_steps, loss_scale)
    os.makedirs(workdir, exist_ok=True)
    log = EpochLog(os.path.join(workdir, HISTORY_FILE))
    all_callbacks = [
        log,
        # double_checkpoint: a kill while the weights file is being written (seen here) leaves it corrupt;
        # Keras then falls back to the previous epoch's copy instead of failing.
        keras.callbacks.BackupAndRestore(
            os.path.join(workdir, "backup"), delete_checkpoint=True, double_checkpoint=True
        ),
        keras.callbacks.TerminateOnNaN(),
        *callbacks,
    ]
    if tensorboard:
        all_callbacks.append(keras.callbacks.TensorBoard(log_dir=tensorboard))
    model.fit(train, validation_data=validation, epochs=epochs, callbacks=all_callbacks, verbose=verbose, shuffle=False)
    return log.history()


def check_settings(epochs: int, loss: str = "mse", learning_rate: float = 1e-3, tensorboard=None) -> None:
    """Refuse bad training flags before anything is loaded or written."""
    if tensorboard:
        import importlib.util

        if importlib.util.find_spec("tensorboard") is None:
            raise UserError("--tensorboard needs the tensorboard package: pip install 'keras-ae[tensorboard]'")
    if epochs < 1:
        raise UserError(f"--epochs must be at least 1, got {epochs}")
    if loss not in LOSSES:
        raise UserError(f"--loss must be one of {', '.join(LOSSES)}, got '{loss}'")
    if learning_rate <= 0:
        raise UserError(f"--learning-rate must be positive, got {learning_rate}")


def steps(count: int, batch_size: int) -> int:
    return max(1, math.ceil(count / batch_size))
