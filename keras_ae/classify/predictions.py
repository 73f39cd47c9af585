"""Label user image files with a trained classifier, and score the labels against a CSV of true ones."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass

import numpy as np

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
