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


@cli.group(invoke_without_command=True)
@click.option("--list", "show_list", is_flag=True, help="List the recipes, one line each.")
@click.pass_context
def recipe(ctx, show_list):
    """Run a recipe: one use of an autoencoder, told as a short script (see recipes/)."""
    if show_list or ctx.invoked_subcommand is None:
        for name, summary in recipe_summaries().items():
            click.echo(f"{name:10s} {summary}")


def _register_recipe_commands():
    summaries = recipe_summaries()
    for name in configured_recipes():
        command = RecipeCommand(name, summaries[name])
        recipe.add_command(command, name)
        if name in ("train", "embed"):  # `keras-ae train` / `keras-ae embed`: the README's commands
            cli.add_command(command, name)


_register_recipe_commands()
