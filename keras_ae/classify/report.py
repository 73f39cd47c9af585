"""The numbers of a few-label run: accuracy, mean +- std over seeds, the best autoencoder-based method (chosen
on validation labels) and the table printed at the end."""

from __future__ import annotations

import json

import numpy as np

from keras_ae.classify import labels


def accuracy(probabilities, true) -> float:
    """The share of right guesses; 0 for no labels (then every choice ties, and the defaults decide)."""
    if not len(true):
        return 0.0
    return float(np.mean(np.asarray(probabilities).argmax(axis=1) == np.asarray(true)))


def mean_std(values) -> dict:
    """`{"mean", "std"}` over seeds."""
    return {"mean": float(np.mean(values)), "std": float(np.std(values))}


def per_class(pool_labels, names) -> dict:
    """Labels given per class name (the unlabeled not counted)."""
    counts = np.bincount(pool_labels[pool_labels != labels.UNLABELED], minlength=len(names))
    return {name: int(n) for name, n in zip(names, counts, strict=True)}


def most_common(values):
    """The value chosen for most seeds (the first seed's among equals)."""
    keys = [json.dumps(v, sort_keys=True) for v in values]
    return values[max(range(len(keys)), key=lambda i: (keys.count(keys[i]), -i))]


def summarise(results, ae_methods) -> dict:
    """Mean +- std over seeds of each method's test accuracy (None without a test set) and validation accuracy."""
    metrics = {"accuracy": {}, "validation_accuracy": {}, "per_seed": {}}
    for method, by_seed in results.items():
        tests = [r["test"] for r in by_seed.values()]
        metrics["accuracy"][method] = None if None in tests else mean_std(tests)
        metrics["validation_accuracy"][method] = mean_std([r["validation"] for r in by_seed.values()])
        metrics["per_seed"][method] = {str(s): r["test"] for s, r in by_seed.items()}
    metrics["best_autoencoder"] = best_autoencoder(results, ae_methods)
    return metrics


def best_autoencoder(results, ae_methods) -> str:
    """The latest method of `ae_methods` (a later round has learned from more images) whose validation
    accuracy is within one standard error of the best one's: the "one-standard-error rule" (Breiman et al.
    1984), with the binomial error of the best accuracy over every seed's validation images. A hundred
    validation labels cannot tell 98% from 99%; they should not undo a round that learned from thousands."""
    candidates = [m for m in reversed(ae_methods) if m in results]
    validation = {m: float(np.mean([r["validation"] for r in results[m].values()])) for m in candidates}
    best = max(validation.values())
    images = sum(len(r["held_out"]) for r in results[candidates[0]].values())
    error = np.sqrt(best * (1 - best) / images) if images else 0.0
    return next(m for m in candidates if validation[m] >= best - error - 1e-12)


def summary(metrics: dict) -> str:
    """The table printed at the end: every method, best first; the chosen autoencoder method is marked."""
    accuracy, validation = metrics["accuracy"], metrics["validation_accuracy"]
    lines = [f"{'method':30s} {'test accuracy %':>16s} {'validation %':>13s}"]
    order = accuracy if all(accuracy.values()) else validation  # without a test set: by validation

    for name in sorted(accuracy, key=lambda m: order[m]["mean"], reverse=True):
        mark = " <- best autoencoder (on validation)" if name == metrics["best_autoencoder"] else ""
        test = accuracy[name]
        shown = f"{100 * test['mean']:9.1f} +- {100 * test['std']:3.1f}" if test else f"{'-':>16s}"
        lines.append(f"{name:30s} {shown} {100 * validation[name]['mean']:13.1f}{mark}")
    return "\n".join(lines)
