"""Peak memory and speed of training from a folder of images too big to hold in memory as float32.

    python bench/memory.py [--images 50000] [--size 64] [--channels 3] [--epochs 1] [--batch-size 64]

Writes `--images` random-but-structured PNGs (smooth blobs, so they compress like real pictures) into a
temporary folder, then trains the conv autoencoder on it the way `keras-ae train --dataset FOLDER` does:
`data.load` lists the files and reads their headers, the tf.data pipeline decodes them in parallel, caches the
decoded images in memory only when they fit (`keras_ae.data.sources.CACHE_LIMIT_BYTES`), shuffles within a
bounded buffer and prefetches. Prints the peak resident memory of the process (ru_maxrss) and images/s.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import machine  # noqa: E402
import numpy as np  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def write_images(folder: str, count: int, size: int, channels: int, seed: int = 0) -> None:
    """PNG files of a few soft Gaussian blobs each, written one at a time (constant memory)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    for i in range(count):
        image = np.zeros((size, size, channels), np.float32)
        for _ in range(3):
            cy, cx = rng.uniform(0, size, 2)
            radius = rng.uniform(size / 10, size / 4)
            blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * radius**2))
            image += blob[..., None] * rng.uniform(0.2, 1.0, channels)
        pixels = (np.clip(image, 0, 1) * 255).astype(np.uint8)
        Image.fromarray(pixels[..., 0] if channels == 1 else pixels).save(os.path.join(folder, f"{i:06d}.png"))


class Timer:
    def __init__(self):
        self.start = time.perf_counter()

    def __call__(self) -> float:
        return time.perf_counter() - self.start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=50_000)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--channels", type=int, default=3, choices=(1, 3))
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        timer = Timer()
        write_images(folder, args.images, args.size, args.channels)
        write_seconds = timer()
        rss_before_tf = peak_rss_mb()

        import keras
        import tensorflow as tf

        from keras_ae import data as datasets
        from keras_ae import training
        from keras_ae.data.sources import CACHE_LIMIT_BYTES
        from keras_ae.models import build

        timer = Timer()
        data = datasets.load(folder, seed=0)
        load_seconds = timer()
        decoded_bytes = args.images * args.size * args.size * args.channels * 4
        cached = decoded_bytes < CACHE_LIMIT_BYTES

        keras.utils.set_random_seed(0)
        ae = build("conv", data.shape, 16)

        class EpochTimes(keras.callbacks.Callback):
            seconds: list = []

            def on_epoch_begin(self, epoch, logs=None):
                self.t = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                self.seconds.append(time.perf_counter() - self.t)
                self.loss = float(logs["loss"])

        times = EpochTimes()
        with tempfile.TemporaryDirectory() as work:
            timer = Timer()
            training.fit(
                ae.autoencoder,
                data.batches("train", args.batch_size, shuffle=True),
                data.batches("validation", args.batch_size),
                epochs=args.epochs,
                workdir=work,
                steps_per_epoch=training.steps(data.num_train, args.batch_size),
                verbose=0,
                callbacks=[times],
            )
            train_seconds = timer()
        timer = Timer()
        count = sum(int(batch.shape[0]) for batch in data.validation.batch(256).map(lambda e: e["image"]))
        read_rate = count / timer()

    print(
        f"{args.images:,} PNGs of {args.size}x{args.size}x{args.channels} ({decoded_bytes / 2**30:.2f} GiB as float32; "
        f"cached in memory: {'yes' if cached else 'no'}), batch {args.batch_size}, {args.epochs} epoch(s), "
        f"{machine.describe()}, TF {tf.__version__}"
    )
    print("| step | seconds | images/s |")
    print("|---|---|---|")
    print(f"| write PNGs | {write_seconds:.0f} | {args.images / write_seconds:,.0f} |")
    print(f"| list + read headers (`data.load`) | {load_seconds:.0f} | {args.images / load_seconds:,.0f} |")
    for i, seconds in enumerate(times.seconds):
        print(f"| train epoch {i + 1} (incl. validation) | {seconds:.0f} | {data.num_train / seconds:,.0f} |")
    print(f"| decode validation alone | | {read_rate:,.0f} |")
    print(
        f"\npeak RSS {peak_rss_mb():,.0f} MB (before TensorFlow: {rss_before_tf:,.0f} MB); "
        f"last epoch loss {times.loss:.4f}; total training {train_seconds:.0f} s"
    )


if __name__ == "__main__":
    main()
