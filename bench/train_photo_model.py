"""Train the shipped photo denoiser (keras_ae/pretrained/photo-gray): long, blind-noise, on the CPU.

    python bench/train_photo_model.py --hours 2.1 --out /tmp/photo-run            # from scratch
    python bench/train_photo_model.py --hours 2 --resume /tmp/photo-run/last.keras --out /tmp/photo-run2
    python bench/train_photo_model.py --hours 2 --resume /tmp/photo-run/best.keras --blocks 2 --out /tmp/deeper

This is the run behind the shipped model, kept as it ran: the `photos` training images (never camera, moon,
coins, text), random 64x64 crops weighted by image area with the 8 square symmetries, and for each crop a noise
level sigma drawn uniformly in [--smin, --smax] / 255; the noisy crop is clipped to [0, 1] and rounded to 8 bits,
as a user's noisy PNG is. Adam on squared error (--balance: each patch's divided by its sigma), batch 16, the
learning rate on a cosine from --lr down to 1% of it over the time budget (--hours), so the schedule ends when the
time does. --blocks with --resume grows the resumed U-Net deeper (`keras_ae.models.photo.deepened`) and trains on.

Every --eval-every steps it measures PSNR on whole images: the validation photos (astronaut, chelsea, coffee at
sigma 25, or the mean over --val-sigmas: this picks `best.keras`) and, for the curve only, the four test images at
sigma 15, 25 and 50. It writes `curve.csv` (steps, seconds, every number; `val` is the choosing mean),
`best.keras`, `last.keras` and `best.json` to --out. With --resume the curve goes on from the previous run's last
step and seconds (its curve.csv is copied over), so a later session can keep training the shipped model and the
curve shows all of it (Adam's moments restart on resume).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import shutil
import time

import keras
import numpy as np
import tensorflow as tf

from keras_ae.data.patches import PHOTOS_TEST, PHOTOS_VALIDATION, photos
from keras_ae.models.photo import deepened, denoise, photo_denoiser


class Patches:
    """Random crops of images of mixed sizes, with noise added, clipped and rounded to 8 bits. `scales`: each
    image also enters downscaled by these factors (see `downscaled`)."""

    def __init__(self, images, patch: int, seed: int, scales=()):
        self.images = [np.asarray(image, np.float32)[..., 0] for image in images]
        self.images += [downscaled(image, s) for s in scales for image in self.images if min(image.shape) * s >= patch]
        self.patch = patch
        area = np.array([max(1, (i.shape[0] - patch + 1) * (i.shape[1] - patch + 1)) for i in self.images], float)
        self.weights = area / area.sum()
        self.rng = np.random.default_rng(seed)

    def batch(self, size: int, smin: float, smax: float):
        clean = np.empty((size, self.patch, self.patch, 1), np.float32)
        for k, i in enumerate(self.rng.choice(len(self.images), size, p=self.weights)):
            image = self.images[i]
            y = self.rng.integers(0, image.shape[0] - self.patch + 1)
            x = self.rng.integers(0, image.shape[1] - self.patch + 1)
            crop = np.rot90(image[y : y + self.patch, x : x + self.patch], self.rng.integers(4))
            clean[k, ..., 0] = crop[:, ::-1] if self.rng.random() < 0.5 else crop
        sigma = self.rng.uniform(smin, smax, (size, 1, 1, 1)).astype(np.float32) / 255
        noisy = clean + sigma * self.rng.standard_normal(clean.shape, np.float32)
        return (np.round(np.clip(noisy, 0, 1) * 255) / 255).astype(np.float32), clean, sigma[:, 0, 0, 0] * 255


def downscaled(image: np.ndarray, scale: float) -> np.ndarray:
    """`image` shrunk by `scale` (anti-aliased, on the 8-bit grid): the same scenes with finer texture and less
    of the photo's own noise and JPEG blocks, so 14 photos might teach more kinds of detail (DnCNN trains on
    its images at scales 1, 0.9, 0.8 and 0.7). Measured (docs/benchmarks.md, session 13): level with training
    without it."""
    from skimage.transform import rescale

    small = rescale(image, scale, anti_aliasing=True, preserve_range=True)
    return (np.round(np.clip(small, 0, 1) * 255) / 255).astype(np.float32)


def noisy_8bit(clean: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noisy = clean + sigma / 255 * rng.standard_normal(clean.shape)
    return (np.round(np.clip(noisy, 0, 1) * 255) / 255).astype(np.float32)


def psnr(output: np.ndarray, clean: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((np.clip(output, 0, 1) - clean) ** 2)))


def skimage_gray(names) -> dict:
    import skimage.data

    return {name: getattr(skimage.data, name)().astype(np.float32) / 255 for name in names}


def patch_weights(sigmas: np.ndarray, balance: bool) -> np.ndarray:
    """Per-patch weights of the squared error: all 1, or (`balance`) 25 / max(sigma, 5) for sigma in 8-bit levels.

    The idea: a blind model's plain squared error is ruled by its noisiest patches (their errors are several
    times larger), which might leave it behind at low noise; dividing by sigma evens that out, and the floor of 5
    keeps near-clean patches from taking over. Measured (docs/benchmarks.md, session 13): no gain at any sigma,
    so the shipped model trains without it."""
    if not balance:
        return np.ones_like(sigmas, np.float32)
    return (25.0 / np.maximum(sigmas, 5.0)).astype(np.float32)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hours", type=float, default=2.0, help="training time budget; the lr schedule spans it")
    parser.add_argument("--patch", type=int, default=64)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--smin", type=float, default=0.0, help="lowest noise sigma, in 8-bit levels")
    parser.add_argument("--smax", type=float, default=55.0, help="highest noise sigma, in 8-bit levels")
    parser.add_argument("--eval-every", type=int, default=300)
    parser.add_argument("--resume", help="a .keras model to go on training (its folder's curve.csv continues)")
    parser.add_argument("--out", default="runs/photo-model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--balance",
        action="store_true",
        help="weight each patch's squared error by 25 / max(sigma, 5) (8-bit levels; see `patch_weights`)",
    )
    parser.add_argument("--scales", help="also train on the photos downscaled by these factors, e.g. 0.8,0.6")
    parser.add_argument(
        "--val-sigmas",
        default="25",
        help="noise levels of the validation photos; best.keras is the best mean PSNR over them",
    )
    parser.add_argument(
        "--blocks",
        type=int,
        help="residual blocks a level; with --resume, a model with fewer is grown to this many (`deepened`)",
    )
    args = parser.parse_args()

    keras.utils.set_random_seed(args.seed)
    if args.resume:
        model = keras.saving.load_model(args.resume, safe_mode=True)
        if args.blocks:
            model = deepened(model, args.blocks)
    else:
        model = photo_denoiser(1, blocks=args.blocks or 1)
    scales = [float(v) for v in args.scales.split(",")] if args.scales else []
    data = Patches(photos(args.seed).train.all(), args.patch, args.seed, scales)
    optimizer = keras.optimizers.Adam(args.lr)

    @tf.function
    def train_step(noisy, clean, weights):
        with tf.GradientTape() as tape:
            errors = tf.reduce_mean(tf.square(model(noisy, training=True) - clean), axis=(1, 2, 3))
            loss = tf.reduce_mean(weights * errors)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
        return loss

    held_out = photos(args.seed).validation.all()  # astronaut, chelsea, coffee in gray, 8-bit grid
    validation = {name: image[..., 0] for name, image in zip(PHOTOS_VALIDATION, held_out, strict=True)}
    test = skimage_gray(PHOTOS_TEST)
    val_sigmas = [int(v) for v in args.val_sigmas.split(",")]
    noisy_validation = {  # sigma 25 keeps the seeds of the runs behind the shipped model
        (n, s): noisy_8bit(im, s, 100 + i if s == 25 else 100 * s + i)
        for s in val_sigmas
        for i, (n, im) in enumerate(validation.items())
    }
    noisy_test = {
        (n, s): noisy_8bit(im, s, 1000 * s + i) for s in (15, 25, 50) for i, (n, im) in enumerate(test.items())
    }

    os.makedirs(args.out, exist_ok=True)
    curve_path = os.path.join(args.out, "curve.csv")
    step0, seconds0 = 0, 0.0
    if args.resume:
        previous = os.path.join(os.path.dirname(args.resume), "curve.csv")
        if os.path.exists(previous) and os.path.abspath(previous) != os.path.abspath(curve_path):
            shutil.copy(previous, curve_path)
        if os.path.exists(curve_path):
            with open(curve_path) as f:
                rows = list(csv.DictReader(f))
            if rows:
                step0, seconds0 = int(rows[-1]["step"]), float(rows[-1]["seconds"])
    new_file = not os.path.exists(curve_path)
    log = open(curve_path, "a", newline="")  # noqa: SIM115 (kept open for the whole run, appended each eval)
    writer = csv.writer(log)
    if new_file:
        columns = [f"{n}{s}" for (n, s) in noisy_test]
        writer.writerow(["step", "seconds", "train_loss", "val25", *columns, "mean15", "mean25", "mean50", "val"])

    best, losses, step, started = -1.0, [], 0, time.perf_counter()
    budget = args.hours * 3600
    while True:
        done = min(1.0, (time.perf_counter() - started) / budget)
        optimizer.learning_rate.assign(args.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * done))))
        noisy, clean, sigmas = data.batch(args.batch, args.smin, args.smax)
        losses.append(float(train_step(noisy, clean, patch_weights(sigmas, args.balance))))
        step += 1
        if step % args.eval_every and done < 1.0:
            continue
        validated = {
            k: psnr(denoise(model, im[..., None])[..., 0], validation[k[0]]) for k, im in noisy_validation.items()
        }
        val = float(np.mean(list(validated.values())))  # what picks best.keras
        val25 = np.mean([v for (_, s), v in validated.items() if s == 25]) if 25 in val_sigmas else float("nan")
        scores = {k: psnr(denoise(model, im[..., None])[..., 0], test[k[0]]) for k, im in noisy_test.items()}
        means = [np.mean([scores[(n, s)] for n in test]) for s in (15, 25, 50)]
        seconds = seconds0 + time.perf_counter() - started
        loss = np.mean(losses[-args.eval_every :])
        writer.writerow(
            [
                step0 + step,
                round(seconds),
                loss,
                val25,
                *[round(v, 3) for v in scores.values()],
                *[round(m, 3) for m in means],
                val,
            ]
        )
        log.flush()
        print(
            f"step {step0 + step} {seconds / 60:.1f} min loss {loss:.5f} val {val:.3f} "
            f"camera25 {scores[('camera', 25)]:.3f} mean15/25/50 {means[0]:.2f}/{means[1]:.2f}/{means[2]:.2f}",
            flush=True,
        )
        model.save(os.path.join(args.out, "last.keras"))
        if val > best:
            best = val
            model.save(os.path.join(args.out, "best.keras"))
            summary = {
                "step": step0 + step,
                "seconds": seconds,
                "val25": val25,
                "val": val,
                "val_sigmas": val_sigmas,
                "means": means,
            }
            summary["test"] = {f"{n}@{s}": v for (n, s), v in scores.items()}
            with open(os.path.join(args.out, "best.json"), "w") as f:
                json.dump(summary, f, indent=1)
        if done >= 1.0:
            break


if __name__ == "__main__":
    main()
