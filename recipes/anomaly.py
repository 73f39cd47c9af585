"""Find anomalies by reconstruction error: train on normal examples only, flag what comes back badly.

An autoencoder trained only on one kind of example learns to rebuild that kind through its narrow code.
Shown something else, it rebuilds it as best it can from the wrong parts, and the reconstruction error
grows. This recipe makes that error an anomaly score, picks the flagging threshold on validation data (at a
chosen false-positive rate, and the F1-best one) and measures it on test data, beside the classical
detectors a reviewer would ask for, all on the same split: Isolation Forest, PCA reconstruction error of the
same width, and the distance to the k-th nearest normal training example.

The data is any labelled data set: one class (`--normal-class`) is normal, every other class is an anomaly.
Normal examples are split 60/20/20 into train/validation/test; anomalies 50/50 into validation/test.

Runtime: the default (`mnist-5k`, normal class 0, 30 epochs on ~300 normal images) takes about 15 s on a 2-core CPU.
Writes into `--out`: model.keras, threshold.json, metrics.json, config.json, history.json, scores.png, roc.png;
and into `--export-dir` a SavedModel with an `anomaly_score` signature and a TFLite file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from keras_ae import anomaly, runs, training
from keras_ae import data as datasets
from keras_ae.config import TrainingSettings, as_dict, configure, setting
from keras_ae.data.vectors import standardization
from keras_ae.errors import UserError
from keras_ae.measure import plots
from keras_ae.measure.baselines import anomaly_scores
from keras_ae.models import build


def _model_options(shape, arch):
    """Small models: the point is a code too narrow to rebuild what the model has not seen."""
    if arch == "conv":
        return {"filters": (16, 32), "dense_units": 64}
    if arch == "dense":
        return {"hidden": (64, 32) if shape[-1] < 256 else (256, 64)}
    return {}


def normal_class_index(data, normal_class) -> int:
    """`--normal-class` by name or index; an unknown one lists the classes there are."""
    if not data.has_labels:
        raise UserError(f"--dataset {data.name} has no labels: anomaly detection needs to know what is normal")
    names = [str(n) for n in data.class_names]
    text = str(normal_class)
    if text in names:
        return names.index(text)
    if text.lstrip("-").isdigit() and 0 <= int(text) < len(names):
        return int(text)
    raise UserError(f"--normal-class {text}: no such class in {data.name} (classes: {', '.join(names)})")


@dataclass(kw_only=True)
class Config(TrainingSettings):
    dataset: str | datasets.ImageData = setting("mnist-5k", "A labelled data spec (or `signals`).")
    normal_class: str = setting("0", "The class (name or index) that is normal.")
    arch: str = setting("auto", "The builder (auto: by the data's shape).", choices=("auto", "conv", "dense", "conv1d"))
    bottleneck: int = setting(8, "Code width: small, so anomalies rebuild badly.")
    epochs: int = setting(30)
    batch_size: int = setting(16)
    learning_rate: float = setting(1e-3)
    fpr: float = setting(0.01, "False-positive rate the threshold is set at.")
    seed: int = setting(0)
    out: str = setting("runs/anomaly", "Run folder.")
    export_dir: str | None = setting("exported/anomaly", "Where the export goes.", off="--no-export")


def run(config: Config | None = None, *, echo=print, verbose="auto", **settings) -> dict:
    c = configure(Config, config, settings)
    training.check_settings(c.epochs, "mse", c.learning_rate)
    if not 0 < c.fpr < 1:
        raise UserError(f"--fpr must be between 0 and 1, got {c.fpr}")

    # 1. Data: every example of the set, then a one-class split made by the seed.
    keras.utils.set_random_seed(c.seed)
    data = c.dataset
    if not isinstance(data, datasets.ImageData):
        data = datasets.load(data, seed=c.seed, kind="signals" if c.arch == "conv1d" else None)
    normal = normal_class_index(data, c.normal_class)
    x_a, y_a = data.arrays("train")
    x_b, y_b = data.arrays("validation")
    x, labels = np.concatenate([x_a, x_b]), np.concatenate([y_a, y_b])
    train_idx, val_idx, test_idx = anomaly.one_class_split(labels, normal, seed=c.seed)
    is_anomaly = (labels != normal).astype(int)
    x_train = x[train_idx]
    echo(
        f"data: {data.name}, normal class {data.class_names[normal]}: {len(train_idx)} normal training examples, "
        f"{len(val_idx)} validation / {len(test_idx)} test ({is_anomaly[test_idx].sum()} anomalies)"
    )

    # 2. The model: the data's own builder with a small code.
    arch = c.arch if c.arch != "auto" else {3: "conv", 2: "conv1d", 1: "dense"}.get(len(data.shape), "dense")
    options = _model_options(data.shape, arch)
    if data.kind != "images":  # vectors and signals: the model standardises with the training statistics
        options["standardize"] = standardization(x_train)
    ae = build(arch, data.shape, c.bottleneck, **options)
    echo(f"model: {arch} autoencoder, code of {ae.code_size}, {ae.autoencoder.count_params():,} parameters")

    # 3. Train on normal examples only (a tenth of them held out for the validation loss).
    work = runs.resume_or_start(c.out, as_dict(c), echo, sources=(c.dataset,))
    n_hold = max(1, len(x_train) // 10)
    fit_x, hold_x = x_train[n_hold:], x_train[:n_hold]
    train_ds = (
        tf.data.Dataset.from_tensor_slices((fit_x, fit_x))
        .shuffle(len(fit_x), seed=c.seed, reshuffle_each_iteration=True)
        .batch(c.batch_size)
    )
    history = training.fit(
        ae.autoencoder,
        train_ds,
        tf.data.Dataset.from_tensor_slices((hold_x, hold_x)).batch(c.batch_size),
        epochs=c.epochs,
        workdir=work,
        steps_per_epoch=training.steps(len(fit_x), c.batch_size),
        learning_rate=c.learning_rate,
        jit_compile=c.jit_compile,
        verbose=verbose,
        loss_scale=options.get("standardize", (None, None))[1],
    )

    # 4. Scores for every method on the same validation and test examples.
    #    Vectors and signals reach the baselines standardised with the same training statistics as the model:
    #    raw, a feature measured in thousands (a tumour's area) would decide PCA's and k-NN's scores alone.
    splits = {"validation": x[val_idx], "test": x[test_idx]}
    mean, std = (np.asarray(v, np.float32) for v in options.get("standardize", (0.0, 1.0)))
    standardized = {split: (v - mean) / std for split, v in splits.items()}
    scores = anomaly_scores((x_train - mean) / std, standardized, components=ae.code_size, seed=c.seed)
    scale = anomaly.model_scale(ae)
    scores["autoencoder"] = {s: anomaly.reconstruction_errors(v, ae.reconstruct(v), scale) for s, v in splits.items()}
    y_val, y_test = is_anomaly[val_idx], is_anomaly[test_idx]

    # 5. Thresholds on validation, numbers on test.
    reports = {
        m: anomaly.evaluate_method(y_val, scores[m]["validation"], y_test, scores[m]["test"], c.fpr) for m in scores
    }
    metrics = {
        "roc_auc": {m: reports[m]["roc_auc"] for m in anomaly.METHODS},
        "average_precision": {m: reports[m]["average_precision"] for m in anomaly.METHODS},
        "at_fpr": {m: reports[m]["at_fpr"] for m in anomaly.METHODS},
        "f1_best": {m: reports[m]["f1_best"] for m in anomaly.METHODS},
        "fpr": c.fpr,
        "normal_class": str(data.class_names[normal]),
        "arch": arch,
        "code_size": ae.code_size,
        "epochs": len(history["epoch"]),
        "counts": {"train": len(train_idx), "validation": len(val_idx), "test": len(test_idx)},
    }
    threshold = {
        "score": "mean squared reconstruction error per example",
        "threshold": reports["autoencoder"]["at_fpr"]["threshold"],
        "fpr": c.fpr,
        "f1_best_threshold": reports["autoencoder"]["f1_best"]["threshold"],
        "normal_class": metrics["normal_class"],
        "pixel_max": data.info.get("pixel_max"),  # so `keras-ae score` reads raw files on the training scale
    }

    # 6. Pictures: how the scores of normal and anomalous test examples separate, and the ROC curves.
    test_scores = {m: scores[m]["test"] for m in anomaly.METHODS}
    thresholds = {m: reports[m]["at_fpr"]["threshold"] for m in anomaly.METHODS}
    plots.score_histograms(test_scores, y_test, thresholds, metrics["roc_auc"], os.path.join(work, "scores.png"))
    plots.roc_curves(
        test_scores, y_test, metrics["roc_auc"], os.path.join(work, "roc.png"), f"{data.name} test examples"
    )
    ae.save(os.path.join(work, "model.keras"))
    runs.write_json(os.path.join(work, anomaly.THRESHOLD_FILE), threshold)
    runs.write_json(os.path.join(work, "metrics.json"), metrics)

    # 7. Export the detector: the SavedModel gains an `anomaly_score` signature (examples in, scores out) that
    #    computes the very score the threshold was set on; metadata.json carries the threshold.
    if c.export_dir:
        from keras_ae.export import export

        export(
            ae,
            c.export_dir,
            quantize=("float32",),
            endpoints=anomaly.export_endpoints(ae),
            metadata={"dataset": data.name, "threshold": threshold, "metrics": metrics},
        )
    runs.commit(work, c.out)

    echo("ROC-AUC  " + "  ".join(f"{m} {metrics['roc_auc'][m]:.3f}" for m in anomaly.METHODS))
    at = reports["autoencoder"]["at_fpr"]
    where = f"{c.out}/" + (f" and {c.export_dir}/" if c.export_dir else "")
    echo(f"autoencoder at {c.fpr:.0%} FPR: precision {at['precision']:.3f}, recall {at['recall']:.3f}; wrote {where}")
    return metrics
