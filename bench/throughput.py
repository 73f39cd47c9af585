"""Training and predict throughput of keras-ae against the keras.io denoising example, in one run.

    python bench/throughput.py [--images 8000] [--batch-size 128] [--rounds 3] [--epochs-per-round 3]

Every variant trains the keras.io convolutional denoising autoencoder (`keras_io_denoiser`, BCE, Adam) on the
same MNIST digits (`../shared/data/mnist`, the 10,000 test images; the first `--images`) at the same batch size
and `gaussian:0.4` noise:

  a  keras.io: the noisy copy is made once in numpy and the arrays go to `model.fit`
  b  keras-ae: the recipe path, `training.fit` on a tf.data pipeline that draws fresh noise per example
  c  keras-ae with `--jit-compile` (XLA)
  d  keras-ae with `--mixed-precision` (bfloat16 on this CPU, float16 on a GPU)
  e  keras-ae with both

The CPU may be shared, so the variants are interleaved (a, b, c, d, e, a, b, ...) and each reports the median
images/s over the epochs after the first of each `fit` call (the first traces and compiles). Ratios are to (a).
Beside wall-clock images/s it reports images per CPU-second of this process (all its threads, the input
pipeline included): on a CPU shared with other jobs, wall time measures the neighbours as much as the code,
CPU time much less so.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import machine  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_ae import distribute, training  # noqa: E402
from keras_ae.data.dataset import ImageData  # noqa: E402
from keras_ae.data.sources import read_idx  # noqa: E402
from keras_ae.denoise import noise as noises  # noqa: E402
from keras_ae.models.reference import keras_io_denoiser  # noqa: E402

MNIST = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "mnist", "t10k-images-idx3-ubyte.gz")
NOISE = "gaussian:0.4"
VARIANTS = {
    "a": ("keras.io: pre-noised numpy to fit", {}),
    "b": ("keras-ae: recipe path, noise on the fly", {}),
    "c": ("keras-ae --jit-compile", {"jit_compile": True}),
    "d": ("keras-ae --mixed-precision", {"mixed_precision": True}),
    "e": ("keras-ae --jit-compile --mixed-precision", {"jit_compile": True, "mixed_precision": True}),
}


class EpochTimes(keras.callbacks.Callback):
    """Wall-clock and CPU seconds (this process, every thread) of each epoch."""

    def __init__(self):
        super().__init__()
        self.seconds, self.cpu_seconds = [], []

    def on_epoch_begin(self, epoch, logs=None):
        self._start, self._cpu = time.perf_counter(), time.process_time()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)
        self.cpu_seconds.append(time.process_time() - self._cpu)
        self.loss = float(logs["loss"])


def keras_io_fit(model, clean, noisy, batch_size, epochs):
    """The keras.io example's training call, as published."""
    timer = EpochTimes()
    model.fit(noisy, clean, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0, callbacks=[timer])
    return timer


def keras_ae_fit(model, data, corrupt, batch_size, epochs, workdir, jit_compile=None):
    timer = EpochTimes()
    training.fit(
        model,
        data.batches("train", batch_size, pairs=corrupt.pairs(), shuffle=True),
        None,
        epochs=epochs,
        workdir=workdir,
        loss="bce",
        verbose=0,
        callbacks=[timer],
        jit_compile=jit_compile,
    )
    return timer


def build(variant):
    options = VARIANTS[variant][1]
    distribute.use_mixed_precision(options.get("mixed_precision", False))
    keras.utils.set_random_seed(0)
    model = keras_io_denoiser((28, 28, 1))
    if variant == "a":
        model.compile(optimizer="adam", loss="binary_crossentropy")
    distribute.use_mixed_precision(False)
    return model


def predict_rate(model, noisy, batch_size, repeats=3):
    model.predict(noisy[:batch_size], batch_size=batch_size, verbose=0)
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict(noisy, batch_size=batch_size, verbose=0)
        rates.append(len(noisy) / (time.perf_counter() - start))
    return statistics.median(rates)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=8000)
    parser.add_argument("--batch-size", type=int, default=128)  # the keras.io example's
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs-per-round", type=int, default=3)
    parser.add_argument("--variants", default="abcde")
    args = parser.parse_args()

    clean = (read_idx(MNIST, 0x00000803)[: args.images, :, :, None] / 255.0).astype(np.float32)
    corrupt = noises.parse(NOISE)
    noisy = corrupt.apply_fixed(clean, seed=0)  # the keras.io way: one noisy copy, made up front
    data = ImageData(
        name="mnist-test",
        shape=(28, 28, 1),
        train=tf.data.Dataset.from_tensor_slices({"image": clean}),
        validation=tf.data.Dataset.from_tensor_slices({"image": clean[:1]}),
        num_train=len(clean),
        num_validation=1,
    )
    models = {v: build(v) for v in args.variants}
    rates = {v: [] for v in args.variants}
    cpu_rates = {v: [] for v in args.variants}
    losses = {}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            for v in args.variants:
                if v == "a":
                    timer = keras_io_fit(models[v], clean, noisy, args.batch_size, args.epochs_per_round)
                else:
                    timer = keras_ae_fit(
                        models[v],
                        data,
                        corrupt,
                        args.batch_size,
                        args.epochs_per_round,
                        os.path.join(tmp, f"{v}{round_}"),
                        jit_compile=VARIANTS[v][1].get("jit_compile"),  # None: Keras' "auto", XLA on GPUs only
                    )
                rates[v] += [len(clean) / s for s in timer.seconds[1:]]
                cpu_rates[v] += [len(clean) / s for s in timer.cpu_seconds[1:]]
                losses[v] = timer.loss
                print(f"round {round_ + 1} {v}: {[round(len(clean) / s) for s in timer.seconds]} images/s", flush=True)
        predict = {}
        for _ in range(2):  # interleaved too
            for v in args.variants:
                predict.setdefault(v, []).append(predict_rate(models[v], noisy, args.batch_size))

    base = statistics.median(rates["a"]) if "a" in rates else None
    base_predict = statistics.median(predict["a"]) if "a" in predict else None
    gpu = tf.config.list_physical_devices("GPU")
    device = tf.config.experimental.get_device_details(gpu[0]).get("device_name", "GPU") if gpu else machine.describe()
    print(
        f"\n{len(clean)} MNIST digits, batch {args.batch_size}, {NOISE}, {args.rounds} rounds x "
        f"{args.epochs_per_round} epochs, {device}, TF {tf.__version__}, Keras {keras.__version__}"
    )
    base_cpu = statistics.median(cpu_rates["a"]) if "a" in cpu_rates else None
    print(
        "| variant | train images/s (median) | vs (a) | train images per CPU-s | vs (a) | predict images/s | vs (a) "
        "| last epoch loss |"
    )
    print("|---|---|---|---|---|---|---|---|")

    def ratio(value, reference):
        return f"{value / reference:.2f}x" if reference else "-"

    for v in args.variants:
        train, cpu = statistics.median(rates[v]), statistics.median(cpu_rates[v])
        infer = statistics.median(predict[v])
        print(
            f"| ({v}) {VARIANTS[v][0]} | {train:,.0f} | {ratio(train, base)} | {cpu:,.0f} | {ratio(cpu, base_cpu)} | "
            f"{infer:,.0f} | {ratio(infer, base_predict)} | {losses[v]:.4f} |"
        )


if __name__ == "__main__":
    main()
