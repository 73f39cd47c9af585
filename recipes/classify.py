"""Classify with a few labels: pretrain an autoencoder on unlabeled images, then learn from a few dozen labels.

The seed's third use. Labels are dear and images are cheap, so the autoencoder first learns from every image
with its label hidden; the labelled few then only have to name what it found. The naive version of that
story, a frozen encoder with a softmax head, loses on MNIST even to logistic regression on raw pixels, so
this recipe measures the naive version *and* what does win, beside the baselines a reviewer would ask for:

* the autoencoder is a masked one: half of its input pixels are dropped (noise `mask:0.5`) and it has to
  rebuild them, which makes its code describe strokes rather than copy pixels;
* `frozen`: its encoder, frozen, under a Dense + softmax head trained on the labelled images;
* `finetuned`: then everything, with the augmentation below, for twice `scratch`'s steps at a third of the
  learning rate (batch norm kept in inference mode);
* `label_spreading`: the labels spread over a 10-nearest-neighbour graph of the codes of all images;
* `self_training_round1`: the surest guesses (a fixed number per class) of label spreading, of `finetuned`
  or of the two averaged, whichever is best on the validation labels, train the autoencoder-initialised
  encoder with a new head, with +-2 px shifts and +-10 degree rotations; each further round
  (`self_training_round2`, ..., the last one `self_training`) trains afresh on the previous network's own
  surest guesses, more of them; `--last-round-epochs` lets the last round, whose guesses are the surest,
  train longer (in the bench 24 epochs against 8: +0.4 to +0.6 points on MNIST and notMNIST, from the
  autoencoder and from scratch alike; docs/benchmarks.md), and `--last-round-networks` lets it train
  several networks on those guesses and average their probabilities (an ensemble, saved and exported as one
  classifier; 3 networks: +0.4 / +0.6 points on notMNIST, nothing on MNIST, for 3x that round's time);
  `--round-mixup` blends every round's batches (mixup) and `--labeled-repeats` shows its true labels that
  many times among the guesses, both against learning the wrong guesses (in the bench, alpha 1 and 8
  repeats: +0.31 / +0.52 points on MNIST and +0.95 / +0.86 on notMNIST, from the autoencoder / from scratch,
  with rounds of 8 and 24 epochs; with the default rounds of 4 epochs they cost 3.2 / 1.7 points: off by
  default; mixup's networks hedge, so on your folders few files reach the fixed 0.999 of `sure`);
* `joint`: the classifier and the autoencoder trained together (`keras_ae.classify.joint`): the pretrained
  encoder under a new head learns from the labelled images and, FixMatch-style, from its own sure guesses
  (probability >= `--joint-threshold`) of gently shifted unlabeled images as targets for the same images
  strongly moved and cut, while its decoder goes on rebuilding masked unlabeled images (that loss weighted by
  `--joint-reconstruction`); `--joint-steps` steps of 32 labelled and `--joint-ratio` x 32 unlabeled images;
* baselines: `scratch` (the same network, randomly initialised, trained on the labelled images with the same
  augmentation), `scratch_self_training` (the same rounds, seeded by scratch's own guesses),
  `scratch_consistency` (`joint` from random weights with no reconstruction: the same augmentation, steps
  and schedule), `logreg_pixels` and `pca_logreg` (PCA of the code's width fitted on the unlabeled images).

Each seed draws a different labelled set (`--labels-per-class` of every class) and a disjoint validation set
(`--validation-per-class`) from the training split; the data's validation split is the test set and is used
for nothing but the final numbers. Settings (label-spreading strength, logistic-regression C, the first
round's source) and `best_autoencoder` are chosen on the validation labels; `best_autoencoder` is the latest
method within one standard error of the best on validation (a hundred labels cannot tell 98% from 99%). One
autoencoder serves all seeds: it never sees a label (`pretrained=` reuses one from an earlier run).

Runtime: the default (`mnist-5k`, 3 seeds) used 540 CPU-seconds, about 4.5-5 minutes on 2 free cores. Joint
training is off by default (`--joint-steps 0`): 1,500 steps took 9-17 minutes per method and seed on 2 shared
cores (docs/benchmarks.md).
Writes `runs/classify/` (autoencoder.keras, classifier.keras, metrics.json, config.json,
accuracy_vs_labels.png, confusion_matrix.png) and exports the classifier to `exported/classify/`
(SavedModel with a `classify` signature returning `probabilities`, TFLite float32).

Your own images (`--labels`): a folder of unlabeled images and a few labels, and a label for every file.

    keras-ae recipe classify --dataset scans/ --labels labelled/ --out runs/scans   # labelled/CLASS/*.png
    keras-ae recipe classify --dataset scans/ --labels labels.csv --out runs/scans  # rows file,label

`--dataset` is the folder of unlabeled images (the files directly in it; any size and mode the data layer
reads, `--resize HxW` where sizes differ). `--labels` is a folder with one subfolder of images per class (the
subfolder's name is the class; it may be `--dataset` itself, its loose files then being the unlabeled ones)
or a CSV of `file,label` rows whose paths are relative to the CSV's folder, else to `--dataset`. A labelled
image that is also in `--dataset` (the same file name or the same bytes) is that image, labelled: never two.
The autoencoder pretrains on every image, labelled or not. Each seed splits your labels: every class keeps
`--validation-per-class` of its labels for validation, but never more than half of them, so a class with one
label trains on it and holds nothing out; when no class has two labels nothing is held out, the settings and
the method are the defaults (ties go to the later round) and a single seed runs. The methods then run as
above, the network best on the held-out labels is chosen (any of them, a baseline too: your files deserve
the best labels; ties go to the autoencoder's), and it trains once more on all your labels (what is exported).
The run folder also holds:

* `predictions.csv`: `file,label,probability,sure` for every file of `--dataset`, once, by file name (a file
  you labelled keeps your label, probability 1, sure). `sure` marks the files the held-out labels vouch for:
  the threshold from which the split networks' held-out predictions (pooled over the seeds, each image once:
  `one_per_image`) are 99% right with 80% confidence (`keras_ae.classify.predictions.sure_threshold`; that
  takes 161 held-out images without an error, else a fixed, conservative 0.999), carried over to the
  network trained on all labels as the share of files it marks (`transfer_threshold`: that network is more
  confident, so the same probability would mark more files, wrongly). metrics.json says which rule and both
  thresholds (`sure`).
* `to_label.csv`: `file,predicted,probability`, the `--to-label` unlabeled files whose labels should help most:
  the least sure (smallest gap between the top two probabilities), spread over the autoencoder's code space
  (k-means on the codes of the 5x as many least sure, one per cluster). Label them (copy them into the class
  subfolders, or add rows to the CSV) and run again with the same `--out`: the autoencoder is reused when the
  images are the same set (a fingerprint of their contents in `autoencoder.json`) and its settings the same;
  otherwise it pretrains afresh and says why.
* with `--truth CSV` (`file,label`, the true labels of some files, e.g. for a benchmark), metrics.json's
  `truth`: the accuracy of the predictions of the files you did not label, and of the sure ones; every
  method's `accuracy` is then measured on those files too.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import keras
import numpy as np

from keras_ae import data as datasets
from keras_ae import runs, training
from keras_ae.classify import classifier as classifiers
from keras_ae.classify import joint, labels, methods, predictions, pretraining, report, semi_supervised
from keras_ae.classify.augment import ShiftRotate
from keras_ae.config import TrainingSettings, as_dict, configure, setting
from keras_ae.denoise import noise as noises
from keras_ae.errors import UserError
from keras_ae.measure import baselines, plots
from keras_ae.models import build, load

ROUNDS = tuple(f"self_training_round{r}" for r in range(1, 10))
AE_METHODS = ("frozen", "finetuned", "label_spreading", *ROUNDS, "self_training", "joint")
BASELINES = (
    "scratch",
    *(f"scratch_{r}" for r in ROUNDS),
    "scratch_self_training",
    "scratch_consistency",
    "logreg_pixels",
    "pca_logreg",
)
CURVE_METHODS = ("frozen", "label_spreading", "logreg_pixels", "pca_logreg")
AE_SETTINGS = ("bottleneck", "filters", "mask", "epochs", "batch_size", "learning_rate", "resize")


@dataclass(kw_only=True)
class Config(TrainingSettings):
    dataset: str = setting(
        "mnist-5k", "A labelled data spec (labels are hidden); with --labels, your unlabeled images."
    )
    labels: str | None = setting(
        None,
        "Your labels: a folder with one subfolder of images per class, or a CSV of file,label (paths relative to "
        "the CSV's folder, else to --dataset).",
        metavar="FOLDER|CSV",
    )
    truth: str | None = setting(
        None, "With --labels: a CSV of file,label, true labels to score against.", metavar="CSV"
    )
    to_label: int = setting(100, "With --labels: files to_label.csv suggests labelling next.")
    resize: str | None = setting(None, "Resize the images of folders to HxW.", metavar="HxW")
    labels_per_class: int = setting(10, "Labelled training images per class (not with --labels).")
    seeds: tuple[int, ...] = setting(
        (0, 1, 2), "One labelled subset (with --labels: split of your labels) per seed; mean +- std.", minimum=0
    )
    validation_per_class: int = setting(10, "Labels kept aside to choose settings (with --labels: at most half).")
    bottleneck: int = setting(32, "Code width of the masked autoencoder.")
    filters: tuple[int, ...] | None = setting(None, "Channels per conv stage.", metavar="32,64")
    mask: float = setting(0.5, "Fraction of pixels the autoencoder must fill in.")
    epochs: int = setting(12, "Autoencoder pretraining epochs.")
    batch_size: int = setting(64)
    learning_rate: float = setting(1e-3)
    head_steps: int = setting(400, "Steps of head training on the frozen encoder.")
    finetune: bool = setting(True, "Then fine-tune the whole net.")
    finetune_steps: int = setting(800, "Steps of fine-tuning (at a third of the lr).")
    scratch_steps: int = setting(400, "Steps of the from-scratch baseline.")
    rounds: int = setting(2, "Self-training rounds (0: none).")
    round_epochs: int = setting(4, "Epochs over the pseudo-labelled set per round.")
    first_round_epochs: int | None = setting(
        None, "Epochs of the first round (default: --round-epochs); its labels come from a few dozen."
    )
    last_round_epochs: int | None = setting(
        None, "Epochs of the last round (default: --round-epochs); its labels are the surest."
    )
    last_round_networks: int = setting(
        1, "Networks the last round trains on its labels, their probabilities averaged (an ensemble)."
    )
    round_mixup: float = setting(
        0.0, "Self-training rounds: mixup's alpha, blending images and their labels (0: off; for rounds of 8+ epochs)."
    )
    labeled_repeats: int = setting(1, "Self-training rounds: times each true label appears among the pseudo-labels.")
    pseudo_fractions: tuple[float, ...] = setting((0.6, 0.85), "Pool share pseudo-labelled per round.", cli=False)
    joint_steps: int = setting(
        0, "Steps of joint training (joint, and scratch_consistency beside it; 0: neither, too slow for 2 cores)."
    )
    joint_ratio: int = setting(3, "Joint training: unlabeled images per labelled image in a batch.")
    joint_threshold: float = setting(0.95, "Joint training: the pseudo-label's least probability.")
    joint_reconstruction: float = setting(1.0, "Joint training: the weight of the masked autoencoder's loss.")
    curve: tuple[int, ...] = setting((1, 5, 10, 50, 100), "Labels per class for the plot (none: off).")
    pretrained: str | None = setting(None, "An autoencoder.keras another run pretrained.", cli=False)
    out: str = setting("runs/classify", "Run folder.")
    export_dir: str | None = setting("exported/classify", "Where the export goes.", off="--no-export")


def run(config: Config | None = None, *, echo=print, verbose="auto", **settings) -> dict:
    c = configure(Config, config, settings)
    started = time.perf_counter()
    seeds = _check_settings(c)
    curve = sorted({int(n) for n in c.curve} | {c.labels_per_class}) if c.curve else [c.labels_per_class]

    # 1. Data. A labelled data spec: the training split is the unlabeled pool (labels hidden, except the few
    #    drawn per seed), the validation split is the test set. Your folders (--labels): every image is the
    #    pool, each seed splits your labels into training and validation labels, and the test set is the files
    #    --truth names (if any). Every draw and every file is checked before anything trains.
    keras.utils.set_random_seed(seeds[0])
    user = None
    if c.labels:
        user = labels.read_user_images(c.dataset, c.labels, datasets.parse_size(c.resize), c.truth)
        data, names = user.image_data(), user.class_names
        pool, pool_labels = user.images, user.labels
        test, test_labels = pool[user.scored], user.truth[user.scored] if len(user.scored) else pool_labels[:0]
        draws = {seed: labels.split_given(pool_labels, c.validation_per_class, seed) for seed in seeds}
        held_out = len(draws[seeds[0]][1])
        seeds = seeds if held_out else seeds[:1]  # nothing held out: every seed would see the same labels
        curve = [c.labels_per_class]  # the curve needs a labelled data set
        echo(user.describe())
        echo(
            f"labels: {held_out} of the {len(user.given)} held out for validation (at most {c.validation_per_class} "
            f"and half of a class's), a new draw for each seed: {', '.join(map(str, seeds))}"
            if held_out
            else "labels: no class has two, so none is held out: the defaults choose (one seed)"
        )
    else:
        data = labels.load_labeled(c.dataset, seed=seeds[0], resize=datasets.parse_size(c.resize))
        names = [str(n) for n in data.class_names]
        pool, pool_labels = data.arrays("train")
        test, test_labels = data.arrays("validation")
        draws = {
            seed: methods.draw(pool_labels, c.labels_per_class, c.validation_per_class, seed, names, data.name)
            for seed in seeds
        }
        per_class_pool = np.bincount(pool_labels, minlength=len(names)).min() - c.validation_per_class
        curve = [n for n in curve if n <= per_class_pool]
        echo(
            f"data: {data.name}, {len(pool)} unlabeled training images of {data.shape}, {len(test)} test images, "
            f"{len(names)} classes; {c.labels_per_class} labels + {c.validation_per_class} validation labels per "
            f"class, seeds {', '.join(map(str, seeds))}"
        )
    has_test = len(test) > 0

    # 2. Pretrain a masked autoencoder on every training image, labels hidden. It serves every seed (and, on
    #    your folders, the next run in the same --out, as long as the images stay the same).
    sources = (c.dataset, c.labels)  # no --labels: None, which the fingerprint skips
    work = runs.resume_or_start(c.out, as_dict(c), echo, inputs=user.inputs if user else (), sources=sources)
    ae, history = _autoencoder(c, data, pool, work, seeds[0], user, echo, verbose)
    pool_codes = ae.embed(pool)
    test_codes = ae.embed(test) if has_test else None
    pca = baselines.PCALogisticRegression(pool, components=ae.code_size, seed=seeds[0])
    augment = ShiftRotate(shift=2, degrees=10, seed=seeds[0])
    common = {"names": names, "augment": augment, "verbose": 0}

    # 3. Every method, for every seed: validation and test accuracy, and the networks of the first seed.
    results = {}  # method -> seed -> {"validation": ..., "test": ..., "predicted": ..., "held_out": ...}
    curves = {method: {} for method in CURVE_METHODS} if user is None else {}
    kept = {}
    chosen_settings = {}  # method -> the setting validation chose, per seed
    pseudo_correct = {}  # method -> fraction of its pseudo-labels that were right, per seed (a diagnostic only)
    for seed in seeds:
        keras.utils.set_random_seed(seed)
        labeled, validation = draws[seed]
        tick = time.perf_counter()

        def score(method, pool_probabilities, test_probabilities, model=None, seed=seed, validation=validation):
            results.setdefault(method, {})[seed] = {
                "validation": report.accuracy(pool_probabilities[validation], pool_labels[validation]),
                "test": report.accuracy(test_probabilities, test_labels) if has_test else None,
                "predicted": test_probabilities.argmax(axis=1) if has_test else None,
                "held_out": pool_probabilities[validation],  # what chooses the threshold of `sure`
                "pool_confidence": pool_probabilities.max(axis=1),  # and what carries it over
            }
            if model is not None and seed == seeds[0]:
                kept[method] = model

        def network(method, model):
            """Score a trained network; returns its probabilities on the pool."""
            pool_probabilities = classifiers.predict(model, pool)
            score(method, pool_probabilities, classifiers.predict(model, test) if has_test else None, model)
            return pool_probabilities

        def self_train(prefix, guesses, from_scratch, labeled=labeled, validation=validation):
            """The rounds: each trains a network afresh on the previous guesses' surest, then guesses anew."""
            for r in range(1, c.rounds + 1):
                method = f"{prefix}self_training" + ("" if r == c.rounds else f"_round{r}")
                model, correct = methods.self_training_round(
                    ae, from_scratch, guesses, pool, pool_labels, labeled, validation, r, c, **common
                )
                pseudo_correct.setdefault(method, []).append(correct)
                guesses = network(method, model)

        # 3a. The linear baselines, and label spreading in code space, at every point of the curve. Label
        #     spreading's settings are chosen on the validation labels at --labels-per-class, then kept.
        settings = None
        for count in sorted(curve, key=lambda n: n != c.labels_per_class):
            few = labeled
            if count != c.labels_per_class:
                few = labels.draw_labeled(pool_labels, count, seed, names, validation, source=data.name)
            points, settings = methods.linear_and_spreading(
                pool, pool_codes, pool_labels, test, test_codes, few, validation, len(names), pca, seed, settings
            )
            if count == c.labels_per_class:
                spreading = points["label_spreading"][0]
                for method, (pool_p, test_p) in points.items():
                    score(method, pool_p, test_p)
                chosen_settings.setdefault("label_spreading", []).append(settings)
            for method, (_, test_p) in points.items():
                if method in curves:
                    curves[method].setdefault(count, []).append(report.accuracy(test_p, test_labels))
            if "frozen" in curves and count != c.labels_per_class:
                model = methods.frozen(ae, pool[few], pool_labels[few], c.head_steps, seed, **common)
                curves["frozen"].setdefault(count, []).append(
                    report.accuracy(classifiers.predict(model, test), test_labels)
                )

        # 3b. The frozen encoder with a head, then fine-tuned: everything trains, with the augmentation and
        #     at least the step budget of `scratch`, at a third of the learning rate (batch norm frozen).
        frozen = methods.frozen(ae, pool[labeled], pool_labels[labeled], c.head_steps, seed, **common)
        network("frozen", frozen)
        if "frozen" in curves:
            curves["frozen"].setdefault(c.labels_per_class, []).append(results["frozen"][seed]["test"])
        sources = {"label_spreading": spreading}
        if c.finetune:
            tuned = methods.finetuned(
                frozen, pool[labeled], pool_labels[labeled], c.finetune_steps, c.learning_rate / 3, augment, seed
            )
            sources["finetuned"] = network("finetuned", tuned)
            sources = {"finetuned+label_spreading": (sources["finetuned"] + spreading) / 2, **sources}

        # 3c. Self-training from the autoencoder: the first round trains on the surest guesses of whichever
        #     source is best on the validation labels (label spreading, the fine-tuned network, or both
        #     averaged; ties go to the first), every later round on the previous round's network's own.
        source = max(sources, key=lambda name: report.accuracy(sources[name][validation], pool_labels[validation]))
        chosen_settings.setdefault("self_training_source", []).append(source)
        self_train("", sources[source], from_scratch=False)

        # 3d. The same network from scratch: labelled images only, then the same rounds on its own guesses.
        model = methods.scratch(
            ae, pool[labeled], pool_labels[labeled], c.scratch_steps, c.learning_rate, augment, seed, names
        )
        self_train("scratch_", network("scratch", model), from_scratch=True)

        # 3e. Joint training: the autoencoder's encoder under a new head, trained on the labelled images and
        #     on its own sure guesses of the unlabeled ones (consistency) while the decoder keeps rebuilding
        #     masked images; and the same from random weights without the decoder (the baseline).
        if c.joint_steps:
            unlabeled = np.setdiff1d(np.arange(len(pool)), validation)  # validation images stay unseen
            for method, from_scratch in (("joint", False), ("scratch_consistency", True)):
                model = methods.joint_classifier(
                    ae, from_scratch, pool[labeled], pool_labels[labeled], pool[unlabeled], c, seed, names
                )
                network(method, model)
        which = "test" if has_test else "validation"
        line = ", ".join(f"{m} {100 * results[m][seed][which]:.1f}" for m in results)
        echo(f"seed {seed} ({time.perf_counter() - tick:.0f} s): {which} accuracy % {line}")

    # 4. The numbers: mean and std over seeds; the best autoencoder-based method is chosen on validation.
    metrics = report.summarise(results, AE_METHODS)
    if user is None:  # on your folders the pool's labels are unknown: nothing to check the pseudo-labels by
        metrics["pseudo_label_accuracy"] = {m: report.mean_std(v) for m, v in pseudo_correct.items()}
    metrics["settings"] = chosen_settings
    metrics["labels_per_class"] = c.labels_per_class if user is None else report.per_class(pool_labels, names)
    if user is not None:  # with none held out, every validation accuracy is 0 and the defaults chose
        metrics["validation_labels"] = len(draws[seeds[0]][1])
    metrics["seeds"] = list(seeds)
    metrics["history"] = {"autoencoder": history}
    metrics["curve"] = {
        method: {str(n): report.mean_std(values) for n, values in points.items()} for method, points in curves.items()
    }

    # 5. The pictures: accuracy against labels per class, and where the best method errs.
    if curves:
        plots.accuracy_vs_labels(
            {m: {n: tuple(report.mean_std(v).values()) for n, v in p.items()} for m, p in curves.items()},
            os.path.join(work, "accuracy_vs_labels.png"),
            title=f"{data.name}: few labels, {len(seeds)} seeds",
        )
    best = metrics["best_autoencoder"]
    if has_test:
        plots.confusion_matrix(
            test_labels,
            results[best][seeds[0]]["predicted"],
            names,
            os.path.join(work, "confusion_matrix.png"),
            title=f"{best}, seed {seeds[0]}: {100 * results[best][seeds[0]]['test']:.1f}% on {len(test)} test images",
        )

    # 6. Keep the best network (label spreading is not one): on a labelled data set the best autoencoder-based
    #    one, what this recipe is about; on your folders the best of all, whatever it owes to the autoencoder,
    #    trained once more on all your labels to label every file: predictions.csv, the sure ones marked by a
    #    threshold the held-out labels chose, and to_label.csv, the files to label next.
    candidates = reversed(AE_METHODS) if user is None else (*reversed(AE_METHODS), *reversed(BASELINES))
    deployed = max(
        (m for m in candidates if m in kept),
        key=lambda m: metrics["validation_accuracy"][m]["mean"],
        default=None,
    )
    metrics["exported"] = deployed
    if user is not None and deployed:
        echo(f"training {deployed} again, on all {len(user.given)} labels")
        kept[deployed] = _refit(deployed, ae, pool, pool_labels, pool_codes, chosen_settings, c, seeds[0], **common)
        held = [
            (
                results[deployed][s]["held_out"],
                pool_labels[draws[s][1]],
                draws[s][1],
                results[deployed][s]["pool_confidence"],
            )
            for s in seeds
        ]
        metrics.update(
            predictions.write_folder_outputs(user, kept[deployed], pool_codes, held, c.to_label, work, seeds[0], echo)
        )
    metrics["seconds"] = time.perf_counter() - started
    runs.write_json(os.path.join(work, "metrics.json"), metrics)
    if deployed:
        kept[deployed].save(os.path.join(work, "classifier.keras"))
        if c.export_dir:
            from keras_ae.export import Endpoint, export

            export(
                None,
                c.export_dir,
                quantize=("float32",),
                endpoints={"classify": Endpoint(kept[deployed], output_name="probabilities")},
                metadata={"dataset": data.name, "class_names": names, "method": deployed, "metrics": metrics},
            )
    runs.commit(work, c.out)
    echo(report.summary(metrics))
    echo(f"wrote {c.out}/" + (f" and {c.export_dir}/" if c.export_dir and deployed else ""))
    return metrics


# -- the steps above, one function each ------------------------------------------------------------------------
def _check_settings(c: Config):
    training.check_settings(c.epochs, "mse", c.learning_rate)
    if c.truth and not c.labels:
        raise UserError("--truth is for a run on your folders (--labels); a labelled data set has its test split")
    if c.to_label < 0:
        raise UserError(f"--to-label must be 0 or more, got {c.to_label}")
    seeds, fractions = tuple(int(s) for s in c.seeds), c.pseudo_fractions
    if not seeds or len(set(seeds)) != len(seeds):
        raise UserError(f"--seeds must be distinct integers, got {','.join(map(str, seeds)) or 'none'}")
    if c.rounds < 0:
        raise UserError(f"--rounds must be 0 or more, got {c.rounds}")
    for flag, epochs in (("--first-round-epochs", c.first_round_epochs), ("--last-round-epochs", c.last_round_epochs)):
        if epochs is not None and epochs < 1:
            raise UserError(f"{flag} must be at least 1, got {epochs}")
    for flag, count in (("--last-round-networks", c.last_round_networks), ("--labeled-repeats", c.labeled_repeats)):
        if count < 1:
            raise UserError(f"{flag} must be at least 1, got {count}")
    if not c.round_mixup >= 0:  # NaN too
        raise UserError(f"--round-mixup must be 0 (off) or more, got {c.round_mixup}")
    if c.rounds and (not fractions or any(not 0 < f <= 1 for f in fractions)):
        raise UserError(f"--pseudo-fractions must be fractions in (0, 1], got {fractions}")
    if c.joint_steps < 0:
        raise UserError(f"--joint-steps must be 0 or more, got {c.joint_steps}")
    # checked even when joint training is off, so a wrong value is never silently ignored
    joint.check_joint_settings(c.joint_threshold, c.joint_reconstruction, ratio=c.joint_ratio)
    if c.validation_per_class < 1:
        raise UserError(f"--validation-per-class must be at least 1, got {c.validation_per_class}")
    return seeds


def _autoencoder(c: Config, data, pool, work, seed, user, echo, verbose):
    """The masked autoencoder and its training history: `--pretrained`, the one an interrupted run had
    finished, on your folders the one the earlier run in `--out` pretrained on the same images with the same
    settings (`autoencoder.json` records both), or one pretrained now."""
    saved, record_path = os.path.join(work, "autoencoder.keras"), os.path.join(work, "autoencoder.json")
    record, reused = None, False
    if user is not None:
        settings = {name: getattr(c, name) for name in AE_SETTINGS}
        record = runs.json_roundtrip({"images": user.fingerprint, "count": len(user.files), "settings": settings})
        if os.path.isfile(saved) and runs.read_json(record_path) != record:
            os.remove(saved)  # an interrupted run's autoencoder, of other images
        reused = not c.pretrained and not os.path.isfile(saved) and pretraining.reuse_earlier(c.out, work, record, echo)
    if c.pretrained or os.path.isfile(saved):  # given, or a resumed or earlier run that had finished pretraining
        source = c.pretrained or saved
        if not reused:
            echo(f"using the autoencoder pretrained in {source}")
        ae = pretraining.load_pretrained(source, data.shape) if c.pretrained else load(saved)
        history = runs.read_json(os.path.join(os.path.dirname(source), "autoencoder", training.HISTORY_FILE), {})
        if c.pretrained:
            ae.save(saved)
    else:
        corrupt = noises.parse(f"mask:{c.mask}")
        ae = build("conv", data.shape, c.bottleneck, filters=c.filters)
        echo(f"pretraining a masked autoencoder ({corrupt}, code of {c.bottleneck}, {c.epochs} epochs)")
        history = training.fit(
            ae.autoencoder,
            data.batches("train", c.batch_size, pairs=corrupt.pairs(), shuffle=True, seed=seed),
            pretraining.fixed_noisy_pairs(corrupt, pool[:500], c.batch_size, seed),
            epochs=c.epochs,
            workdir=os.path.join(work, "autoencoder"),
            steps_per_epoch=training.steps(len(pool), c.batch_size),
            learning_rate=c.learning_rate,
            jit_compile=c.jit_compile,
            verbose=verbose,
        )
        ae.save(saved)
    if record is not None:
        runs.write_json(record_path, record if not c.pretrained else {**record, "pretrained": c.pretrained})
    return ae, history


def _refit(method, ae, pool, pool_labels, pool_codes, chosen, c: Config, seed, names, augment, verbose):
    """`method` (a network) trained again as the seeds trained it, on every label of `pool_labels` (the
    held-out ones too), with the settings the validation labels chose for most seeds."""
    given = np.flatnonzero(pool_labels != labels.UNLABELED)
    from_scratch = method.startswith("scratch")
    if method in ("joint", "scratch_consistency"):
        images, targets = pool[given], pool_labels[given]
        return methods.joint_classifier(ae, from_scratch, images, targets, pool, c, seed, names, verbose)
    common = {"names": names, "augment": augment, "verbose": verbose}
    if from_scratch:
        model = methods.scratch(
            ae, pool[given], pool_labels[given], c.scratch_steps, c.learning_rate, augment, seed, names
        )
        if method == "scratch":
            return model
        guesses = classifiers.predict(model, pool)
    else:
        model = methods.frozen(ae, pool[given], pool_labels[given], c.head_steps, seed, **common)
        if method == "frozen":
            return model
        source = report.most_common(chosen["self_training_source"]) if c.rounds else ""
        if method == "finetuned" or "finetuned" in source:
            tuned = methods.finetuned(
                model, pool[given], pool_labels[given], c.finetune_steps, c.learning_rate / 3, augment, seed
            )
            if method == "finetuned":
                return tuned
        guesses = []
        if "finetuned" in source:
            guesses.append(classifiers.predict(tuned, pool))
        if "label_spreading" in source:
            partial = np.full(len(pool), semi_supervised.UNLABELED)
            partial[given] = pool_labels[given]
            option = report.most_common(chosen["label_spreading"])
            spreading = semi_supervised.LabelSpreading(neighbors=10, **option).fit(pool_codes, partial, len(names))
            guesses.append(spreading.distributions)
        guesses = np.mean(guesses, axis=0)  # "finetuned+label_spreading": the two averaged
    rounds = method.removeprefix("scratch_")
    last = c.rounds if rounds == "self_training" else int(rounds.removeprefix("self_training_round"))
    for r in range(1, last + 1):
        model, _ = methods.self_training_round(
            ae, from_scratch, guesses, pool, pool_labels, given, given[:0], r, c, **common
        )
        guesses = classifiers.predict(model, pool)
    return model
