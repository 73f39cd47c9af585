"""How many pixels should Noise2Void mask? The photo bench's Noise2Void row at several fractions, equal budgets.

    python bench/n2v_fraction.py --fractions 0.02,0.05,0.1 --minutes 20

Only the masked pixels carry a loss, so the fraction is the share of each patch that teaches the network
anything, and each masked pixel is a corrupted input the network must see past. This trains the Noise2Void row
of `bench/photo_denoise.py` (its `trained_model`: the photo U-Net, batch 16 of 64x64, noisy copies of the
training photos at sigma 25, Adam 1e-3 on a cosine over --minutes of this process's CPU time) once per
fraction and prints the sigma-25 PSNR on camera, moon, coins and text, as the bench measures it. Models are
cached under --cache, one folder per fraction. `keras_ae.denoise.blind_spot.FRACTION` holds the winner.
"""

from __future__ import annotations

import argparse
import functools
import os
import tempfile
import types

import numpy as np
import photo_denoise as bench
from machine import describe


def measure(fraction: float, minutes: float, cache: str) -> tuple[str, list[float]]:
    from keras_ae.denoise import blind_spot

    original = blind_spot.Noise2VoidPairs
    blind_spot.Noise2VoidPairs = functools.partial(original, fraction=fraction)
    try:
        args = types.SimpleNamespace(cache=os.path.join(cache, f"fraction-{fraction:g}"), train_minutes=minutes)
        os.makedirs(args.cache, exist_ok=True)
        model, note = bench.trained_model(args, bench.N2V)
    finally:
        blind_spot.Noise2VoidPairs = original
    clean, noisy = bench.sigma25_images(bench.TEST, args.cache)  # the budgets table's noisy images
    return note, bench.sigma25_scores(model, clean, noisy)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fractions", default="0.02,0.05,0.1")
    parser.add_argument("--minutes", type=float, default=20.0, help="CPU minutes of training for each fraction")
    parser.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "keras-ae-n2v-fraction"))
    args = parser.parse_args()
    print(f"{describe()}; sigma 25, PSNR (dB)")
    print(f"| fraction | steps | {' | '.join(bench.TEST)} | mean |")
    print("|---|---|" + "---|" * (len(bench.TEST) + 1))
    for fraction in (float(f) for f in args.fractions.split(",")):
        note, scores = measure(fraction, args.minutes, args.cache)
        cells = " | ".join(f"{s:.2f}" for s in scores)
        print(f"| {fraction:.0%} | {note.split(' steps')[0]} | {cells} | {np.mean(scores):.2f} |", flush=True)


if __name__ == "__main__":
    main()
