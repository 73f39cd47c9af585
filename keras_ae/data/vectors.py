"""Vectors (tables of numbers): reading a CSV, and the per-feature statistics a model standardises with.

Vectors are not rescaled here: their mean and standard deviation come from the training split and go into
the model (a `keras.layers.Normalization`, `keras_ae.models.layers.standardizer`), so a saved model takes
raw rows and returns raw rows.
"""

from __future__ import annotations

import csv

import numpy as np

from keras_ae.errors import UserError


def read_csv(path: str, label_column: str | None = None):
    """A CSV with a header row -> `(float32 values (N, D), labels or None, column names)`.

    Non-numeric columns are named, missing values are located; nothing is guessed or dropped silently.
    """
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"cannot read {path}: {error}") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if len(rows) < 2:
        raise UserError(f"{path}: expected a header row and at least one row of numbers")
    header, body = [h.strip() for h in rows[0]], rows[1:]
    for line, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise UserError(f"{path}: line {line} has {len(row)} fields, the header has {len(header)}")
    columns = list(zip(*body, strict=True))
    labels = None
    if label_column is not None:
        if label_column not in header:
            raise UserError(f"{path}: no column '{label_column}' (columns: {', '.join(header)})")
        index = header.index(label_column)
        raw = [cell.strip() for cell in columns[index]]
        names = sorted(set(raw))
        labels = np.array([names.index(v) for v in raw], np.int32)
        header, columns = header[:index] + header[index + 1 :], columns[:index] + columns[index + 1 :]
    missing, non_numeric = [], []
    values = np.empty((len(body), len(header)), np.float32)
    for j, (name, cells) in enumerate(zip(header, columns, strict=True)):
        for i, cell in enumerate(cells):
            cell = cell.strip()
            if cell == "" or cell.lower() in ("na", "nan", "null", "none"):
                missing.append((name, i + 2))
                break
            try:
                values[i, j] = float(cell)
            except ValueError:
                non_numeric.append(name)
                break
    if non_numeric:
        hint = " (pass --label-column for a label)" if label_column is None else ""
        raise UserError(f"{path}: non-numeric columns: {', '.join(non_numeric)}{hint}")
    if missing:
        where = ", ".join(f"'{name}' (line {line})" for name, line in missing[:5])
        raise UserError(f"{path}: missing values in columns {where}; fill or drop them first")
    if not np.all(np.isfinite(values)):
        raise UserError(f"{path}: values are infinite")
    return values, labels, header


def standardization(x):
    """Per-feature mean and std of the training split; a constant feature gets std 1 (`Normalization.adapt`
    would divide it by 1e-7, so a test value off that constant becomes a huge input).

    Args:
        x: the training examples, vectors (N, D) or signals (N, T, C) (statistics per channel).

    Returns:
        `(mean, std)` as lists, what the builders' `standardize=` takes."""
    flat = x.reshape(len(x), -1) if x.ndim == 2 else x.reshape(-1, x.shape[-1])
    std = flat.std(axis=0)
    return flat.mean(axis=0).tolist(), np.where(std > 1e-6, std, 1.0).tolist()
