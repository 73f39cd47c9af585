"""How far few labels can go: the classify recipe's network trained on *every* label of the unlabeled pool.

    python bench/classify_ceiling.py [--sets mnist,notmnist] [--widths "32,64/32 64,128/128"] [--steps 4000]

The few-label floors of issue 18 (98.0% on MNIST, 92.5% on notMNIST with 10 labels per class) are only
meaningful beside what the same network reaches with all 8,000 labels of the pool: a method that uses 100
labels cannot be expected to pass it. Each width (`FILTERS/CODE`: conv channels per stage, code width) is
trained from random weights with the recipe's shift-and-rotate augmentation, batch 64, Adam 1e-3 cosine to 5%,
seed 0, and scored on the same 2,000 held-out images as bench/classify.py. Prints a table.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import machine  # noqa: E402
import numpy as np  # noqa: E402
from shared_sets import test_set  # noqa: E402

from keras_ae.classify import classifier as classifiers  # noqa: E402
from keras_ae.classify.augment import ShiftRotate  # noqa: E402
from keras_ae.models import build  # noqa: E402


def all_labels_accuracy(name: str, filters, code: int, steps: int) -> tuple[float, float]:
    """Test accuracy of the network trained on every pool label, and the seconds it took."""
    data = test_set(name)
    pool, pool_labels = data.arrays("train")
    test, test_labels = data.arrays("validation")
    keras.utils.set_random_seed(0)
    encoder = build("conv", data.shape, code, filters=filters).encoder
    model = classifiers.build_classifier(classifiers.copy_encoder(encoder, initialize=True), data.class_names)
    started = time.perf_counter()
    classifiers.fit_classifier(model, pool, pool_labels, steps, 64, 1e-3, ShiftRotate(seed=0), seed=0)
    predicted = classifiers.predict(model, test).argmax(axis=1)
    return float(np.mean(predicted == test_labels)), time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", default="mnist,notmnist")
    parser.add_argument("--widths", default="32,64/32 64,128/128", help="FILTERS/CODE pairs, space-separated")
    parser.add_argument("--steps", type=int, default=4000)
    args = parser.parse_args()
    widths = []
    for width in args.widths.split():
        filters, code = width.split("/")
        widths.append((tuple(int(f) for f in filters.split(",")), int(code)))
    print(machine.describe())
    rows = ["| set | filters | code | all 8,000 labels: test % | seconds |", "|---|---|---|---|---|"]
    for name in args.sets.split(","):
        for filters, code in widths:
            accuracy, seconds = all_labels_accuracy(name, filters, code, args.steps)
            rows.append(f"| {name} | {','.join(map(str, filters))} | {code} | {100 * accuracy:.2f} | {seconds:.0f} |")
            print(rows[-1], flush=True)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
