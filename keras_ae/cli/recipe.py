"""`keras-ae recipe NAME`: run a recipe from `recipes/` with its flags; `--list` names them all.

A recipe that defines a `Config` dataclass (see `keras_ae.config`) gets its command here without a line of CLI
code: `RecipeCommand` makes the options from the fields when they are first needed (a run, or `--help`), so
listing the recipes neither imports them nor starts TensorFlow. `keras-ae train` and `keras-ae embed` are the
`train` and `embed` recipes' commands under a second name.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import pkgutil

import click

from keras_ae.cli import cli


def _recipe_sources() -> dict[str, ast.Module]:
    import keras_ae.recipes as package

    sources = {}
    for module in pkgutil.iter_modules(package.__path__):
        with open(importlib.util.find_spec(f"keras_ae.recipes.{module.name}").origin) as f:
            sources[module.name] = ast.parse(f.read())
    return sources


def recipe_summaries() -> dict[str, str]:
    """Each recipe's name and the first line of its docstring, read without importing (or starting TensorFlow)."""
    return {name: (ast.get_docstring(tree) or "\n").splitlines()[0] for name, tree in _recipe_sources().items()}


def configured_recipes() -> list[str]:
    """The recipes whose module defines a `Config` class (read from the source)."""
    return [
        name
        for name, tree in _recipe_sources().items()
        if any(isinstance(node, ast.ClassDef) and node.name == "Config" for node in tree.body)
    ]


class RecipeCommand(click.Command):
    """A recipe's command: options from its `Config` (on first use), then `run(config, echo=click.echo)`.

    Options added before any command runs (at registration, e.g. `--overwrite`) are kept aside and join the
    Config's when they load, so registering commands imports no recipe (nor TensorFlow)."""

    def __init__(self, name: str, summary: str):
        self._options, self._early = None, []
        super().__init__(name, callback=self._run, help=summary, short_help=summary)

    @property
    def params(self):
        if self._options is None:
            if click.get_current_context(silent=True) is None:
                return self._early
            from keras_ae import cli as package
            from keras_ae.cli import quiet_tensorflow
            from keras_ae.cli.options import config_options, distribution_options

            quiet_tensorflow()
            self._options = config_options(self.module().Config)
            distribution_options(self)
            if any(p.name == "overwrite" for p in self._early) and hasattr(package, "add_overwrite_option"):
                package.add_overwrite_option(self)  # with the words it adds to --out's help
            names = {p.name for p in self._options}
            self._options += [p for p in self._early if p.name not in names]
        return self._options

    @params.setter
    def params(self, value):  # click.Command.__init__ sets it; the options come from the Config
        pass

    def module(self):
        return importlib.import_module(f"keras_ae.recipes.{self.name}")

    def _run(self, **values):
        from keras_ae.cli.options import config_values

        module = self.module()
        return module.run(module.Config(**config_values(values)), echo=click.echo)


class RecipeGroup(click.Group):
    """Every recipe takes `--strategy`, `--jit-compile` and `--mixed-precision`: they are added here, when the
    recipe's command is looked up, so a new recipe module gets them without declaring them."""

    def get_command(self, ctx, name):
        from keras_ae.cli.options import distribution_options

        command = super().get_command(ctx, name)
        if command is None or isinstance(command, RecipeCommand):
            return command
        return distribution_options(command)


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


def _register_recipe_commands():
    summaries = recipe_summaries()
    for name in configured_recipes():
        command = RecipeCommand(name, summaries[name])
        recipe.add_command(command, name)
        if name in ("train", "embed"):  # `keras-ae train` / `keras-ae embed`: the README's commands
            cli.add_command(command, name)


_register_recipe_commands()
