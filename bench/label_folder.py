"""Few labels on a folder, tried as a new user would: predictions for every file, and what labelling buys.

    python bench/label_folder.py [--set mnist] [--seeds 0,1,2] [--labels-per-class 10] [--to-label 100]
        [--work /tmp/keras-ae-label-folder] [--images 8000] [--epochs 12] [--autoencoder-from RUN]
        [--setting KEY=VALUE ...] [--no-reruns]

For each seed: the 8,000 training images of ../shared/data/SET (bench/shared_sets.py's split) are written as
PNGs into one folder, `images/`, and `labels-per-class` of each class, drawn by the seed, are copied into
`labelled/CLASS/`; `truth.csv` holds every file's class, for scoring only. Then, as a user would:

1. `keras-ae recipe classify --dataset images/ --labels labelled/ --truth truth.csv` with its defaults: the
   accuracy of `predictions.csv` on the files nobody labelled, and of the ones it marks sure.
2. The run folder is copied twice. In one copy, the files `to_label.csv` names get their true labels (copied
   into `labelled/CLASS/`); in the other, as many files drawn at random from the unlabeled ones. Each copy is
   run again with the same settings and its own `--out`, so the pretrained autoencoder is reused.
3. Both reruns are scored on the same files: the ones labelled in neither (scoring each on its own leftovers
   would flatter `to_label.csv`, whose files are the hardest ones, by taking them out of the test).

`--autoencoder-from RUN` saves 15 minutes of pretraining per seed: a finished run on the same images (a copy of an
earlier seed's `run/`) is copied to each seed's run folder first, and the recipe reuses its autoencoder as it
does after a user's earlier run (the images are the same for every seed; only the labelled draw differs, and the
autoencoder never sees a label). Everything else in that folder is replaced by the new run.

`--setting KEY=VALUE` (repeatable) sets any other field of the recipe's Config, so the folder can run with the
settings bench/classify.py measures, e.g. `--setting rounds=4 --setting last_round_epochs=24` or
`--setting pretrained=/tmp/ae/mnist/autoencoder.keras` (an autoencoder pretrained on the same 8,000 images).
`--no-reruns` stops after the first run (step 1): its predictions and their sure share, without what labelling
buys.

Prints a table per seed and the means, the floors of issue 18 (sure predictions >= 99% right; labelling
`to_label.csv` gains more than labelling random files) and the seconds of each run. Nothing is written into
the repository: everything goes under --work.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import shutil
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import machine  # noqa: E402
import numpy as np  # noqa: E402
from keras_ae.recipes import classify  # noqa: E402
from PIL import Image  # noqa: E402
from shared_sets import test_set  # noqa: E402


def write_folders(root: str, images: np.ndarray, targets: np.ndarray, class_names, per_class: int, seed: int):
    """images/, labelled/CLASS/ (per_class of each class, drawn by seed) and truth.csv under root."""
    names = [f"img{i:05d}.png" for i in range(len(images))]
    os.makedirs(os.path.join(root, "images"))
    for name, image in zip(names, images, strict=True):
        Image.fromarray(np.round(image[..., 0] * 255).astype(np.uint8)).save(os.path.join(root, "images", name))
    rng = np.random.default_rng(seed)
    labelled = []
    for c, class_name in enumerate(class_names):
        for i in rng.choice(np.flatnonzero(targets == c), per_class, replace=False):
            label(root, names[i], class_name)
            labelled.append(names[i])
    with open(os.path.join(root, "truth.csv"), "w") as f:
        f.write("file,label\n" + "".join(f"{n},{class_names[t]}\n" for n, t in zip(names, targets, strict=True)))
    return names, labelled


def label(root: str, name: str, class_name: str) -> None:
    """What a user does to label a file: copy it into labelled/CLASS/."""
    folder = os.path.join(root, "labelled", class_name)
    os.makedirs(folder, exist_ok=True)
    shutil.copy(os.path.join(root, "images", name), os.path.join(folder, name))


def rows(path: str) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


QUICK = {"epochs": 1, "head_steps": 20, "finetune_steps": 20, "scratch_steps": 20, "rounds": 1, "round_epochs": 1}


def recipe(root: str, out: str, settings: dict) -> tuple[dict, float]:
    started = time.perf_counter()
    classify.run(
        dataset=os.path.join(root, "images"),
        labels=os.path.join(root, "labelled"),
        truth=os.path.join(root, "truth.csv"),
        **settings,
        out=out,
        export_dir=None,
        echo=lambda line: print(f"    {line}", flush=True),
        verbose=0,
    )
    with open(os.path.join(out, "metrics.json")) as f:
        return json.load(f), time.perf_counter() - started


def percent(value) -> str:
    return "-" if value is None or np.isnan(value) else f"{100 * value:.2f}%"


def accuracy_on(predictions: list[dict], truth: dict, files) -> float:
    predicted = {row["file"]: row["label"] for row in predictions}
    return float(np.mean([predicted[f] == truth[f] for f in files]))


def recipe_settings(pairs: list[str]) -> dict:
    """`KEY=VALUE` pairs as the recipe's Config fields; a value that reads as JSON (4, 0.5, true) is that."""
    fields = {f.name for f in dataclasses.fields(classify.Config)}
    settings = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key not in fields or not value:
            raise SystemExit(f"--setting {pair}: not KEY=VALUE with KEY one of the recipe's settings")
        try:
            settings[key] = json.loads(value)
        except json.JSONDecodeError:
            settings[key] = value
    return settings


def one_seed(args, data, class_names, seed: int) -> dict:
    root = os.path.join(args.work, f"seed{seed}")
    shutil.rmtree(root, ignore_errors=True)  # the bench's own scratch folder, never a user's
    images, targets = data
    names, first_labels = write_folders(root, images, targets, class_names, args.labels_per_class, seed)
    truth = {r["file"]: r["label"] for r in rows(os.path.join(root, "truth.csv"))}
    settings = {
        "epochs": args.epochs,
        "seeds": tuple(int(s) for s in args.recipe_seeds.split(",")),
        "to_label": args.to_label,
        **recipe_settings(args.setting),
    }
    settings.update(QUICK if args.quick else {})

    if args.autoencoder_from:  # as if the user had run the recipe on these images before
        shutil.copytree(args.autoencoder_from, os.path.join(root, "run"))
    print(f"  seed {seed}: first run, {len(first_labels)} labels", flush=True)
    metrics, seconds = recipe(root, os.path.join(root, "run"), settings)
    found = metrics["truth"]
    result = {
        "method": metrics["exported"],
        "validation": metrics["validation_accuracy"][metrics["exported"]]["mean"],
        "labelled": len(first_labels),
        "accuracy": found["accuracy"],
        "sure_accuracy": found["sure_accuracy"],
        "sure_files": found["sure_files"],
        "scored_files": found["files"],
        "seconds": seconds,
    }

    if not args.reruns:
        return result, settings
    suggested = [r["file"] for r in rows(os.path.join(root, "run", "to_label.csv"))]
    unlabeled = sorted(set(names) - set(first_labels))
    random_pick = list(np.random.default_rng(1000 + seed).choice(unlabeled, len(suggested), replace=False))
    common = sorted(set(unlabeled) - set(suggested) - set(random_pick))
    for way, picked in (("to_label", suggested), ("random", random_pick)):
        copy = os.path.join(args.work, f"seed{seed}-{way}")
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(root, copy, symlinks=False)
        for name in picked:
            label(copy, name, truth[name])
        print(f"  seed {seed}: rerun with {len(picked)} more labels ({way})", flush=True)
        _, seconds = recipe(copy, os.path.join(copy, "run"), settings)
        predictions = rows(os.path.join(copy, "run", "predictions.csv"))
        result[f"{way}_accuracy"] = accuracy_on(predictions, truth, common)
        result[f"{way}_seconds"] = seconds
    result["before_accuracy_common"] = accuracy_on(rows(os.path.join(root, "run", "predictions.csv")), truth, common)
    result["common_files"] = len(common)
    return result, settings


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", default="mnist", help="a test set of ../shared/data: mnist or notmnist")
    parser.add_argument("--seeds", default="0,1,2", help="labelled draws, one folder each")
    parser.add_argument("--labels-per-class", type=int, default=10)
    parser.add_argument("--to-label", type=int, default=100, help="files labelled before the rerun")
    parser.add_argument("--images", type=int, default=8000, help="unlabeled images in the folder (<= 8,000)")
    parser.add_argument("--epochs", type=int, default=classify.Config().epochs, help="the recipe's --epochs")
    parser.add_argument("--recipe-seeds", default=",".join(map(str, classify.Config().seeds)))
    parser.add_argument("--work", default="/tmp/keras-ae-label-folder")
    parser.add_argument("--autoencoder-from", metavar="RUN", help="reuse the autoencoder of this finished run")
    parser.add_argument("--setting", action="append", default=[], metavar="KEY=VALUE", help="any recipe setting")
    parser.add_argument("--reruns", action=argparse.BooleanOptionalAction, default=True, help="label more, rerun")
    parser.add_argument("--quick", action="store_true", help="a check of the bench itself: tiny training, no numbers")
    args = parser.parse_args()
    print(machine.describe(), flush=True)

    data = test_set(args.set)
    images, targets = data.arrays("train")
    images, targets = images[: args.images], targets[: args.images]
    results = {}
    for seed in (int(s) for s in args.seeds.split(",")):
        results[seed], settings = one_seed(args, (images, targets), data.class_names, seed)
        print(json.dumps(results[seed]), flush=True)

    print(
        f"\n{args.set}: a folder of {len(images):,} PNGs, {args.labels_per_class} labels per class, "
        f"then {args.to_label} more; the recipe's defaults but {settings}"
    )
    reran = args.reruns
    print(
        "| seed | labels the files (validation) | predictions right | sure right (files) | first run s |"
        + (" + to_label.csv | + random | rerun s |" if reran else "")
    )
    print("|---|---|---|---|---|" + ("---|---|---|" if reran else ""))
    for seed, r in results.items():
        print(
            f"| {seed} | `{r['method']}` ({percent(r['validation'])}) | {percent(r['accuracy'])} "
            f"| {percent(r['sure_accuracy'])} ({r['sure_files']:,}) | {r['seconds']:.0f} |"
            + (
                f" {100 * r['to_label_accuracy']:.2f}% | {100 * r['random_accuracy']:.2f}% "
                f"| {r['to_label_seconds']:.0f} / {r['random_seconds']:.0f} |"
                if reran
                else ""
            )
        )
    numeric = [k for k, v in results[seed].items() if not isinstance(v, str)]
    mean = {k: np.mean([r[k] for r in results.values() if r[k] is not None] or [np.nan]) for k in numeric}
    print(
        f"| mean | | {percent(mean['accuracy'])} | {percent(mean['sure_accuracy'])} | {mean['seconds']:.0f} |"
        + (f" {100 * mean['to_label_accuracy']:.2f}% | {100 * mean['random_accuracy']:.2f}% | |" if reran else "")
    )
    print(
        f"floor: sure predictions >= 99% right: {'met' if mean['sure_accuracy'] >= 0.99 else 'MISSED'}"
    )  # nan: MISSED
    if reran:
        print(
            "(the reruns are scored on the files labelled in neither, "
            f"{mean['before_accuracy_common'] * 100:.2f}% right before them)"
        )
        gained = mean["to_label_accuracy"] > mean["random_accuracy"]
        print(f"floor: labelling to_label.csv gains more than random files: {'met' if gained else 'MISSED'}")
    with open(os.path.join(args.work, f"{args.set}-results.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
