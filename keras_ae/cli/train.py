"""`keras-ae train`: the train recipe with flags."""

from __future__ import annotations

import click

from keras_ae.cli import cli
from keras_ae.cli.options import dataset_options, distribution_options, int_list


@cli.command()
@dataset_options
@distribution_options
@click.option("--arch", type=click.Choice(["conv", "dense", "conv1d"]), default="conv", show_default=True)
@click.option("--bottleneck", default=16, show_default=True, help="Width of the code e(x).")
@click.option("--filters", default=None, metavar="32,64", help="Conv channels per stage (conv).")
@click.option("--hidden", default=None, metavar="512,256", help="Hidden layer widths (dense).")
@click.option("--activation", default="relu", show_default=True)
@click.option("--batch-norm/--no-batch-norm", default=False, show_default=True)
@click.option("--dropout", default=0.0, show_default=True)
@click.option("--sparsity", default=0.0, show_default=True, help="L1 penalty on the code (a sparse AE).")
@click.option("--upsampling", type=click.Choice(["resize", "transpose"]), default="resize", show_default=True)
@click.option("--loss", type=click.Choice(["mse", "bce"]), default="mse", show_default=True)
@click.option("--epochs", default=20, show_default=True)
@click.option("--batch-size", default=64, show_default=True)
@click.option("--learning-rate", default=1e-3, show_default=True)
@click.option("--out", default="runs/train", show_default=True, help="Run folder to write.")
@click.option("--tensorboard", default=None, metavar="DIR", help="Also log training for TensorBoard.")
@click.option("--label-column", default=None, help="A CSV column that is a label, not a feature.")
def train(
    dataset,
    seed,
    resize,
    data_dir,
    arch,
    bottleneck,
    filters,
    hidden,
    activation,
    batch_norm,
    dropout,
    sparsity,
    upsampling,
    loss,
    epochs,
    batch_size,
    learning_rate,
    out,
    tensorboard,
    label_column,
):
    """Train an autoencoder; writes model.keras, metrics, curves and reconstructions to --out."""
    from keras_ae.data import parse_size
    from keras_ae.errors import UserError
    from keras_ae.recipes import train as recipe

    if not 0 <= dropout < 1:
        raise UserError(f"--dropout must be in [0, 1), got {dropout}")
    if sparsity < 0:
        raise UserError(f"--sparsity must be >= 0, got {sparsity}")
    if batch_size < 1:
        raise UserError(f"--batch-size must be at least 1, got {batch_size}")
    options = dict(
        activation=activation,
        batch_norm=batch_norm,
        dropout=dropout,
        sparsity=sparsity,
        upsampling=upsampling,
        filters=int_list(filters, "--filters"),
        hidden=int_list(hidden, "--hidden"),
    )
    recipe.run(
        dataset=dataset,
        arch=arch,
        bottleneck=bottleneck,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        loss=loss,
        out=out,
        seed=seed,
        model_options=options,
        resize=parse_size(resize),
        data_dir=data_dir,
        tensorboard=tensorboard,
        label_column=label_column,
        echo=click.echo,
    )
