"""`keras-ae classify`: label image files with a trained classifier (`keras-ae recipe classify` trains one)."""

from __future__ import annotations

import click

from keras_ae.cli import cli
from keras_ae.cli.options import output_file_options


@cli.command()
@click.option("--model", "model_path", required=True, help="runs/classify, its classifier.keras, or exported/classify.")
@click.argument("inputs", nargs=-1, required=True)
@output_file_options("Also write a CSV: file, label, probability, one column per class.", required=False)
@click.option("--labels", "truth", default=None, help="A CSV of file,label (name or index) to score the predictions.")
def classify(model_path, inputs, out, overwrite, truth):
    """Print the predicted label of each image file (or folder of images), with its probability."""
    from keras_ae import io
    from keras_ae.classify import predictions

    if out:
        io.check_output_file(out, [*inputs, *([truth] if truth else [])], overwrite)

    result = predictions.classify_files(model_path, inputs, truth)
    for row in result.rows:
        click.echo(f"{row['file']}\t{row['label']}\t{row['probability']:.3f}")
    if result.accuracy is not None:
        click.echo(f"accuracy: {100 * result.accuracy:.1f}% on {len(result.rows)} images", err=True)
    if out:
        predictions.write_csv(out, result)
        click.echo(f"wrote {out}", err=True)
