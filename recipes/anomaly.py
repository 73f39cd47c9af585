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

import keras
import numpy as np
import tensorflow as tf

from keras_ae import anomaly, distribute, runs, training
from keras_ae import data as datasets
from keras_ae.data.vectors import standardization
from keras_ae.errors import UserError
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


def run(
    dataset: str = "mnist-5k",
    normal_class="0",
    arch: str = "auto",
    bottleneck: int = 8,
    epochs: int = 30,
    batch_size: int = 16,
    learning_rate: float = 1e-3,
    fpr: float = 0.01,
    out: str = "runs/anomaly",
    export_dir: str | None = None,
    seed: int = 0,
    echo=print,
    verbose="auto",
) -> dict:
    config = {k: v for k, v in locals().items() if k not in ("echo", "verbose")}
    config["dataset"] = getattr(dataset, "name", dataset)
    training.check_settings(epochs, "mse", learning_rate)
    if not 0 < fpr < 1:
        raise UserError(f"--fpr must be between 0 and 1, got {fpr}")

    # 1. Data: every example of the set, then a one-class split made by the seed.
    keras.utils.set_random_seed(seed)
    if not isinstance(dataset, datasets.ImageData):
        dataset = datasets.load(dataset, seed=seed, kind="signals" if arch == "conv1d" else None)
    data = dataset
    normal = normal_class_index(data, normal_class)
    x_a, y_a = data.arrays("train")
    x_b, y_b = data.arrays("validation")
    x, labels = np.concatenate([x_a, x_b]), np.concatenate([y_a, y_b])
    train_idx, val_idx, test_idx = anomaly.one_class_split(labels, normal, seed=seed)
    is_anomaly = (labels != normal).astype(int)
    x_train = x[train_idx]
    echo(
        f"data: {data.name}, normal class {data.class_names[normal]}: {len(train_idx)} normal training examples, "
        f"{len(val_idx)} validation / {len(test_idx)} test ({is_anomaly[test_idx].sum()} anomalies)"
    )

    # 2. The model: the data's own builder with a small code.
    if arch == "auto":
        arch = {3: "conv", 2: "conv1d", 1: "dense"}.get(len(data.shape), "dense")
    options = _model_options(data.shape, arch)
    if data.kind != "images":  # vectors and signals: the model standardises with the training statistics
        options["standardize"] = standardization(x_train)
    ae = build(arch, data.shape, bottleneck, **options)
    echo(f"model: {arch} autoencoder, code of {ae.code_size}, {ae.autoencoder.count_params():,} parameters")

    # 3. Train on normal examples only (a tenth of them held out for the validation loss).
    out = distribute.worker_path(out)  # on a cluster only the chief writes `out`
    work = runs.resume_or_start(out, config, echo)
    n_hold = max(1, len(x_train) // 10)
    fit_x, hold_x = x_train[n_hold:], x_train[:n_hold]
    train_ds = (
        tf.data.Dataset.from_tensor_slices((fit_x, fit_x))
        .shuffle(len(fit_x), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size)
    )
    history = training.fit(
        ae.autoencoder,
        train_ds,
        tf.data.Dataset.from_tensor_slices((hold_x, hold_x)).batch(batch_size),
        epochs=epochs,
        workdir=work,
        steps_per_epoch=training.steps(len(fit_x), batch_size),
        learning_rate=learning_rate,
        verbose=verbose,
        loss_scale=options.get("standardize", (None, None))[1],
    )

    # 4. Scores for every method on the same validation and test examples.
    #    Vectors and signals reach the baselines standardised with the same training statistics as the model:
    #    raw, a feature measured in thousands (a tumour's area) would decide PCA's and k-NN's scores alone.
    splits = {"validation": x[val_idx], "test": x[test_idx]}
    mean, std = (np.asarray(v, np.float32) for v in options.get("standardize", (0.0, 1.0)))
    standardized = {split: (v - mean) / std for split, v in splits.items()}
    scores = anomaly_scores((x_train - mean) / std, standardized, components=ae.code_size, seed=seed)
    scale = anomaly.model_scale(ae)
    scores["autoencoder"] = {s: anomaly.reconstruction_errors(v, ae.reconstruct(v), scale) for s, v in splits.items()}
    y_val, y_test = is_anomaly[val_idx], is_anomaly[test_idx]

    # 5. Thresholds on validation, numbers on test.
    reports = {
        m: anomaly.evaluate_method(y_val, scores[m]["validation"], y_test, scores[m]["test"], fpr) for m in scores
    }
    metrics = {
        "roc_auc": {m: reports[m]["roc_auc"] for m in anomaly.METHODS},
        "average_precision": {m: reports[m]["average_precision"] for m in anomaly.METHODS},
        "at_fpr": {m: reports[m]["at_fpr"] for m in anomaly.METHODS},
        "f1_best": {m: reports[m]["f1_best"] for m in anomaly.METHODS},
        "fpr": fpr,
        "normal_class": str(data.class_names[normal]),
        "arch": arch,
        "code_size": ae.code_size,
        "epochs": len(history["epoch"]),
        "counts": {"train": len(train_idx), "validation": len(val_idx), "test": len(test_idx)},
    }
    threshold = {
        "score": "mean squared reconstruction error per example",
        "threshold": reports["autoencoder"]["at_fpr"]["threshold"],
        "fpr": fpr,
        "f1_best_threshold": reports["autoencoder"]["f1_best"]["threshold"],
        "normal_class": metrics["normal_class"],
        "pixel_max": data.info.get("pixel_max"),  # so `keras-ae score` reads raw files on the training scale
    }

    # 6. Pictures: how the scores of normal and anomalous test examples separate, and the ROC curves.
    _plot_scores(scores, y_test, reports, os.path.join(work, "scores.png"))
    _plot_roc(scores, y_test, metrics["roc_auc"], os.path.join(work, "roc.png"), data.name)
    ae.save(os.path.join(work, "model.keras"))
    runs.write_json(os.path.join(work, anomaly.THRESHOLD_FILE), threshold)
    runs.write_json(os.path.join(work, "metrics.json"), metrics)

    # 7. Export the detector: the SavedModel gains an `anomaly_score` signature (examples in, scores out) that
    #    computes the very score the threshold was set on; metadata.json carries the threshold.
    if export_dir:
        from keras_ae.export import export

        export(
            ae,
            export_dir,
            quantize=("float32",),
            endpoints=anomaly.export_endpoints(ae),
            metadata={"dataset": data.name, "threshold": threshold, "metrics": metrics},
        )
    runs.commit(work, out)

    echo("ROC-AUC  " + "  ".join(f"{m} {metrics['roc_auc'][m]:.3f}" for m in anomaly.METHODS))
    at = reports["autoencoder"]["at_fpr"]
    where = f"{out}/" + (f" and {export_dir}/" if export_dir else "")
    echo(f"autoencoder at {fpr:.0%} FPR: precision {at['precision']:.3f}, recall {at['recall']:.3f}; wrote {where}")
    return metrics


def _plot_scores(scores, labels, reports, path):
    import matplotlib.pyplot as plt

    from keras_ae.measure import plots  # noqa: F401 - selects the Agg backend

    fig, axes = plt.subplots(1, len(anomaly.METHODS), figsize=(4 * len(anomaly.METHODS), 3.2))
    for ax, method in zip(axes, anomaly.METHODS, strict=True):
        s = scores[method]["test"]
        bins = np.linspace(s.min(), s.max(), 40)
        ax.hist(s[labels == 0], bins=bins, alpha=0.6, density=True, label="normal")
        ax.hist(s[labels == 1], bins=bins, alpha=0.6, density=True, label="anomalous")
        ax.axvline(reports[method]["at_fpr"]["threshold"], color="k", linestyle="--", linewidth=1, label="threshold")
        ax.set_title(f"{method} (AUC {reports[method]['roc_auc']:.3f})", fontsize=9)
        ax.set_yticks([])
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _plot_roc(scores, labels, aucs, path, name):
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    from keras_ae import plots  # noqa: F401 - selects the Agg backend

    fig, ax = plt.subplots(figsize=(5, 5))
    for method in anomaly.METHODS:
        fp, tp, _ = roc_curve(labels, scores[method]["test"])
        ax.plot(fp, tp, label=f"{method} ({aucs[method]:.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, linestyle=":")
    ax.set_xlabel("false-positive rate")
    ax.set_ylabel("true-positive rate")
    ax.set_title(f"ROC on {name} test examples")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
