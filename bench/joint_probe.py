"""Joint training (classifier + masked autoencoder, FixMatch consistency) on a few seeds: the quick measurement
behind the classify recipe's `joint` and `scratch_consistency` settings.

    python bench/joint_probe.py --set mnist --seeds 0 --steps 1500 --ratio 3 --threshold 0.95 --weights 1,0

The autoencoder is pretrained as bench/classify.py's run pretrains it (15 epochs) and kept in
`--ae-dir/<set>/autoencoder.keras` (also a folder `bench/classify.py --pretrained` takes). For each
reconstruction weight: `joint` from the autoencoder, and with `--scratch` the same from random weights at
weight 0 (`scratch_consistency`). Prints test accuracy on the 2,000 held-out images and the seconds.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras_ae.recipes import classify  # noqa: E402
from shared_sets import test_set  # noqa: E402

from keras_ae.classify import classifier as classifiers  # noqa: E402
from keras_ae.classify import methods  # noqa: E402
from keras_ae.models import load  # noqa: E402


class Progress(keras.callbacks.Callback):
    """Keeps the last tenth's training numbers and, with `curve`, prints test accuracy of the current weights
    (not yet their moving average) after every tenth of the steps."""

    def __init__(self, images, labels, name, curve):
        super().__init__()
        self.images, self.labels, self.name, self.curve, self.last = images, labels, name, curve, {}

    def on_epoch_end(self, epoch, logs=None):
        self.last = {k: round(float(v), 3) for k, v in (logs or {}).items()}
        if not self.curve:
            return
        predicted = classifiers.predict(self.model.classifier, self.images).argmax(axis=1)
        print(
            f"  {self.name} tenth {epoch + 1}: test {100 * np.mean(predicted == self.labels):.2f}% "
            f"confident {self.last.get('confident', float('nan')):.3f}",
            flush=True,
        )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", default="mnist")
    parser.add_argument("--seeds", default="0", help="comma-separated; each draws its own labelled images")
    parser.add_argument("--labels-per-class", type=int, default=10)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--ratio", type=int, default=3)
    parser.add_argument("--threshold", type=float, default=0.95)
    parser.add_argument("--weights", default="1", help="reconstruction weights of `joint`, comma-separated")
    parser.add_argument("--scratch", action="store_true", help="also scratch_consistency")
    parser.add_argument("--ae-dir", default="/tmp/kae/ae")
    parser.add_argument("--ae-epochs", type=int, default=15, help="pretraining epochs, if not pretrained yet")
    parser.add_argument("--verbose", type=int, default=0, help="2: a line per tenth of the steps")
    parser.add_argument("--curve", action="store_true", help="print test accuracy after every tenth of the steps")
    args = parser.parse_args()
    data = test_set(args.set)
    names = [str(n) for n in data.class_names]
    pool, pool_labels = data.arrays("train")
    test, test_labels = data.arrays("validation")
    work = os.path.join(args.ae_dir, args.set)
    os.makedirs(work, exist_ok=True)
    if os.path.isfile(os.path.join(work, "autoencoder.keras")):
        ae = load(os.path.join(work, "autoencoder.keras"))
    else:
        started = time.perf_counter()
        config = classify.Config(epochs=args.ae_epochs, out=work)
        ae, _ = classify._autoencoder(config, data, pool, work, 0, None, print, 0)
        print(f"pretrained in {time.perf_counter() - started:.0f} s")
    runs = [("joint", False, float(w)) for w in args.weights.split(",")]
    runs += [("scratch_consistency", True, 0.0)] if args.scratch else []
    for seed, (name, scratch, weight) in itertools.product(map(int, args.seeds.split(",")), runs):
        # the recipe's draw: labelled images, then validation images (kept out of the unlabeled ones)
        labeled, validation = methods.draw(pool_labels, args.labels_per_class, 10, seed, names, args.set)
        unlabeled = np.setdiff1d(np.arange(len(pool)), validation)
        keras.utils.set_random_seed(seed)
        started = time.perf_counter()
        settings = classify.Config(
            joint_steps=args.steps,
            joint_ratio=args.ratio,
            joint_threshold=args.threshold,
            joint_reconstruction=weight,
        )
        progress = Progress(test, test_labels, name, args.curve)
        model = methods.joint_classifier(
            ae, scratch, pool[labeled], pool_labels[labeled], pool[unlabeled], settings, seed, names, args.verbose,
            callbacks=[progress],
        )  # fmt: skip
        accuracy = np.mean(classifiers.predict(model, test).argmax(axis=1) == test_labels)
        last = progress.last
        print(
            f"{args.set} seed {seed} {name} weight {weight:g} steps {args.steps} ratio {args.ratio} "
            f"threshold {args.threshold:g}: test {100 * accuracy:.2f}% ({time.perf_counter() - started:.0f} s) {last}",
            flush=True,
        )


if __name__ == "__main__":
    main()
