"""Autoencoder vs PCA at equal code width, and k-NN in code space vs pixel space, in one run.

    python bench/train.py [--dataset mnist-5k] [--epochs 20]

Prints a table; copy it into docs/benchmarks.md with the command and the machine.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import machine  # noqa: E402
from keras_ae.recipes import embed, train  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="mnist-5k")
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    quiet = lambda *a, **k: None  # noqa: E731
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for arch, bottleneck in (("conv", 16), ("dense", 32)):
            out = os.path.join(tmp, f"{arch}{bottleneck}")
            start = time.perf_counter()
            m = train.run(
                dataset=args.dataset,
                arch=arch,
                bottleneck=bottleneck,
                epochs=args.epochs,
                out=out,
                echo=quiet,
                verbose=0,
            )
            seconds = time.perf_counter() - start
            e = embed.run(model=os.path.join(out, "model.keras"), dataset=args.dataset, out=out + "-emb", echo=quiet)
            rows.append((arch, bottleneck, m, e, seconds))
    print(f"data {args.dataset}, {args.epochs} epochs, {machine.describe()}")
    print(
        "| model | code | val PSNR (dB) | PCA PSNR (dB) | gain (dB) | val SSIM | PCA SSIM | 5-NN codes | 5-NN pixels | train time (s) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for arch, bottleneck, m, e, seconds in rows:
        print(
            f"| {arch} AE | {bottleneck} | {m['val_psnr']:.2f} | {m['pca_val_psnr']:.2f} | {m['psnr_gain_over_pca']:+.2f} | "
            f"{m['val_ssim']:.3f} | {m['pca_val_ssim']:.3f} | {e.get('knn_accuracy_embedding', float('nan')):.3f} | "
            f"{e.get('knn_accuracy_pixels', float('nan')):.3f} | {seconds:.0f} |"
        )


if __name__ == "__main__":
    main()
