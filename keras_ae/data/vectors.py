"""Vectors (tables of numbers) and in-order reading of examples to score.

Vectors are not rescaled here: their mean and standard deviation come from the training split and go into
the model (`keras_ae.models.layers.Standardize`), so a saved model takes raw rows and returns raw rows.
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


def check_vectors(values: np.ndarray, source: str) -> np.ndarray:
    if not np.issubdtype(values.dtype, np.number) and values.dtype != bool:
        raise UserError(f"{source}: values must be numeric, got dtype {values.dtype}")
    values = values.astype(np.float32)
    if not np.all(np.isfinite(values)):
        bad = int(np.count_nonzero(~np.isfinite(values)))
        raise UserError(f"{source}: {bad} values are NaN or infinite")
    return values


def read_examples(spec: str, input_shape, label_column: str | None = None, pixel_max=None) -> np.ndarray:
    """Every example a file or data spec holds, in file order, shaped for a model with `input_shape`.

    Images are brought to [0, 1] as for training: files already in [0, 1] are kept, others are divided by
    the training data's `pixel_max` (16 for `digits`, 255 for 8-bit images) when it is known. Vectors and
    signals stay raw (the model standardises). A data spec that is not a file yields its train split, then
    its validation split.
    """
    import os

    input_shape = tuple(int(s) for s in input_shape)
    lower = str(spec).lower()
    if os.path.isfile(spec) and lower.endswith(".csv"):
        x, _, _ = read_csv(spec, label_column)
    elif os.path.isfile(spec) and lower.endswith((".npy", ".npz")):
        try:
            loaded = np.load(spec, allow_pickle=False)
        except Exception as error:  # noqa: BLE001 - a corrupt or foreign file
            raise UserError(f"cannot read {spec} as a numpy file: {error}") from None
        if not isinstance(loaded, np.ndarray):
            with loaded:
                key = next((k for k in ("images", "x", "x_train", "X") if k in loaded), None)
                if key is None:
                    raise UserError(f"{spec}: no array under 'x' or 'images' (found: {', '.join(loaded)})")
                loaded = loaded[key]
        x = loaded
        if len(input_shape) == 3:
            from keras_ae.data.dataset import as_nhwc, to_unit_range

            x = as_nhwc(x, spec)
            if pixel_max is not None and x.size and float(np.max(x)) > 1.0:
                if float(np.max(x)) > float(pixel_max) or float(np.min(x)) < 0:
                    raise UserError(
                        f"{spec}: pixel values span [{float(np.min(x)):g}, {float(np.max(x)):g}], but the model "
                        f"was trained on images in [0, {float(pixel_max):g}] (or [0, 1])"
                    )
                x = to_unit_range(x, spec, max_value=pixel_max)
            else:
                x = to_unit_range(x, spec)
        else:
            x = check_vectors(x, spec)
    else:
        from keras_ae.data import load

        data = load(spec)
        x = np.concatenate([data.arrays("train")[0], data.arrays("validation")[0]])
    if len(input_shape) == 2 and x.ndim == 2 and input_shape[-1] == 1:
        x = x[..., None]  # (N, T) signals for a one-channel model
    if len(input_shape) == 2 and x.ndim == 3 and x.shape[1] < input_shape[0]:
        raise UserError(
            f"{spec}: signals of {x.shape[1]} steps are shorter than the model's window of {input_shape[0]} steps; "
            "score windows of the length it was trained on"
        )
    if tuple(x.shape[1:]) != input_shape:
        raise UserError(
            f"{spec}: examples of shape {tuple(x.shape[1:])} (width {int(np.prod(x.shape[1:]))}), "
            f"but the model takes {input_shape} (width {int(np.prod(input_shape))})"
        )
    return x
