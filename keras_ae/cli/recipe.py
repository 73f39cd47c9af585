"""`keras-ae recipe NAME`: run a recipe from `recipes/` with its flags; `--list` names them all."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import pkgutil

import click

from keras_ae.cli import cli


def recipe_summaries() -> dict[str, str]:
    """Each recipe's name and the first line of its docstring, read without importing (or starting TensorFlow)."""
    import keras_ae.recipes as package

    summaries = {}
    for module in pkgutil.iter_modules(package.__path__):
        origin = importlib.util.find_spec(f"keras_ae.recipes.{module.name}").origin
        with open(origin) as f:
            doc = ast.get_docstring(ast.parse(f.read())) or ""
        summaries[module.name] = doc.splitlines()[0] if doc else ""
    return summaries


class RecipeGroup(click.Group):
    """Every recipe takes `--strategy`, `--jit-compile` and `--mixed-precision`: they are added here, when the
    recipe's command is looked up, so a new recipe module gets them without declaring them."""

    def get_command(self, ctx, name):
        from keras_ae.cli.options import distribution_options

        command = super().get_command(ctx, name)
        return distribution_options(command) if command is not None else None


@cli.group(cls=RecipeGroup, invoke_without_command=True)
@click.option("--list", "show_list", is_flag=True, help="List the recipes, one line each.")
@click.pass_context
def recipe(ctx, show_list):
    """Run a recipe: one use of an autoencoder, told as a short script (see recipes/)."""
    if show_list or ctx.invoked_subcommand is None:
        for name, summary in recipe_summaries().items():
            click.echo(f"{name:10s} {summary}")


@recipe.command("denoise")
@click.option("--dataset", default="mnist-5k", show_default=True, help="Any data spec `keras-ae train` takes.")
@click.option(
    "--arch",
    type=click.Choice(["unet", "conv", "dense"]),
    default="unet",
    show_default=True,
    help="unet: skip connections; conv/dense: a bottleneck autoencoder.",
)
@click.option("--bottleneck", default=32, show_default=True, help="Code width of the bottleneck autoencoders.")
@click.option("--filters", default=None, metavar="16,32,48", help="Channels per level (unet) or stage (conv).")
@click.option(
    "--noise",
    default="gaussian:0.4",
    show_default=True,
    help="gaussian:SIGMA, salt_pepper:P, mask:P, speckle:SIGMA, or mix:SPEC,SPEC,...",
)
@click.option("--epochs", default=10, show_default=True)
@click.option("--batch-size", default=16, show_default=True, help="Small batches denoise better per epoch here.")
@click.option("--learning-rate", default=1e-3, show_default=True)
@click.option(
    "--compare/--no-compare",
    default=True,
    show_default=True,
    help="Also train the comparison models and tune the classical filters.",
)
@click.option("--seed", default=0, show_default=True)
@click.option("--out", default="runs/denoise", show_default=True, help="Run folder.")
@click.option("--export-dir", default="exported/denoise", show_default=True, help="Where the export goes.")
@click.option("--no-export", is_flag=True, help="Skip the export.")
def denoise_recipe(
    dataset,
    arch,
    bottleneck,
    filters,
    noise,
    epochs,
    batch_size,
    learning_rate,
    compare,
    seed,
    out,
    export_dir,
    no_export,
):
    """Train a denoiser on noisy/clean pairs, compare it with the baselines, export it."""
    from keras_ae.cli.options import int_list
    from keras_ae.recipes import denoise

    denoise.run(
        dataset=dataset,
        arch=arch,
        bottleneck=bottleneck,
        filters=int_list(filters, "--filters"),
        noise=noise,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        compare=compare,
        seed=seed,
        out=out,
        export_dir=None if no_export else export_dir,
        echo=click.echo,
    )


@recipe.command("anomaly")
@click.option("--dataset", default="mnist-5k", show_default=True, help="A labelled data spec (or `signals`).")
@click.option("--normal-class", default="0", show_default=True, help="The class (name or index) that is normal.")
@click.option("--arch", type=click.Choice(["auto", "conv", "dense", "conv1d"]), default="auto", show_default=True)
@click.option("--bottleneck", default=8, show_default=True, help="Code width: small, so anomalies rebuild badly.")
@click.option("--epochs", default=30, show_default=True)
@click.option("--batch-size", default=16, show_default=True)
@click.option("--learning-rate", default=1e-3, show_default=True)
@click.option("--fpr", default=0.01, show_default=True, help="False-positive rate the threshold is set at.")
@click.option("--seed", default=0, show_default=True)
@click.option("--out", default="runs/anomaly", show_default=True, help="Run folder.")
@click.option("--export-dir", default="exported/anomaly", show_default=True, help="Where the export goes.")
@click.option("--no-export", is_flag=True, help="Skip the export.")
def anomaly_recipe(
    dataset, normal_class, arch, bottleneck, epochs, batch_size, learning_rate, fpr, seed, out, export_dir, no_export
):
    """Train on one class only; flag the rest by reconstruction error, beside IF, PCA and k-NN."""
    from keras_ae.recipes import anomaly

    anomaly.run(
        dataset=dataset,
        normal_class=normal_class,
        arch=arch,
        bottleneck=bottleneck,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        fpr=fpr,
        seed=seed,
        out=out,
        export_dir=None if no_export else export_dir,
        echo=click.echo,
    )


def _register_shared_commands():
    """`keras-ae recipe train` and `recipe embed` are the same commands as `keras-ae train` / `embed`."""
    from keras_ae.cli.embed import embed
    from keras_ae.cli.train import train

    recipe.add_command(train, "train")
    recipe.add_command(embed, "embed")


_register_shared_commands()
