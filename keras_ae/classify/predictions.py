"""Label user image files with a trained classifier, and score the labels against a CSV of true ones."""

from __future__ import annotations

import csv
import math
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
SURE_CONFIDENCE = 0.8  # how sure the held-out labels must be that the sure predictions reach SURE_PRECISION
FALLBACK_THRESHOLD = 0.999  # when the held-out labels cannot vouch for a threshold: conservative for a softmax net


def error_bound(errors, count, confidence: float = SURE_CONFIDENCE):
    """The most the error rate can be, at `confidence`, having seen `errors` in `count` (Clopper-Pearson)."""
    from scipy.stats import beta

    errors, count = np.asarray(errors, np.float64), np.asarray(count, np.float64)
    bound = beta.ppf(confidence, errors + 1, np.maximum(count - errors, 1e-12))
    return np.where(errors >= count, 1.0, bound)


def held_out_to_vouch(precision: float = SURE_PRECISION, confidence: float = SURE_CONFIDENCE) -> int:
    """How many held-out images, none wrong, vouch for `precision` at `confidence` (161 at 99% and 80%): what
    a user must label to let the held-out labels choose the threshold."""
    return math.ceil(math.log(1 - confidence) / math.log(precision))


def sure_threshold(
    probabilities,
    true,
    precision: float = SURE_PRECISION,
    confidence: float = SURE_CONFIDENCE,
    fallback: float = FALLBACK_THRESHOLD,
):
    """The probability from which a prediction is marked sure, chosen on held-out labels, and how.

    The rule: take the held-out predictions (images whose label the model did not train on), most probable
    first; the threshold is the lowest probability t such that the predictions at t or above are `precision`
    right not just as counted but with `confidence`: the Clopper-Pearson bound on their error rate
    (`error_bound`) is at most 1 - `precision`. A count alone is optimistic: 137 right in a row happens one
    time in eight when 1.5% are wrong. At 99% and 80% that takes 161 held-out predictions without an error, 299
    with one, and so on.

    Returns `{"threshold": t, "rule": ..., "held_out": n, ...}`, the rule being `"validation"` (chosen as
    above), `"fixed"` (no threshold can be vouched for, too few held-out labels or too many errors among them,
    and the held-out predictions at `fallback` or above do not contradict it: `fallback` is used, and
    `"held_out_needed"` says how many right ones would vouch) or `"none"`
    (they do: fewer than `precision` of them are right; nothing is marked sure, threshold None).
    """
    probabilities = np.asarray(probabilities, np.float64).reshape(-1, np.shape(probabilities)[-1])
    true = np.asarray(true).reshape(-1)
    found = {"held_out": int(len(true)), "precision": precision, "confidence": confidence}
    confidence_of = probabilities.max(axis=1)
    order = np.argsort(-confidence_of, kind="stable")
    errors = np.cumsum(probabilities.argmax(axis=1)[order] != true[order])
    count = np.arange(1, len(order) + 1)
    # only cut between different probabilities: everything at the threshold is sure, so it must count (the
    # slice keeps it empty when nothing is held out)
    last_of_value = np.r_[confidence_of[order][1:] != confidence_of[order][:-1], True][: len(order)]
    ok = (error_bound(errors, count, confidence) <= 1 - precision + 1e-12) & last_of_value
    if ok.any():
        cut = int(np.flatnonzero(ok)[-1])
        return {
            **found,
            "threshold": float(confidence_of[order][cut]),
            "rule": "validation",
            "held_out_sure": int(cut + 1),
            "held_out_sure_accuracy": float(1 - errors[cut] / (cut + 1)),
        }
    above = confidence_of >= fallback
    wrong = int((probabilities.argmax(axis=1) != true)[above].sum())
    if above.any() and wrong / above.sum() > 1 - precision:
        return {**found, "threshold": None, "rule": "none", "held_out_sure": int(above.sum()), "errors": wrong}
    return {
        **found,
        "threshold": fallback,
        "rule": "fixed",
        "held_out_needed": held_out_to_vouch(precision, confidence),
    }


def one_per_image(held):
    """The held-out predictions, one per image: the seeds' splits draw from the same few labels, so an image is
    often held out by several, and counting its predictions as independent evidence vouches for thresholds
    the files do not bear out (4 splits of 50 from 100 labels: 200 predictions of about 92 images, all
    right, chose 0.48, and the files above it were 98.4% right). Kept conservatively: an image wrong in any
    split counts as its surest wrong prediction, else as its least sure right one.

    `held`: per split, (probabilities on its held-out images, their labels, their indices).
    Returns the probabilities and labels of the distinct images, for `sure_threshold`."""
    probabilities = np.concatenate([np.reshape(p, (len(t), -1)) for p, t, _ in held])
    true = np.concatenate([t for _, t, _ in held]).astype(int)
    image = np.concatenate([i for _, _, i in held])
    confidence = probabilities.max(axis=1)
    wrong = probabilities.argmax(axis=1) != true
    # per image, the first after sorting by image, then wrong before right, then wrong ones surest first and
    # right ones least sure first
    order = np.lexsort((np.where(wrong, -confidence, confidence), ~wrong, image))
    first = order[np.r_[True, image[order][1:] != image[order][:-1]]] if len(order) else order
    return probabilities[first], true[first]


def transfer_threshold(threshold, split_confidences, deployed_confidence):
    """The sure threshold for the network that labels the files, from the one the held-out labels chose.

    The held-out labels judge the networks each seed trained on part of the labels; the deployed network
    trained again on all of them and is more confident, so the same probability marks more files sure, and
    wrongly (98.8% right instead of 99% in the folder bench). What carries over is how many files: the
    deployed network marks sure the same share of the files as the split networks did at `threshold` (its
    most probable ones), and never below `threshold`. `split_confidences`: per seed, the split network's
    top probability on every file to label; `deployed_confidence`: the deployed network's on the same files.
    """
    if threshold is None or not len(deployed_confidence):
        return threshold, None
    share = float(np.mean([np.mean(np.asarray(c) >= threshold) for c in split_confidences]))
    keep = int(round(share * len(deployed_confidence)))
    if keep == 0:
        return max(threshold, float(np.max(deployed_confidence)) + 1e-6), share
    return max(threshold, float(np.sort(deployed_confidence)[::-1][keep - 1])), share


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
    `held`: per seed, the deployed method's split network's probabilities on its held-out labels, those labels,
    their indices in `user.images` (each image counts once, `one_per_image`) and the network's top
    probability on every image of `user` (`transfer_threshold` carries the threshold over)."""
    names, count = user.class_names, user.unlabeled
    from keras_ae.classify import classifier as classifiers

    probabilities = classifiers.predict(model, user.images)
    sure = sure_threshold(*one_per_image([(p, t, i) for p, t, i, _ in held]))
    open_ = np.flatnonzero(user.labels[:count] == labels.UNLABELED)
    threshold, share = transfer_threshold(
        sure["threshold"], [c[open_] for _, _, _, c in held], probabilities[open_].max(axis=1)
    )
    sure.update(split_threshold=sure["threshold"], threshold=threshold, split_share=share)
    shown = probabilities[:count].copy()
    given = np.flatnonzero(user.labels[:count] != labels.UNLABELED)
    shown[given] = np.eye(len(names))[user.labels[given]]  # a file you labelled keeps your label
    marks = is_sure(shown, sure["threshold"])
    files = [os.path.basename(f) for f in user.files[:count]]
    write_predictions(os.path.join(work, "predictions.csv"), files, names, shown, marks)
    chosen = choose_to_label(probabilities, pool_codes, open_, to_label, seed=seed)
    write_to_label(os.path.join(work, "to_label.csv"), [files[i] for i in chosen], names, probabilities[chosen])
    rule = {
        "validation": f"chosen on {sure['held_out']} held-out images, the same share of files",
        "fixed": f"fixed: {sure['held_out']} held-out images cannot vouch for a lower one, "
        f"{sure.get('held_out_needed')} all right would: label more files",
        "none": f"none: not even {FALLBACK_THRESHOLD} made {sure['held_out']} held-out images 99% right",
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
