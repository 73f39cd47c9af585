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
  surest guesses, more of them;
* baselines: `scratch` (the same network, randomly initialised, trained on the labelled images with the same
  augmentation), `scratch_self_training` (the same rounds, seeded by scratch's own guesses),
  `logreg_pixels` and `pca_logreg` (PCA of the code's width fitted on the unlabeled images).

Each seed draws a different labelled set (`--labels-per-class` of every class) and a disjoint validation set
(`--validation-per-class`) from the training split; the data's validation split is the test set and is used
for nothing but the final numbers. Settings (label-spreading strength, logistic-regression C, the first
round's source) and `best_autoencoder` (ties go to the later round) are chosen on the validation labels. One
autoencoder serves all seeds: it never sees a label (`pretrained=` reuses one from an earlier run).

Runtime: the default (`mnist-5k`, 3 seeds) used 540 CPU-seconds, about 4.5-5 minutes on 2 free cores.
Writes `runs/classify/` (autoencoder.keras, classifier.keras, metrics.json, config.json,
accuracy_vs_labels.png, confusion_matrix.png) and exports the classifier to `exported/classify/`
(SavedModel with a `classify` signature returning `probabilities`, TFLite float32).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from keras_ae import runs, training
from keras_ae.classify import classifier as classifiers
from keras_ae.classify import labels, semi_supervised
from keras_ae.classify.augment import ShiftRotate
from keras_ae.config import TrainingSettings, as_dict, configure, setting
from keras_ae.denoise import noise as noises
from keras_ae.errors import UserError
from keras_ae.measure import baselines, plots
from keras_ae.models import build, load

ROUNDS = tuple(f"self_training_round{r}" for r in range(1, 10))
AE_METHODS = ("frozen", "finetuned", "label_spreading", *ROUNDS, "self_training")
BASELINES = ("scratch", *(f"scratch_{r}" for r in ROUNDS), "scratch_self_training", "logreg_pixels", "pca_logreg")
CURVE_METHODS = ("frozen", "label_spreading", "logreg_pixels", "pca_logreg")


@dataclass(kw_only=True)
class Config(TrainingSettings):
    dataset: str = setting("mnist-5k", "A labelled data spec (labels are hidden).")
    labels_per_class: int = setting(10, "Labelled training images per class.")
    seeds: tuple[int, ...] = setting((0, 1, 2), "One labelled subset per seed; mean +- std.", minimum=0)
    validation_per_class: int = setting(10, "Labels kept aside to choose settings.")
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
    pseudo_fractions: tuple[float, ...] = setting((0.6, 0.85), "Pool share pseudo-labelled per round.", cli=False)
    curve: tuple[int, ...] = setting((1, 5, 10, 50, 100), "Labels per class for the plot (none: off).")
    pretrained: str | None = setting(None, "An autoencoder.keras another run pretrained.", cli=False)
    out: str = setting("runs/classify", "Run folder.")
    export_dir: str | None = setting("exported/classify", "Where the export goes.", off="--no-export")


def run(config: Config | None = None, *, echo=print, verbose="auto", **settings) -> dict:
    c = configure(Config, config, settings)
    started = time.perf_counter()
    seeds = _check_settings(c)
    curve = sorted({int(n) for n in c.curve} | {c.labels_per_class}) if c.curve else [c.labels_per_class]

    # 1. Data: the training split is the unlabeled pool (labels hidden, except the few drawn per seed),
    #    the validation split is the test set. Every draw is checked before anything trains.
    keras.utils.set_random_seed(seeds[0])
    data = labels.load_labeled(c.dataset, seed=seeds[0])
    names = [str(n) for n in data.class_names]
    pool, pool_labels = data.arrays("train")
    test, test_labels = data.arrays("validation")
    draws = {
        seed: _draw(pool_labels, c.labels_per_class, c.validation_per_class, seed, names, data.name) for seed in seeds
    }
    per_class_pool = np.bincount(pool_labels, minlength=len(names)).min() - c.validation_per_class
    curve = [n for n in curve if n <= per_class_pool]
    echo(
        f"data: {data.name}, {len(pool)} unlabeled training images of {data.shape}, {len(test)} test images, "
        f"{len(names)} classes; {c.labels_per_class} labels + {c.validation_per_class} validation labels per class, "
        f"seeds {', '.join(map(str, seeds))}"
    )

    # 2. Pretrain a masked autoencoder on every training image, labels hidden. It serves every seed.
    work = runs.resume_or_start(c.out, as_dict(c), echo)
    corrupt = noises.parse(f"mask:{c.mask}")
    saved = os.path.join(work, "autoencoder.keras")
    if c.pretrained or os.path.isfile(saved):  # given, or a resumed run that had finished pretraining
        source = c.pretrained or saved
        echo(f"using the autoencoder pretrained in {source}")
        ae = _pretrained(source, data.shape) if c.pretrained else load(saved)
        history = runs.read_json(os.path.join(os.path.dirname(source), "autoencoder", training.HISTORY_FILE), {})
        if c.pretrained:
            ae.save(saved)
    else:
        ae = build("conv", data.shape, c.bottleneck, filters=c.filters)
        echo(f"pretraining a masked autoencoder ({corrupt}, code of {c.bottleneck}, {c.epochs} epochs)")
        history = training.fit(
            ae.autoencoder,
            data.batches("train", c.batch_size, pairs=corrupt.pairs(), shuffle=True, seed=seeds[0]),
            _fixed_noisy_pairs(corrupt, pool[:500], c.batch_size, seeds[0]),
            epochs=c.epochs,
            workdir=os.path.join(work, "autoencoder"),
            steps_per_epoch=training.steps(len(pool), c.batch_size),
            learning_rate=c.learning_rate,
            jit_compile=c.jit_compile,
            verbose=verbose,
        )
        ae.save(saved)
    pool_codes, test_codes = ae.embed(pool), ae.embed(test)
    pca = baselines.PCALogisticRegression(pool, components=ae.code_size, seed=seeds[0])
    augment = ShiftRotate(shift=2, degrees=10, seed=seeds[0])
    common = {"names": names, "augment": augment, "verbose": 0}

    # 3. Every method, for every seed: validation and test accuracy, and the networks of the first seed.
    results = {}  # method -> seed -> {"validation": ..., "test": ..., "probabilities": ...}
    curves = {method: {} for method in CURVE_METHODS}
    kept = {}
    chosen_settings = {}  # method -> the setting validation chose, per seed
    pseudo_correct = {}  # method -> fraction of its pseudo-labels that were right, per seed (a diagnostic only)
    for seed in seeds:
        keras.utils.set_random_seed(seed)
        labeled, validation = draws[seed]
        tick = time.perf_counter()

        def score(method, pool_probabilities, test_probabilities, model=None, seed=seed, validation=validation):
            results.setdefault(method, {})[seed] = {
                "validation": _accuracy(pool_probabilities[validation], pool_labels[validation]),
                "test": _accuracy(test_probabilities, test_labels),
                "predicted": test_probabilities.argmax(axis=1),
            }
            if model is not None and seed == seeds[0]:
                kept[method] = model

        def network(method, model):
            """Score a trained network; returns its probabilities on the pool."""
            pool_probabilities = classifiers.predict(model, pool)
            score(method, pool_probabilities, classifiers.predict(model, test), model)
            return pool_probabilities

        def self_train(prefix, guesses, from_scratch, labeled=labeled, validation=validation):
            """The rounds: each trains a network afresh on the previous guesses' surest, then guesses anew."""
            for r in range(1, c.rounds + 1):
                method = f"{prefix}self_training" + ("" if r == c.rounds else f"_round{r}")
                model, correct = _pseudo_labelled(
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
            points, settings = _linear_and_spreading(
                pool, pool_codes, pool_labels, test, test_codes, few, validation, len(names), pca, seed, settings
            )
            if count == c.labels_per_class:
                spreading = points["label_spreading"][0]
                for method, (pool_p, test_p) in points.items():
                    score(method, pool_p, test_p)
                chosen_settings.setdefault("label_spreading", []).append(settings)
            for method, (_, test_p) in points.items():
                if method in curves:
                    curves[method].setdefault(count, []).append(_accuracy(test_p, test_labels))
            if "frozen" in curves and count != c.labels_per_class:
                model = _frozen(ae, pool[few], pool_labels[few], c.head_steps, seed, **common)
                curves["frozen"].setdefault(count, []).append(_accuracy(classifiers.predict(model, test), test_labels))

        # 3b. The frozen encoder with a head, then fine-tuned: everything trains, with the augmentation and
        #     at least the step budget of `scratch`, at a third of the learning rate (batch norm frozen).
        frozen = _frozen(ae, pool[labeled], pool_labels[labeled], c.head_steps, seed, **common)
        network("frozen", frozen)
        curves["frozen"].setdefault(c.labels_per_class, []).append(results["frozen"][seed]["test"])
        sources = {"label_spreading": spreading}
        if c.finetune:
            tuned = keras.models.clone_model(frozen)
            tuned.set_weights(frozen.get_weights())
            classifiers.unfreeze(tuned)
            classifiers.fit_classifier(
                tuned, pool[labeled], pool_labels[labeled], c.finetune_steps, 32, c.learning_rate / 3, augment, seed
            )
            sources["finetuned"] = network("finetuned", tuned)
            sources = {"finetuned+label_spreading": (sources["finetuned"] + spreading) / 2, **sources}

        # 3c. Self-training from the autoencoder: the first round trains on the surest guesses of whichever
        #     source is best on the validation labels (label spreading, the fine-tuned network, or both
        #     averaged; ties go to the first), every later round on the previous round's network's own.
        source = max(sources, key=lambda name: _accuracy(sources[name][validation], pool_labels[validation]))
        chosen_settings.setdefault("self_training_source", []).append(source)
        self_train("", sources[source], from_scratch=False)

        # 3d. The same network from scratch: labelled images only, then the same rounds on its own guesses.
        model = classifiers.build_classifier(classifiers.copy_encoder(ae.encoder, initialize=True), names)
        classifiers.fit_classifier(
            model, pool[labeled], pool_labels[labeled], c.scratch_steps, 32, c.learning_rate, augment, seed
        )
        self_train("scratch_", network("scratch", model), from_scratch=True)
        line = ", ".join(f"{m} {100 * results[m][seed]['test']:.1f}" for m in results)
        echo(f"seed {seed} ({time.perf_counter() - tick:.0f} s): test accuracy % {line}")

    # 4. The numbers: mean and std over seeds; the best autoencoder-based method is chosen on validation.
    metrics = _summarise(results, AE_METHODS)
    metrics["pseudo_label_accuracy"] = {m: _mean_std(v) for m, v in pseudo_correct.items()}
    metrics["settings"] = chosen_settings
    metrics["labels_per_class"] = c.labels_per_class
    metrics["seeds"] = list(seeds)
    metrics["history"] = {"autoencoder": history}
    metrics["curve"] = {
        method: {str(n): _mean_std(values) for n, values in points.items()} for method, points in curves.items()
    }
    metrics["seconds"] = time.perf_counter() - started

    # 5. The pictures: accuracy against labels per class, and where the best method errs.
    plots.accuracy_vs_labels(
        {m: {n: tuple(_mean_std(v).values()) for n, v in p.items()} for m, p in curves.items()},
        os.path.join(work, "accuracy_vs_labels.png"),
        title=f"{data.name}: few labels, {len(seeds)} seeds",
    )
    best = metrics["best_autoencoder"]
    plots.confusion_matrix(
        test_labels,
        results[best][seeds[0]]["predicted"],
        names,
        os.path.join(work, "confusion_matrix.png"),
        title=f"{best}, seed {seeds[0]}: {100 * results[best][seeds[0]]['test']:.1f}% on {len(test)} test images",
    )

    # 6. Keep and export the best autoencoder-based network (label spreading is not a network).
    deployed = max(
        (m for m in reversed(AE_METHODS) if m in kept),
        key=lambda m: metrics["validation_accuracy"][m]["mean"],
        default=None,
    )
    metrics["exported"] = deployed
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
    echo(summary(metrics))
    echo(f"wrote {c.out}/" + (f" and {c.export_dir}/" if c.export_dir and deployed else ""))
    return metrics


# -- the steps above, one function each ------------------------------------------------------------------------
def _check_settings(c: Config):
    training.check_settings(c.epochs, "mse", c.learning_rate)
    seeds, fractions = tuple(int(s) for s in c.seeds), c.pseudo_fractions
    if not seeds or len(set(seeds)) != len(seeds):
        raise UserError(f"--seeds must be distinct integers, got {','.join(map(str, seeds)) or 'none'}")
    if c.rounds < 0:
        raise UserError(f"--rounds must be 0 or more, got {c.rounds}")
    if c.rounds and (not fractions or any(not 0 < f <= 1 for f in fractions)):
        raise UserError(f"--pseudo-fractions must be fractions in (0, 1], got {fractions}")
    if c.validation_per_class < 1:
        raise UserError(f"--validation-per-class must be at least 1, got {c.validation_per_class}")
    return seeds


def _pretrained(path, shape):
    """An autoencoder another run pretrained (its `autoencoder.keras`), checked against the data's shape."""
    if not os.path.isfile(path):
        raise UserError(f"--pretrained {path}: not found")
    ae = load(path)
    if tuple(ae.input_shape) != tuple(shape):
        raise UserError(f"--pretrained {path}: takes images of {ae.input_shape}, the data has {tuple(shape)}")
    return ae


def _draw(pool_labels, per_class, validation_per_class, seed, names, source):
    """Labelled training indices, and validation indices disjoint from them."""
    labeled = labels.draw_labeled(pool_labels, per_class, seed, names, source=source)
    if not validation_per_class:
        return labeled, np.array([], np.int64)
    validation = labels.draw_labeled(pool_labels, validation_per_class, seed + 10_000, names, labeled, source=source)
    return labeled, validation


def _fixed_noisy_pairs(corrupt, images, batch_size, seed):
    return tf.data.Dataset.from_tensor_slices((corrupt.apply_fixed(images, seed), images)).batch(batch_size)


def _accuracy(probabilities, true) -> float:
    return float(np.mean(np.asarray(probabilities).argmax(axis=1) == np.asarray(true)))


def _mean_std(values) -> dict:
    return {"mean": float(np.mean(values)), "std": float(np.std(values))}


def _linear_and_spreading(
    pool, pool_codes, pool_labels, test, test_codes, few, validation, classes, pca, seed, settings
):
    """(pool, test) probabilities of logistic regression on pixels and on PCA codes, and of label spreading.

    Logistic regression picks its C on the validation labels; label spreading its scaling and strength, unless
    `settings` fixes them. Returns the probabilities and label spreading's settings."""
    val_x, val_y = pool[validation], pool_labels[validation]
    found = {}
    for name, model in (
        ("logreg_pixels", baselines.LogisticRegression(seed=seed)),
        ("pca_logreg", pca),
    ):
        model.fit(pool[few], pool_labels[few], val_x, val_y)
        found[name] = (model.predict_proba(pool), model.predict_proba(test))
    partial = np.full(len(pool), semi_supervised.UNLABELED)
    partial[few] = pool_labels[few]
    grid = [settings] if settings else [{"scale": s, "alpha": a} for s in semi_supervised.SCALES for a in (0.8, 0.99)]
    best = None
    for option in grid:
        spreading = semi_supervised.LabelSpreading(neighbors=10, **option).fit(pool_codes, partial, classes)
        accuracy = _accuracy(spreading.distributions[validation], val_y)
        if best is None or accuracy > best[0]:
            best = (accuracy, spreading, option)
    _, spreading, option = best
    found["label_spreading"] = (spreading.distributions, spreading.predict_proba(test_codes))
    return found, option


def _frozen(ae, images, image_labels, steps, seed, names, augment, verbose):
    """A copy of the pretrained encoder, frozen, under a new head trained on the labelled images."""
    encoder = classifiers.freeze(classifiers.copy_encoder(ae.encoder))
    model = classifiers.build_classifier(encoder, names)
    classifiers.fit_classifier(model, images, image_labels, steps, 32, 1e-3, augment, seed, verbose=verbose)
    return model


def _pseudo_labelled(
    ae, scratch, guesses, pool, pool_labels, labeled, validation, round_, config, names, augment, verbose
):
    """One self-training round: the surest guesses per class (validation images never among them) plus the
    true labelled images train a new classifier, from the autoencoder's encoder or from scratch."""
    fractions = config.pseudo_fractions
    per_class = int(fractions[min(round_, len(fractions)) - 1] * len(pool) / len(names))
    chosen, pseudo = semi_supervised.top_per_class(guesses, per_class, exclude=np.r_[labeled, validation])
    images = np.concatenate([pool[labeled], pool[chosen]])
    targets = np.concatenate([pool_labels[labeled], pseudo])
    model = classifiers.build_classifier(classifiers.copy_encoder(ae.encoder, initialize=scratch), names)
    steps = config.round_epochs * math.ceil(len(images) / config.batch_size)
    classifiers.fit_classifier(
        model, images, targets, steps, config.batch_size, config.learning_rate, augment, verbose=verbose
    )
    return model, float(np.mean(pseudo == pool_labels[chosen]))


def _summarise(results, ae_methods) -> dict:
    metrics = {"accuracy": {}, "validation_accuracy": {}, "per_seed": {}}
    for method, by_seed in results.items():
        metrics["accuracy"][method] = _mean_std([r["test"] for r in by_seed.values()])
        metrics["validation_accuracy"][method] = _mean_std([r["validation"] for r in by_seed.values()])
        metrics["per_seed"][method] = {str(s): r["test"] for s, r in by_seed.items()}
    # Ties go to the later method in `ae_methods` (a later round has learned from more images).
    candidates = [m for m in reversed(ae_methods) if m in results]
    metrics["best_autoencoder"] = max(candidates, key=lambda m: metrics["validation_accuracy"][m]["mean"])
    return metrics


def summary(metrics: dict) -> str:
    """The table printed at the end: every method, best first; the chosen autoencoder method is marked."""
    accuracy, validation = metrics["accuracy"], metrics["validation_accuracy"]
    lines = [f"{'method':30s} {'test accuracy %':>16s} {'validation %':>13s}"]
    for name in sorted(accuracy, key=lambda m: accuracy[m]["mean"], reverse=True):
        mark = " <- best autoencoder (on validation)" if name == metrics["best_autoencoder"] else ""
        lines.append(
            f"{name:30s} {100 * accuracy[name]['mean']:9.1f} +- {100 * accuracy[name]['std']:3.1f} "
            f"{100 * validation[name]['mean']:13.1f}{mark}"
        )
    return "\n".join(lines)
