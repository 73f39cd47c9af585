"""`keras-ae embed`: codes of a data set, a latent map and the k-NN check."""

from __future__ import annotations

import click

from keras_ae.cli import cli
from keras_ae.cli.options import dataset_options


@cli.command()
@click.option("--model", "model_path", required=True, help="A keras-ae model.keras (or its run folder).")
@dataset_options
@click.option("--out", required=True, help="Folder to write embeddings.npy, labels.npy, latent_map.png.")
@click.option("--tensorboard", default=None, metavar="DIR", help="Also write files for TensorBoard's Projector.")
def embed(model_path, dataset, seed, resize, data_dir, out, tensorboard):
    """Embed a data set with a trained encoder and measure whether similar images get nearby codes."""
    from keras_ae.data import parse_size
    from keras_ae.recipes import embed as recipe

    recipe.run(
        model=model_path,
        dataset=dataset,
        seed=seed,
        resize=parse_size(resize),
        data_dir=data_dir,
        out=out,
        tensorboard=tensorboard,
        echo=click.echo,
    )
