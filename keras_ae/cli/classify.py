"""`keras-ae classify`: label image files with a trained classifier; `keras-ae recipe classify` trains one."""

from __future__ import annotations

import click

from keras_ae.cli import cli
from keras_ae.cli.recipe import recipe


def _seed_list(text: str):
    from keras_ae.errors import UserError

    try:
        seeds = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise UserError(f"--seeds must be comma-separated integers, got '{text}'") from None
    if len(set(seeds)) != len(seeds) or any(s < 0 for s in seeds):
        raise UserError(f"--seeds must be distinct non-negative integers, got '{text}'")
    return seeds


def _count_list(text: str, flag: str):
    from keras_ae.cli.options import int_list

    return () if text.strip().lower() in ("", "none") else int_list(text, flag)


@recipe.command("classify")
@click.option("--dataset", default="mnist-5k", show_default=True, help="A labelled data spec (labels are hidden).")
@click.option("--labels-per-class", default=10, show_default=True, help="Labelled training images per class.")
@click.option("--seeds", default="0,1,2", show_default=True, help="One labelled subset per seed; mean +- std.")
@click.option("--validation-per-class", default=10, show_default=True, help="Labels kept aside to choose settings.")
@click.option("--bottleneck", default=32, show_default=True, help="Code width of the masked autoencoder.")
@click.option("--filters", default=None, metavar="32,64", help="Channels per conv stage.")
@click.option("--mask", default=0.5, show_default=True, help="Fraction of pixels the autoencoder must fill in.")
@click.option("--epochs", default=12, show_default=True, help="Autoencoder pretraining epochs.")
@click.option("--batch-size", default=64, show_default=True)
@click.option("--learning-rate", default=1e-3, show_default=True)
@click.option("--head-steps", default=400, show_default=True, help="Steps of head training on the frozen encoder.")
@click.option("--finetune/--no-finetune", default=True, show_default=True, help="Then fine-tune the whole net.")
@click.option("--finetune-steps", default=800, show_default=True, help="Steps of fine-tuning (at a third of the lr).")
@click.option("--scratch-steps", default=400, show_default=True, help="Steps of the from-scratch baseline.")
@click.option("--rounds", default=2, show_default=True, help="Self-training rounds (0: none).")
@click.option("--round-epochs", default=4, show_default=True, help="Epochs over the pseudo-labelled set per round.")
@click.option("--curve", default="1,5,10,50,100", show_default=True, help="Labels per class for the plot (none: off).")
@click.option("--out", default="runs/classify", show_default=True, help="Run folder.")
@click.option("--export-dir", default="exported/classify", show_default=True, help="Where the export goes.")
@click.option("--no-export", is_flag=True, help="Skip the export.")
def classify_recipe(dataset, seeds, filters, curve, export_dir, no_export, **settings):
    """Pretrain on unlabeled images, learn from a few labels; beside scratch, logreg and PCA baselines."""
    from keras_ae.cli.options import int_list
    from keras_ae.recipes import classify

    classify.run(
        dataset=dataset,
        seeds=_seed_list(seeds),
        filters=int_list(filters, "--filters"),
        curve=_count_list(curve, "--curve"),
        export_dir=None if no_export else export_dir,
        echo=click.echo,
        **settings,
    )


@cli.command()
@click.option("--model", "model_path", required=True, help="runs/classify, its classifier.keras, or exported/classify.")
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--out", default=None, help="Also write a CSV: file, label, probability, one column per class.")
@click.option("--labels", "truth", default=None, help="A CSV of file,label (name or index) to score the predictions.")
def classify(model_path, inputs, out, truth):
    """Print the predicted label of each image file (or folder of images), with its probability."""
    from keras_ae.classify import predictions

    result = predictions.classify_files(model_path, inputs, truth)
    for row in result.rows:
        click.echo(f"{row['file']}\t{row['label']}\t{row['probability']:.3f}")
    if result.accuracy is not None:
        click.echo(f"accuracy: {100 * result.accuracy:.1f}% on {len(result.rows)} images", err=True)
    if out:
        predictions.write_csv(out, result)
        click.echo(f"wrote {out}", err=True)
