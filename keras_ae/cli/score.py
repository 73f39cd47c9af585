"""`keras-ae score`: anomaly scores for new data, flagged with the threshold saved by `recipe anomaly`."""

from __future__ import annotations

import os

import click

from keras_ae.cli import cli
from keras_ae.cli.options import output_file_options


@cli.command()
@click.option("--model", "model_path", required=True, help="A run folder of `recipe anomaly` (or its model.keras).")
@click.argument("data")
@output_file_options("CSV to write: index, score, is_anomaly.")
@click.option("--label-column", default=None, help="A CSV column to leave out of the features.")
@click.option("--threshold", type=float, default=None, help="Override the saved threshold.")
def score(model_path, data, out, overwrite, label_column, threshold):
    """Score DATA (a data spec, or a .npy/.npz/.csv file) by reconstruction error."""
    import numpy as np

    from keras_ae import anomaly, io, runs
    from keras_ae.data import read_examples
    from keras_ae.errors import UserError
    from keras_ae.models import load

    io.check_output_file(out, [data], overwrite)
    folder = model_path if os.path.isdir(model_path) else os.path.dirname(model_path) or "."
    saved = runs.read_json(os.path.join(folder, anomaly.THRESHOLD_FILE))
    if threshold is None:
        if saved is None:
            raise UserError(f"--model {model_path}: no {anomaly.THRESHOLD_FILE} beside it; pass --threshold")
        threshold = float(saved["threshold"])
    ae = load(model_path)
    x = read_examples(data, ae.input_shape, label_column, pixel_max=(saved or {}).get("pixel_max"))
    scores = anomaly.reconstruction_errors(x, ae.reconstruct(x), scale=anomaly.model_scale(ae))
    flagged = scores > threshold
    rows = (f"{i},{s:.8g},{int(a)}\n" for i, (s, a) in enumerate(zip(scores, flagged, strict=True)))
    io.write_file(out, "index,score,is_anomaly\n" + "".join(rows))
    click.echo(f"{int(np.count_nonzero(flagged))} of {len(scores)} flagged (threshold {threshold:.6g}); wrote {out}")
