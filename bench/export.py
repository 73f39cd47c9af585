"""What an export costs and buys: file size, latency, throughput and PSNR per format, beside Keras itself.

    python bench/export.py                 # conv AE (bottleneck 16) and dense AE (bottleneck 32), ~2 min
    python bench/export.py --epochs 1 --repeats 50   # a quick look

Each model is trained for a few epochs on mnist-5k, exported twice (TFLite batch 1 for latency, batch 256 for
throughput) and timed on validation images. Keras and the SavedModel run on TensorFlow's own thread pools;
LiteRT runs with 1 thread. Also measures a single-signature int8 file (`reconstruct` alone) to see what the
multi-signature file costs, and the weight bytes of each file (flatbuffer buffers, without the graph).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import machine  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_ae import data as datasets  # noqa: E402
from keras_ae import export as exporter  # noqa: E402
from keras_ae.export import saved_model as saved_model_export  # noqa: E402
from keras_ae.export import tflite as tflite_export  # noqa: E402
from keras_ae.measure.metrics import psnr  # noqa: E402
from keras_ae.models import conv_autoencoder, dense_autoencoder  # noqa: E402
from keras_ae.training import compile_model  # noqa: E402

MODES = exporter.QUANTIZATIONS


def timed(fn, calls: int, warmup: int = 3) -> float:
    """Median seconds per call."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def weight_bytes(path: str):
    """Bytes of constant buffers (weights, biases) in a .tflite file, or None without TF's flatbuffer tools."""
    try:
        from tensorflow.lite.tools import flatbuffer_utils
    except ImportError:
        return None
    model = flatbuffer_utils.read_model(path)
    return sum(len(b.data) for b in model.buffers if b.data is not None)


def litert(path: str):
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter(model_path=path, num_threads=1).get_signature_runner("reconstruct")


def tflite_outputs(runner, x: np.ndarray, batch: int) -> np.ndarray:
    out = []
    for i in range(0, len(x) - batch + 1, batch):
        out.append(runner(images=x[i : i + batch])["images"])
    return np.concatenate(out)


def bench_model(name, ae, x_train, x_val, work, repeats):
    rows, notes = [], []
    x1, x256 = x_val[:1], x_val[:256]
    keras_path = os.path.join(work, f"{name}.keras")
    ae.save(keras_path)

    # Keras, two ways: predict() (what most code calls) and a direct call (no tf.data, no callbacks).
    reference = ae.autoencoder(x_val, training=False).numpy()
    float_psnr = psnr(x_val, reference)
    rows.append(
        (
            "keras predict",
            os.path.getsize(keras_path),
            None,
            timed(lambda: ae.autoencoder.predict(x1, verbose=0), repeats // 5),
            256 / timed(lambda: ae.autoencoder.predict(x256, batch_size=256, verbose=0), 5),
            psnr(x_val, ae.reconstruct(x_val)),
        )
    )
    rows.append(
        (
            "keras call",
            os.path.getsize(keras_path),
            None,
            timed(lambda: ae.autoencoder(x1, training=False), repeats),
            256 / timed(lambda: ae.autoencoder(x256, training=False), 5),
            float_psnr,
        )
    )

    # The exports: batch-1 files for latency and PSNR, batch-256 files for throughput.
    out1, out256 = os.path.join(work, f"{name}_b1"), os.path.join(work, f"{name}_b256")
    start = time.perf_counter()
    meta = exporter.export(ae, out1, representative_data=x_train[:200])
    notes.append(f"export (SavedModel + 4 TFLite files, batch 1): {time.perf_counter() - start:.1f} s")
    exporter.export(ae, out256, formats=["tflite"], representative_data=x_train[:200], tflite_batch=256)

    loaded = tf.saved_model.load(os.path.join(out1, "saved_model"))
    reconstruct = loaded.signatures["reconstruct"]
    saved_size = sum(e["bytes"] for p, e in meta["files"].items() if p.startswith("saved_model/"))
    sm_out = np.concatenate(
        [reconstruct(images=tf.constant(x_val[i : i + 256]))["images"].numpy() for i in range(0, len(x_val), 256)]
    )
    rows.append(
        (
            "SavedModel",
            saved_size,
            None,
            timed(lambda: reconstruct(images=tf.constant(x1)), repeats),
            256 / timed(lambda: reconstruct(images=tf.constant(x256)), 5),
            psnr(x_val, sm_out),
        )
    )

    for mode in MODES:
        path = os.path.join(out1, f"model_{mode}.tflite")
        runner1 = litert(path)
        runner256 = litert(os.path.join(out256, f"model_{mode}.tflite"))
        rows.append(
            (
                f"LiteRT {mode}",
                os.path.getsize(path),
                weight_bytes(path),
                timed(lambda r=runner1: r(images=x1), repeats),
                256 / timed(lambda r=runner256: r(images=x256), 5),
                psnr(x_val, tflite_outputs(runner1, x_val, 1)),
            )
        )

    # Does the multi-signature file pay for its extra signatures? Convert `reconstruct` alone and compare.
    endpoints = saved_model_export.endpoints_for(ae)
    fixed = tempfile.mkdtemp(dir=work)
    saved_model_export.write(endpoints, fixed, batch=1)
    codes = ae.embed(x_train[:200])
    representative = tflite_export.representative_dataset(
        {"reconstruct": endpoints["reconstruct"]}, x_train[:200], codes, 1
    )
    for mode in ("float32", "int8"):
        single = os.path.join(work, f"{name}_{mode}_reconstruct.tflite")
        with open(single, "wb") as f:
            f.write(tflite_export.convert(fixed, ["reconstruct"], mode, representative))
        multi = os.path.join(out1, f"model_{mode}.tflite")
        notes.append(
            f"{mode}: reconstruct-only file {os.path.getsize(single):,} B (weights {weight_bytes(single):,} B) "
            f"vs 3-signature file {os.path.getsize(multi):,} B (weights {weight_bytes(multi):,} B)"
        )
    shutil.rmtree(fixed)
    return rows, notes, float_psnr


def fmt_bytes(n):
    return "-" if n is None else f"{n / 1024:,.1f} KiB"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--images", type=int, default=500, help="validation images for PSNR (at least 256)")
    parser.add_argument("--repeats", type=int, default=200, help="timed batch-1 calls per runtime")
    parser.add_argument("--keep", default=None, help="keep the exports in this folder")
    args = parser.parse_args()

    data = datasets.load("mnist-5k")
    x_train, _ = data.arrays("train")
    x_val, _ = data.arrays("validation")
    x_val = x_val[: args.images]
    if len(x_val) < 256:
        raise SystemExit(f"need at least 256 validation images, got {len(x_val)}")
    work = args.keep or tempfile.mkdtemp(prefix="bench-export-")
    os.makedirs(work, exist_ok=True)

    models = {
        "conv": lambda: conv_autoencoder(data.shape, bottleneck=16),
        "dense": lambda: dense_autoencoder(data.shape, bottleneck=32),
    }
    header = (
        f"{'model':<6} {'runtime':<15} {'file':>11} {'weights':>11} "
        f"{'batch-1 latency':>16} {'batch-256':>13} {'val PSNR':>9}"
    )
    lines = [
        f"keras-ae export benchmark: mnist-5k, {args.epochs} epochs, PSNR on {len(x_val)} validation images, "
        f"{machine.describe()}",
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}; "
        "LiteRT 1 thread, Keras/SavedModel TF's default threads",
        "",
        header,
        "-" * len(header),
    ]
    lines.insert(2, f"load average at the start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    all_notes = []
    for name, build in models.items():
        keras.utils.set_random_seed(0)
        ae = build()
        compile_model(ae.autoencoder, "mse", 1e-3)
        start = time.perf_counter()
        ae.autoencoder.fit(x_train, x_train, epochs=args.epochs, batch_size=64, verbose=0)
        all_notes.append(
            f"{name}: {ae.autoencoder.count_params():,} parameters, trained in {time.perf_counter() - start:.0f} s"
        )
        rows, notes, _ = bench_model(name, ae, x_train, x_val, work, args.repeats)
        all_notes += [f"{name}: {n}" for n in notes]
        for runtime, size, weights, latency, throughput, quality in rows:
            lines.append(
                f"{name:<6} {runtime:<15} {fmt_bytes(size):>11} {fmt_bytes(weights):>11} "
                f"{latency * 1e3:>13.3f} ms {throughput:>9,.0f} /s {quality:>6.2f} dB"
            )
        lines.append("")
    lines += [
        "file: the .keras file for Keras rows (it holds the Adam state too: about 3x the weights), the saved_model/",
        "folder, the .tflite file. weights: constant buffers inside the .tflite file. batch-256: images per second",
        "(LiteRT from files exported with --tflite-batch 256). PSNR: LiteRT at batch 1; Keras/SavedModel at 256.",
        f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())} (other processes share the CPUs)",
    ]
    lines += all_notes
    print("\n".join(lines))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
