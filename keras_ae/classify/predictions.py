"""Label user image files with a trained classifier, and score the labels against a CSV of true ones."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass

import numpy as np

from keras_ae.classify import labels
from keras_ae.errors import UserError


@dataclass
class Predictions:
    class_names: list[str]
    files: list[str]
    probabilities: np.ndarray  # (N, classes)
    accuracy: float | None = None

    @property
    def rows(self) -> list[dict]:
        best = self.probabilities.argmax(axis=1)
        return [
            {"file": f, "label": self.class_names[b], "probability": float(p[b])}
            for f, b, p in zip(self.files, best, self.probabilities, strict=True)
        ]


def classify_files(model_path: str, inputs, truth: str | None = None) -> Predictions:
    """Predict every image file (or folder of images) in `inputs`; with `truth`, also the accuracy."""
    from keras_ae import io
    from keras_ae.classify.classifier import load

    files = io.list_images(inputs)
    expected = read_truth(truth, files, None) if truth else None  # check the file names before loading a model
    model = load(model_path)
    height, width, channels = model.input_shape
    images = []
    for path in files:
        image, _ = io.read_image(path, channels)
        if image.shape[:2] != (height, width):
            raise UserError(f"{path}: image is {image.shape[0]}x{image.shape[1]}, the model takes {height}x{width}")
        images.append(image)
    probabilities = np.asarray(model.predict(np.stack(images).astype(np.float32)))
    result = Predictions(model.class_names, files, probabilities)
    if truth:
        expected = read_truth(truth, files, model.class_names)
        scored = [i for i, label in enumerate(expected) if label is not None]
        predicted = probabilities.argmax(axis=1)
        result.accuracy = float(np.mean([predicted[i] == expected[i] for i in scored]))
    return result


def read_truth(path: str, files, class_names):
    """`file,label` rows (a header row is optional) -> the label index of each of `files`, None if unlisted.
    Labels are class names or class indices; with `class_names` None only the file names are checked."""
    from keras_ae.classify.labels import parse_labels

    if not os.path.isfile(path):
        raise UserError(f"--labels {path}: no such file")
    with open(path, newline="") as f:
        rows = [row for row in csv.reader(f) if row and any(cell.strip() for cell in row)]
    if rows and [c.strip().lower() for c in rows[0][:2]] == ["file", "label"]:
        rows = rows[1:]
    if not rows:
        raise UserError(f"--labels {path}: holds no file,label rows")
    by_name = {os.path.basename(f): i for i, f in enumerate(files)}
    expected = [None] * len(files)
    for number, row in enumerate(rows, 1):
        if len(row) < 2:
            raise UserError(f"--labels {path}: row {number} is not file,label")
        name = os.path.basename(row[0].strip())
        if name not in by_name:
            raise UserError(f"--labels {path}: row {number} names {name}, which is not among the input images")
        if class_names is not None:
            expected[by_name[name]] = int(parse_labels([row[1]], class_names, f"--labels {path} row {number}")[0])
    return expected


def write_csv(path: str, result: Predictions) -> None:
    """file, label, probability, then one probability column per class; written whole or not at all."""
    import io as text_io

    from keras_ae import io

    buffer = text_io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["file", "label", "probability", *result.class_names])
    for row, p in zip(result.rows, result.probabilities, strict=True):
        writer.writerow([row["file"], row["label"], f"{row['probability']:.6f}", *(f"{v:.6f}" for v in p)])
    io.write_file(path, buffer.getvalue())


# -- a run on the user's folders: predictions.csv (with the sure ones marked) and to_label.csv ------------------
SURE_PRECISION = 0.99
FALLBACK_THRESHOLD = 0.999  # when the held-out labels are too few to choose: conservative for a softmax net


def sure_threshold(probabilities, true, precision: float = SURE_PRECISION, fallback: float = FALLBACK_THRESHOLD):
    """The probability from which a prediction is marked sure, chosen on held-out labels, and how.

    The rule: take the held-out predictions (images whose label the model did not train on), most probable
    first, and the threshold is the lowest probability t such that the predictions at t or above, *counted
    with one error more than they made*, are still `precision` right: (errors + 1) / (count + 1) <= 1 -
    precision. The extra error is the caution a small sample needs: at 99%, t qualifies only with at least 99
    held-out predictions at or above it and no error among them, or 199 with one, and so on.

    Returns `{"threshold": t, "rule": ..., "held_out": n, "held_out_accuracy_above": ...}`, the rule being
    `"validation"` (chosen as above), `"fixed"` (fewer than the `precision` needs, 99 at 99%: the held-out labels
    are too few to choose, and `fallback` is used) or `"none"` (enough held-out labels, but no threshold makes
    the predictions above it `precision` right: nothing is marked sure; threshold None).
    """
    probabilities = np.asarray(probabilities, np.float64).reshape(-1, np.shape(probabilities)[-1])
    true = np.asarray(true).reshape(-1)
    needed = int(np.ceil(1 / (1 - precision) - 1 - 1e-9))  # count + 1 >= 1 / (1 - precision) with no error
    found = {"held_out": int(len(true)), "precision": precision}
    if len(true) < needed:
        return {**found, "threshold": fallback, "rule": "fixed"}
    confidence = probabilities.max(axis=1)
    order = np.argsort(-confidence, kind="stable")
    errors = np.cumsum(probabilities.argmax(axis=1)[order] != true[order])
    count = np.arange(1, len(order) + 1)
    # only cut between different probabilities: everything at the threshold is sure, so it must count
    last_of_value = np.r_[confidence[order][1:] != confidence[order][:-1], True]
    ok = ((errors + 1) / (count + 1) <= 1 - precision + 1e-12) & last_of_value
    if not ok.any():
        return {**found, "threshold": None, "rule": "none"}
    cut = int(np.flatnonzero(ok)[-1])
    return {
        **found,
        "threshold": float(confidence[order][cut]),
        "rule": "validation",
        "held_out_sure": int(cut + 1),
        "held_out_sure_accuracy": float(1 - errors[cut] / (cut + 1)),
    }


def is_sure(probabilities, threshold) -> np.ndarray:
    """Which predictions are sure: their probability is at least `threshold` (none when it is None)."""
    confidence = np.asarray(probabilities).max(axis=1)
    return np.zeros(len(confidence), bool) if threshold is None else confidence >= threshold


def margins(probabilities) -> np.ndarray:
    """The top probability minus the second: near 0, the model hesitates between two classes."""
    top2 = np.sort(np.asarray(probabilities), axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


def choose_to_label(probabilities, codes, candidates, count: int, seed: int = 0, pool_factor: int = 5):
    """The `count` candidates whose labels should help most: the least sure, spread over the code space.

    The `pool_factor * count` candidates with the smallest margins (`margins`) are grouped into `count`
    clusters by k-means on their autoencoder codes (scaled to unit length, as label spreading sees them), and
    each cluster gives its least sure member: files the model hesitates on, but no two from the same corner of
    code space (ten near-copies of one confusing 4-or-9 teach little more than one of them). Returns indices
    (into `probabilities`), least sure first; all the candidates when there are no more than `count`.
    """
    candidates = np.asarray(candidates, np.int64)
    margin = margins(probabilities)
    ranked = candidates[np.argsort(margin[candidates], kind="stable")]
    if len(ranked) <= count or count < 1:
        return ranked[: max(count, 0)]
    uncertain = ranked[: max(count, pool_factor * count)]
    import warnings

    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning

    points = np.asarray(codes, np.float64)[uncertain].reshape(len(uncertain), -1)
    points = points / np.maximum(np.linalg.norm(points, axis=1, keepdims=True), 1e-12)
    with warnings.catch_warnings():  # fewer distinct codes than clusters: filled up below
        warnings.simplefilter("ignore", ConvergenceWarning)
        clusters = KMeans(n_clusters=count, n_init=1, random_state=seed).fit_predict(points)
    chosen = [uncertain[np.flatnonzero(clusters == k)[0]] for k in np.unique(clusters)]  # uncertain is sorted
    if len(chosen) < count:  # identical codes can leave clusters empty: fill up with the next least sure
        taken = set(chosen)
        chosen += [i for i in uncertain if i not in taken][: count - len(chosen)]
    return np.array(sorted(chosen, key=lambda i: margin[i]), np.int64)


def _csv_text(header, rows) -> str:
    import io as text_io

    buffer = text_io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def write_predictions(path: str, files, class_names, probabilities, sure) -> None:
    """`predictions.csv`: file, label, probability, sure (1 or 0), one row per file; written whole or not."""
    from keras_ae import io

    best = np.asarray(probabilities).argmax(axis=1)
    rows = [
        (f, class_names[b], f"{p[b]:.6f}", int(s)) for f, b, p, s in zip(files, best, probabilities, sure, strict=True)
    ]
    io.write_file(path, _csv_text(["file", "label", "probability", "sure"], rows))


def write_to_label(path: str, files, class_names, probabilities) -> None:
    """`to_label.csv`: file, predicted, probability: the files to label next, the most useful first."""
    from keras_ae import io

    best = np.asarray(probabilities).argmax(axis=1) if len(files) else []
    rows = [(f, class_names[b], f"{p[b]:.6f}") for f, b, p in zip(files, best, probabilities, strict=True)]
    io.write_file(path, _csv_text(["file", "predicted", "probability"], rows))


def write_folder_outputs(user, model, pool_codes, held, to_label: int, work, seed, echo) -> dict:
    """predictions.csv and to_label.csv of a run on the user's folders (the classify recipe's docstring), and
    what metrics.json says of them.
    `held`: per seed, the deployed method's probabilities on its held-out labels, and those labels."""
    names, count = user.class_names, user.unlabeled
    from keras_ae.classify import classifier as classifiers

    probabilities = classifiers.predict(model, user.images)
    sure = sure_threshold(
        np.concatenate([p for p, _ in held]).reshape(-1, len(names)), np.concatenate([t for _, t in held])
    )
    shown = probabilities[:count].copy()
    given = np.flatnonzero(user.labels[:count] != labels.UNLABELED)
    shown[given] = np.eye(len(names))[user.labels[given]]  # a file you labelled keeps your label
    marks = is_sure(shown, sure["threshold"])
    files = [os.path.basename(f) for f in user.files[:count]]
    write_predictions(os.path.join(work, "predictions.csv"), files, names, shown, marks)
    open_ = np.flatnonzero(user.labels[:count] == labels.UNLABELED)
    chosen = choose_to_label(probabilities, pool_codes, open_, to_label, seed=seed)
    write_to_label(os.path.join(work, "to_label.csv"), [files[i] for i in chosen], names, probabilities[chosen])
    rule = {
        "validation": f"chosen on {sure['held_out']} held-out predictions",
        "fixed": f"fixed: {sure['held_out']} held-out predictions are too few to choose one",
        "none": f"none: no threshold made {sure['held_out']} held-out predictions 99% right",
    }[sure["rule"]]
    threshold = "-" if sure["threshold"] is None else f"{sure['threshold']:.4f}"
    echo(
        f"predictions.csv: {count} files, {int(marks[open_].sum())} of the {len(open_)} unlabeled sure "
        f"(probability >= {threshold}, {rule}); to_label.csv: {len(chosen)} files"
    )
    found = {"sure": sure, "predictions": {"files": count, "labelled": len(given), "sure": int(marks[open_].sum())}}
    if user.truth is not None:
        truth = user.truth[:count]
        scored = open_[truth[open_] != labels.UNLABELED]
        right = probabilities[scored].argmax(axis=1) == truth[scored]
        sure_right = right[marks[scored]]
        found["truth"] = {
            "files": len(scored),
            "accuracy": float(right.mean()) if len(scored) else None,
            "sure_files": len(sure_right),
            "sure_accuracy": float(sure_right.mean()) if len(sure_right) else None,
        }
        if len(scored):
            echo(
                f"against --truth: {100 * right.mean():.1f}% of {len(scored)} files right; "
                + (f"{100 * sure_right.mean():.1f}% of the {len(sure_right)} sure" if len(sure_right) else "none sure")
            )
    return found
