"""Training on several devices and machines with TensorFlow's own engine, `tf.distribute`.

`use("mirrored")` makes a strategy the process-wide default (`tf.distribute.experimental_set_strategy`), so
every model, optimizer and metric a recipe builds afterwards is created in its scope, without the recipe
knowing: `keras-ae ... --strategy mirrored` reaches every recipe through this one call.

- `default`: one device, TensorFlow's default strategy.
- `mirrored`: every local GPU (or the CPU) holds a replica; each global batch is split across them and the
  gradients are summed. Training goes through Keras' own `model.fit`.
- `multiworker`: one process per machine, described by `TF_CONFIG`; replicas on every worker stay in sync
  through collective all-reduce. Keras 3's `model.fit` fails under `MultiWorkerMirroredStrategy`
  (keras-team/keras#20585), so `fit` below runs a training step with `strategy.run` over
  `strategy.experimental_distribute_dataset`, the loss summed per replica and divided by the global batch.
- `tpu`: a Cloud TPU found by `TPUClusterResolver`.

The model and the loss are the same on every path: the loss object `training.compile_model` attached to the
model is evaluated per example, so a replica's share of a global batch weighs what it weighs in one device's
mean. A model whose class has its own `train_step` (ACAI trains a critic beside the autoencoder) is trained by
that step on every replica instead, as Keras' `model.fit` would, so no strategy skips what it does.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import time
from typing import TYPE_CHECKING

from keras_ae.errors import UserError

if TYPE_CHECKING:
    import keras

STRATEGIES = ("default", "mirrored", "multiworker", "tpu")
PEER_TIMEOUT_ENV = "KERAS_AE_PEER_TIMEOUT"
PEER_TIMEOUT_SECONDS = 120.0  # how long a worker waits for its peers before giving up with one line


# -- choosing a strategy ---------------------------------------------------------------------------------------
def check_name(name: str) -> str:
    if name not in STRATEGIES:
        raise UserError(f"--strategy must be one of {', '.join(STRATEGIES)}, got '{name}'")
    return name


def use(name: str = "default"):
    """Make strategy `name` the process-wide default and return it; `default` leaves TensorFlow as it is."""
    import tensorflow as tf

    check_name(name)
    if name == "default":
        return tf.distribute.get_strategy()
    strategy = resolve(name)
    tf.distribute.experimental_set_strategy(strategy)
    return strategy


def reset() -> None:
    """Back to TensorFlow's default strategy (models built under the old one keep it)."""
    import tensorflow as tf

    if tf.distribute.has_strategy():
        tf.distribute.experimental_set_strategy(None)


def resolve(name: str):
    """A new strategy object for `name`; multi-worker settings are checked before TensorFlow sees them."""
    import tensorflow as tf

    check_name(name)
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "tpu":
        return _tpu_strategy()
    config = tf_config()
    return _connect(config, peer_timeout())


def current():
    import tensorflow as tf

    return tf.distribute.get_strategy()


def is_multi_worker(strategy=None) -> bool:
    """True under `MultiWorkerMirroredStrategy`, where Keras' `fit` cannot be used (see the module docstring)."""
    import tensorflow as tf

    strategy = strategy or current()
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def is_chief(strategy=None) -> bool:
    """The worker that writes run folders and exports: the `chief` task, else worker 0; always true off a cluster."""
    strategy = strategy or current()
    if not is_multi_worker(strategy):
        return True
    resolver = strategy.cluster_resolver
    if resolver.task_type == "chief":
        return True
    return resolver.task_type == "worker" and resolver.task_id == 0 and "chief" not in resolver.cluster_spec().jobs


def worker_path(path: str) -> str:
    """Where this process writes `path`: the path itself on the chief, a private temporary copy on other workers.

    Every worker runs the same program, so every worker writes; only the chief's files are the user's. The
    others write to the same place under the system temporary folder each time, so an interrupted run resumes.
    """
    if is_chief():
        return path
    resolver = current().cluster_resolver
    private = os.path.join(tempfile.gettempdir(), f"keras-ae-{resolver.task_type}-{resolver.task_id}")
    path = os.path.abspath(path)
    return path if path.startswith(private + os.sep) else os.path.join(private, path.lstrip(os.sep))


# -- TF_CONFIG -------------------------------------------------------------------------------------------------
def tf_config(text: str | None = None) -> dict:
    """`TF_CONFIG` parsed and checked: a cluster of `host:port` addresses and this process's task in it."""
    text = os.environ.get("TF_CONFIG") if text is None else text
    if not text:
        raise UserError(
            "--strategy multiworker needs TF_CONFIG, e.g. "
            '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}'
        )
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise UserError(f"TF_CONFIG is not valid JSON: {error}") from None
    if not isinstance(config, dict) or not isinstance(config.get("cluster"), dict) or not config["cluster"]:
        raise UserError('TF_CONFIG needs a "cluster" object mapping job names to lists of "host:port"')
    task = config.get("task")
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise UserError('TF_CONFIG needs a "task" object with "type" and "index", e.g. {"type": "worker", "index": 0}')
    for job, addresses in config["cluster"].items():
        if job not in ("chief", "worker"):
            raise UserError(f'TF_CONFIG cluster job "{job}" is not supported; use "chief" and "worker"')
        if not isinstance(addresses, list) or not addresses:
            raise UserError(f'TF_CONFIG cluster "{job}" must be a non-empty list of "host:port" strings')
        for address in addresses:
            _split_address(address, job)
    jobs = config["cluster"]
    if len(jobs.get("chief", [])) > 1:
        raise UserError(f"TF_CONFIG cluster has {len(jobs['chief'])} chiefs; at most one")
    kind, index = task["type"], task["index"]
    if kind not in jobs:
        raise UserError(f'TF_CONFIG task type "{kind}" is not a job of its cluster ({", ".join(jobs)})')
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(jobs[kind]):
        raise UserError(f'TF_CONFIG task index {index!r} is out of range for the {len(jobs[kind])} "{kind}" tasks')
    return config


def _split_address(address, job: str):
    host, _, port = address.rpartition(":") if isinstance(address, str) else ("", "", "")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(f'TF_CONFIG cluster "{job}" address {address!r} is not "host:port"')
    return host.strip("[]"), int(port)


def peer_timeout() -> float:
    text = os.environ.get(PEER_TIMEOUT_ENV, "")
    if not text:
        return PEER_TIMEOUT_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1
    if seconds <= 0:
        raise UserError(f"{PEER_TIMEOUT_ENV} must be a positive number of seconds, got '{text}'")
    return seconds


def _connect(config: dict, timeout: float):
    """Meet the other workers, then start TensorFlow's multi-worker runtime.

    TensorFlow waits for a missing peer forever, inside C++ code that holds the interpreter: no signal,
    exception or Python thread gets a word in. So the workers first meet on their own ports with plain
    sockets, where a missing peer is one clear error after `timeout` seconds; only then does TensorFlow
    start its servers on those ports.
    """
    import faulthandler

    import tensorflow as tf
    from tensorflow.python.distribute import collective_all_reduce_strategy as collective

    _rendezvous(config, timeout)
    # Backstops for a peer that vanishes between the meeting and TensorFlow's own handshake: the first
    # all-reduce gets the same deadline (a private knob of TF 2.x), and a stuck start ends the process.
    collective.CollectiveAllReduceExtended._check_health_initial_timeout = int(timeout)
    faulthandler.dump_traceback_later(timeout, exit=True)
    os.environ["TF_CONFIG"] = json.dumps(config)
    try:
        return tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as error:
        if "Collective ops must be configured at program startup" in str(error) or "initialized" in str(error):
            raise UserError(
                "--strategy multiworker must be chosen before TensorFlow starts (a new process per worker)"
            ) from None
        raise UserError(f"worker could not join the cluster in TF_CONFIG: {str(error).splitlines()[0]}") from None
    finally:
        faulthandler.cancel_dump_traceback_later()


RENDEZVOUS_GRACE_SECONDS = 2.0  # how long a worker keeps answering after it has seen everyone


def _rendezvous(config: dict, timeout: float) -> None:
    """Listen on this task's port and wait until every peer's port answers; UserError if one does not in time.

    A worker that has seen all its peers keeps listening a little longer, so that peers still looking see it
    too, then frees the port for TensorFlow's server (which retries until every server is up).
    """
    task = config["task"]
    me = config["cluster"][task["type"]][task["index"]]
    peers = [a for addresses in config["cluster"].values() for a in addresses if a != me]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("", _split_address(me, task["type"])[1]))
    except OSError as error:
        listener.close()
        raise UserError(f"TF_CONFIG: this worker's address {me} cannot be used: {error.strerror}") from None
    listener.listen(64)
    try:
        deadline = time.monotonic() + timeout
        waiting = list(peers)
        while waiting:
            waiting = [a for a in waiting if not _reachable(a)]
            if waiting and time.monotonic() > deadline:
                raise UserError(
                    f"{task['type']} {task['index']} could not reach {', '.join(waiting)} within "
                    f"{timeout:g} s (TF_CONFIG; set {PEER_TIMEOUT_ENV} to wait longer)"
                )
            if waiting:
                time.sleep(0.2)
        time.sleep(RENDEZVOUS_GRACE_SECONDS)
    finally:
        listener.close()


def _reachable(address: str) -> bool:
    host, port = _split_address(address, "worker")
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def _tpu_strategy():
    import tensorflow as tf

    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0][:160]
        raise UserError(f"--strategy tpu: no TPU found ({first})") from None
    return tf.distribute.TPUStrategy(resolver)


# -- precision and compilation ---------------------------------------------------------------------------------
def use_mixed_precision(enabled: bool = True) -> str:
    """`mixed_float16` on a GPU (float16 maths, float32 weights; Keras adds loss scaling), `mixed_bfloat16`
    elsewhere. Returns the policy's name."""
    import keras
    import tensorflow as tf

    name = "float32"
    if enabled:
        name = "mixed_float16" if tf.config.list_physical_devices("GPU") else "mixed_bfloat16"
    keras.mixed_precision.set_global_policy(name)
    return name


# -- the multi-worker training loop ----------------------------------------------------------------------------
def fit(
    model, train, validation, epochs: int, callbacks=(), verbose="auto", strategy=None, global_batch_size=None
) -> keras.callbacks.History:
    """Train a compiled `model` on `(input, target)` batches of the global batch size under `strategy`.

    The parts of `model.fit` a keras-ae run uses, for strategies where `model.fit` itself cannot run:
    epoch-level callbacks (history, BackupAndRestore, TerminateOnNaN, EarlyStopping, LearningRateScheduler,
    CSVLogger), batch-level callbacks with the running loss, the progress bar, and `val_loss`. A model with its
    own `train_step` / `test_step` is trained and evaluated by them, with their logs averaged over replicas.
    """
    import keras
    import tensorflow as tf

    strategy = strategy or current()
    options = tf.data.Options()
    # Every worker reads the whole pipeline and keeps its share of each global batch: works for any source.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    train_batches = strategy.experimental_distribute_dataset(train.with_options(options))
    validation_batches = (
        strategy.experimental_distribute_dataset(validation.with_options(options)) if validation is not None else None
    )
    global_batch = global_batch_size or _batch_size(train)
    loss_object, optimizer = model.loss, model.optimizer
    with strategy.scope():  # the optimizer's slots are created here, not lazily inside the traced step
        if not optimizer.built:
            optimizer.build(model.trainable_variables)

    def per_example_loss(targets, outputs):
        """The compiled loss for each example: the mean over everything but the batch axis."""
        values = loss_object.call(targets, tf.cast(outputs, targets.dtype))
        return tf.reduce_mean(tf.reshape(values, (tf.shape(values)[0], -1)), axis=1)

    def replica_train_step(inputs, targets):
        with tf.GradientTape() as tape:
            outputs = model(inputs, training=True)
            losses = per_example_loss(targets, outputs)
            loss = tf.reduce_sum(losses) / global_batch
            if model.losses:  # penalties such as the sparsity L1 on the code, counted once across replicas
                loss += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
            scaled = optimizer.scale_loss(loss)
        gradients = tape.gradient(scaled, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
        return tf.reduce_sum(losses), tf.cast(tf.shape(losses)[0], tf.float32)

    def replica_test_step(inputs, targets):
        losses = per_example_loss(targets, model(inputs, training=False))
        return tf.reduce_sum(losses), tf.cast(tf.shape(losses)[0], tf.float32)

    def distributed(step):
        @tf.function(jit_compile=bool(getattr(model, "jit_compile", False)))
        def run(batch):
            total, count = strategy.run(step, args=batch)
            return strategy.reduce("SUM", total, axis=None), strategy.reduce("SUM", count, axis=None)

        return run

    train_step, test_step = distributed(replica_train_step), distributed(replica_test_step)
    own_step = has_own_train_step(model)
    if own_step:  # ACAI trains its critic beside the autoencoder: run the model's own steps on every replica
        train_step, test_step = _own_steps(model, strategy)
    verbose = 1 if verbose == "auto" else verbose
    history = keras.callbacks.History()
    callback_list = keras.callbacks.CallbackList(
        [*callbacks, history],
        add_progbar=bool(verbose) and is_chief(strategy),
        model=model,
        verbose=verbose,
        epochs=epochs,
        steps=_steps(train),
    )
    model.stop_training = False
    callback_list.on_train_begin()
    initial_epoch = getattr(model, "_initial_epoch", None) or 0  # set by BackupAndRestore on a resumed run
    logs = {}
    for epoch in range(initial_epoch, epochs):
        callback_list.on_epoch_begin(epoch)
        if own_step:
            logs = _run_own_steps(model, train_step, train_batches, callback_list)
        else:
            logs = _run_steps(train_step, train_batches, callback_list)
        if validation_batches is not None:
            if own_step:
                validation_logs = _run_own_steps(model, test_step, validation_batches)
            else:
                validation_logs = _run_steps(test_step, validation_batches)
            logs.update({f"val_{name}": value for name, value in validation_logs.items()})
        callback_list.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    callback_list.on_train_end(logs)
    return history


def has_own_train_step(model) -> bool:
    """True when the model's class overrides Keras' `train_step` (ACAI's critic), so a training step built
    from `model.loss` alone would skip what that step does."""
    import keras

    return getattr(type(model), "train_step", None) is not keras.Model.train_step


def _own_steps(model, strategy):
    """The model's own `train_step` and `test_step` on every replica; their logs averaged over the replicas."""
    import tensorflow as tf

    def distributed(step):
        @tf.function(jit_compile=bool(getattr(model, "jit_compile", False)))
        def run(batch):
            logs = strategy.run(step, args=(batch,))
            return {name: strategy.reduce("MEAN", value, axis=None) for name, value in logs.items()}

        return run

    return distributed(model.train_step), distributed(model.test_step)


def _run_steps(step, batches, callback_list=None) -> dict:
    """One pass of the compiled-loss step: the loss summed over examples, divided by their count."""
    total, count = 0.0, 0.0
    for index, batch in enumerate(batches):
        if callback_list:
            callback_list.on_train_batch_begin(index)
        batch_total, batch_count = step(batch)
        total, count = total + float(batch_total), count + float(batch_count)
        if callback_list:
            callback_list.on_train_batch_end(index, {"loss": total / max(count, 1.0)})
    return {"loss": total / max(count, 1.0)}


def _run_own_steps(model, step, batches, callback_list=None) -> dict:
    """One pass of the model's own step; its metrics are running means, so the last logs are the pass's."""
    model.reset_metrics()
    logs = {}
    for index, batch in enumerate(batches):
        if callback_list:
            callback_list.on_train_batch_begin(index)
        logs = {name: float(value) for name, value in step(batch).items()}
        if callback_list:
            callback_list.on_train_batch_end(index, logs)
    return logs


def _batch_size(dataset) -> int:
    """The global batch size of a batched data set (its static leading dimension, or the first batch's)."""
    import tensorflow as tf

    first = tf.nest.flatten(dataset.element_spec)[0]
    if first.shape.rank and first.shape[0] is not None:
        return int(first.shape[0])
    for batch in dataset.take(1):
        return int(tf.shape(tf.nest.flatten(batch)[0])[0])
    raise UserError("the training data is empty")


def _steps(dataset):
    known = int(dataset.cardinality())
    return known if known > 0 else None
