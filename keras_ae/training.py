"""`fit`: the one place keras-ae calls `model.fit`.

It compiles with a cosine learning-rate schedule, resumes interrupted runs with Keras' `BackupAndRestore`,
and keeps a history that spans restarts (Keras' own `History` only holds the epochs of the last `fit` call).
It trains under whatever `tf.distribute` strategy `keras_ae.distribute.use` made current: Keras' `model.fit`
on one or several local devices, `keras_ae.distribute.fit` across workers (see docs/distributed.md).
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
    model: keras.Model,
    loss: str = "mse",
    learning_rate: float = 1e-3,
    decay_steps: int | None = None,
    scale=None,
    jit_compile=None,
):
    """Adam with an optional cosine schedule and the loss by name. `jit_compile=None` is Keras' "auto" (XLA on
    GPUs only); True or False (the CLI's `--jit-compile/--no-jit-compile`) decides."""
    if learning_rate <= 0:
        raise UserError(f"--learning-rate must be positive, got {learning_rate}")
    schedule = learning_rate
    if decay_steps:
        schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps, alpha=0.05)
    with _strategy_scope(model):
        model.compile(
            optimizer=keras.optimizers.Adam(schedule),
            loss=loss_function(loss, scale),
            jit_compile="auto" if jit_compile is None else jit_compile,
        )
        build_optimizer(model)
    return model


def build_optimizer(model: keras.Model) -> None:
    """Make the compiled optimizer's slot variables now, for the variables trainable now.

    Left to the first training step, they are created inside its tf.function, and TensorFlow then traces the
    step twice (a trace that creates variables is always followed by one that must not): measured, that is
    half of a short run's time on a CPU (1.9 s against 3.6 s for one epoch of a small conv autoencoder).
    Call it after `compile` and after any change of `trainable`: the optimizer serves only these variables.
    """
    if model.built and model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)


def _strategy_scope(model):
    """The scope of the strategy the model was built under, so its optimizer's variables live beside its own."""
    import contextlib

    strategy = getattr(model, "_distribute_strategy", None)
    return strategy.scope() if strategy is not None else contextlib.nullcontext()


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
    jit_compile=None,
) -> dict:
    """Train `model` on `(input, target)` batches; resumable from `workdir`. Returns the full history.

    Args:
        model: the Keras model to train (an `Autoencoder`'s `.autoencoder`, a denoiser, an ACAI wrapper...).
        train: `(input, target)` batches, e.g. `data.batches("train", 64, shuffle=True)`. They are global
            batches: under a strategy with several replicas each one is split among them.
        validation: batches for `val_loss`, or None.
        epochs: how many passes over `train`.
        workdir: holds `history.json` and the backups an interrupted run resumes from. On workers other than
            the chief of a multi-worker run, a private temporary copy.
        steps_per_epoch: only sizes the cosine learning-rate schedule (None: a constant learning rate).
        loss: `"mse"` or `"bce"`.
        learning_rate: Adam's, at the start of the schedule.
        tensorboard: also log for TensorBoard into this folder.
        callbacks: more Keras callbacks.
        verbose: Keras' progress output.
        loss_scale: per-feature std of vectors: the error is measured in standardised units.
        jit_compile: compile the training step with XLA (None: Keras' "auto", on GPUs only).

    Returns:
        The history of every finished epoch, across restarts: `{"epoch": [...], "loss": [...], ...}`.
    """
    from keras_ae import distribute

    check_settings(epochs, loss, learning_rate, tensorboard)
    multi_worker = distribute.is_multi_worker()
    if multi_worker and tensorboard:
        raise UserError("--tensorboard is not supported with --strategy multiworker yet")
    decay_steps = epochs * steps_per_epoch if steps_per_epoch else None
    compile_model(model, loss, learning_rate, decay_steps, loss_scale, jit_compile=jit_compile)
    workdir = distribute.worker_path(workdir)
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
    train, validation = without_autotune_model(train), without_autotune_model(validation)
    if multi_worker:  # Keras 3's model.fit cannot run under MultiWorkerMirroredStrategy (keras-team/keras#20585)
        distribute.fit(model, train, validation, epochs, callbacks=all_callbacks, verbose=verbose)
    else:
        model.fit(
            train, validation_data=validation, epochs=epochs, callbacks=all_callbacks, verbose=verbose, shuffle=False
        )
    return log.history()


def fit_data(model: keras.Model, data, batch_size: int, workdir: str, seed: int = 0, **options) -> dict:
    """`fit` on an `ImageData` as an autoencoder learns it: shuffled (x, x) training batches, the validation
    split for `val_loss`, the schedule sized to the training split. `options` go to `fit` (`epochs`, ...)."""
    train = data.batches("train", batch_size, shuffle=True, seed=seed)
    steps_per_epoch = steps(data.num_train, batch_size)
    return fit(
        model,
        train,
        data.batches("validation", batch_size),
        workdir=workdir,
        steps_per_epoch=steps_per_epoch,
        **options,
    )


def without_autotune_model(dataset):
    """The dataset with tf.data's autotuning model turned off; anything that is not a `tf.data.Dataset` as is.

    Keras makes a new iterator of the training (and validation) data every epoch. Deleting the old one waits
    for its autotuning thread, and in TF 2.21 that wait stalled the start of about one epoch in three by 1-5 s
    with the CPU idle (seen in `py-spy dump --native`: `RootDataset::Iterator::~Iterator`), up to 40% of a
    small model's epoch. Without the model, AUTOTUNE maps run one call per core and prefetch buffers keep
    their own (legacy) tuning, which is all a keras-ae pipeline needs.
    """
    import tensorflow as tf

    if not isinstance(dataset, tf.data.Dataset):
        return dataset
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def pipeline_generator(seed: int):
    """A `tf.random.Generator` for a random callable in a `tf.data` pipeline: made outside any graph being
    traced, on the CPU where tf.data runs. Stateful `tf.random` ops would replay the same values every epoch
    once a global seed is set (`keras_ae.denoise.noise`); a generator's state moves on."""
    import tensorflow as tf

    with tf.init_scope(), tf.device("/CPU:0"):
        return tf.random.Generator.from_seed(seed)


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
