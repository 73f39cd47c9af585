"""The denoising table on real test sets, and the cost of making noise on the fly.

    python bench/denoise.py [--epochs 15] [--sets mnist,notmnist] [--throughput-only]

For each set in ../shared/data (10,000 test images: 8,000 to train, 2,000 held out): the denoise recipe's table
(noisy input, the U-Net denoiser, the bottleneck autoencoder, the clean-trained network, the keras.io
reference, tuned classical filters), all in one run on the same noisy images. Then the throughput of training
the same model on the tf.data pipeline with fresh noise vs on a pre-noised in-memory array.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import machine  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras_ae.recipes import denoise  # noqa: E402
from shared_sets import test_set  # noqa: E402

from keras_ae import data as datasets  # noqa: E402
from keras_ae.denoise import noise as noises  # noqa: E402
from keras_ae.models.unet import unet_denoiser  # noqa: E402


def throughput(spec: str = "gaussian:0.4", epochs: int = 3, batch_size: int = 64) -> dict:
    """images/s of `fit` for one U-Net: fresh noise in the pipeline vs a pre-noised array (keras.io's way)."""
    data = datasets.load("mnist-5k")
    corrupt = noises.parse(spec)
    x, _ = data.arrays("train")
    results = {}
    for way in ("pre-noised array", "tf.data fresh noise", "pre-noised array "):  # the first runs twice: warm-up
        keras.utils.set_random_seed(0)
        model = unet_denoiser(data.shape)
        model.compile("adam", "mse")
        if way.startswith("pre"):
            inputs = {"x": corrupt.apply_fixed(x, 1), "y": x, "batch_size": batch_size, "shuffle": True}
        else:
            inputs = {"x": data.batches("train", batch_size, pairs=corrupt.pairs(), shuffle=True)}
        model.fit(**inputs, epochs=1, verbose=0)  # compile and trace outside the timing
        start = time.perf_counter()
        model.fit(**inputs, epochs=epochs, verbose=0)
        results[way.strip()] = len(x) * epochs / (time.perf_counter() - start)
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--filters", default="32,64,96", help="U-Net channels per level")
    parser.add_argument("--sets", default="mnist,notmnist")
    parser.add_argument("--throughput-only", action="store_true")
    args = parser.parse_args()
    print(f"{machine.describe()}, TensorFlow {tf.__version__}, Keras {keras.__version__}")
    if not args.throughput_only:
        for name in args.sets.split(","):
            data = test_set(name)
            with tempfile.TemporaryDirectory() as tmp:
                metrics = denoise.run(
                    dataset=data,
                    epochs=args.epochs,
                    compare="all",  # the full table: every comparison network, not just the essential rows
                    out=os.path.join(tmp, "run"),
                    export_dir=None,
                    echo=lambda *a: None,
                    verbose=0,
                )
            print(
                f"\n{name}: train {data.num_train}, held out {data.num_validation}, {metrics['noise']}, "
                f"{args.epochs} epochs, {metrics['seconds']:.0f} s"
            )
            print(denoise.summary(metrics))
    rates = throughput()
    print("\ntraining throughput, same U-Net, mnist-5k (images/s)")
    for way, rate in rates.items():
        print(f"{way:24s} {rate:8.0f}")
    print(f"tf.data fresh noise / pre-noised array: {rates['tf.data fresh noise'] / rates['pre-noised array']:.2f}")


if __name__ == "__main__":
    main()
