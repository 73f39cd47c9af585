"""A recipe's settings: one typed dataclass, from which `keras-ae recipe NAME` makes its options.

Every default is written once, in the recipe's `Config`; the CLI, `config.json` and Python callers read it
from there. The pattern, as in recipes/anomaly.py:

    @dataclass(kw_only=True)
    class Config(TrainingSettings):               # a recipe that trains: it takes --jit-compile
        dataset: str = setting("mnist-5k", "A labelled data spec (or `signals`).")
        arch: str = setting("auto", "The builder.", choices=("auto", "conv", "dense", "conv1d"))
        filters: tuple[int, ...] | None = setting(None, "Channels per conv stage.", metavar="32,64")
        epochs: int = setting(30)
        export_dir: str | None = setting("exported/anomaly", "Where the export goes.", off="--no-export")


    def run(config: Config | None = None, *, echo=print, verbose="auto", **settings) -> dict:
        c = configure(Config, config, settings)  # Config(**settings), or a given one with some settings changed
        ...                                       # the story reads c.epochs, c.dataset, ...
        training.fit(..., epochs=c.epochs, jit_compile=c.jit_compile)
        work = runs.resume_or_start(c.out, as_dict(c), echo)  # config.json

`keras_ae/cli/recipe.py` finds every recipe module that defines `Config` (by reading its source, without
importing it) and makes `keras-ae recipe NAME` from it: one option per field, `--field-name`, its type from the
annotation (int, float, str, bool as `--x/--no-x`, `tuple[int, ...]` as comma-separated integers, `X | None`
for an optional value), its default and help from `setting`; `choices` makes a choice, `off="--no-x"` adds a
flag that sets the field to None, `minimum` bounds the integers of a tuple, `cli=False` keeps a field out of the
CLI (a Python-only value, e.g. an `ImageData` in place of a data spec). `DataSettings` (dataset, seed, resize,
data_dir) and `TrainingSettings` (jit_compile) are shared fields to inherit. A field without a default is a
required option. Checks that say what a flag must be belong in the recipe (raise `UserError`, naming the flag),
so Python callers get them too. The command's help is the first line of the recipe's docstring.
"""

from __future__ import annotations

import dataclasses

from keras_ae.defaults import DEFAULT_DATASET

UNSET = dataclasses.MISSING


def setting(default=UNSET, help: str = "", **cli):  # noqa: A002 - click's name for it
    """A field of a recipe's `Config`: its default, its help text and how the CLI shows it.

    Args:
        default: the value when neither the CLI nor the caller gives one (omit it for a required setting).
        help: one line for `--help`.
        **cli: `choices`, `metavar`, `off` (a flag that sets the field to None), `minimum` (for integer tuples),
            `cli=False` (not a CLI option).
    """
    return dataclasses.field(default=default, metadata={"help": help, **cli})


@dataclasses.dataclass(kw_only=True)
class DataSettings:
    """The data settings of the recipes that take any data spec (`train`, `embed`): inherit them."""

    dataset: str = setting(
        DEFAULT_DATASET,
        "mnist-5k, digits, a folder of images, a .npz/.npy file, an *-idx3-ubyte[.gz] file, or tfds:NAME[:SPLIT].",
    )
    seed: int = setting(0, "Seed for the split, initialisation, shuffling.")
    resize: str | None = setting(None, "Resize images of a folder to HxW.", metavar="HxW")
    data_dir: str | None = setting(None, "TFDS data folder (for tfds:NAME when prepared offline).")


@dataclasses.dataclass(kw_only=True)
class TrainingSettings:
    """What every recipe that trains takes: pass `jit_compile=c.jit_compile` to each `training.fit`."""

    jit_compile: bool | None = setting(None, "Compile training steps with XLA [default: on GPUs only].")


def load_data(settings: DataSettings, **options):
    """`keras_ae.data.load` with these settings (`options`: its other arguments, e.g. `kind`)."""
    from keras_ae import data

    resize = data.parse_size(settings.resize)
    return data.load(settings.dataset, seed=settings.seed, resize=resize, data_dir=settings.data_dir, **options)


def configure(cls, config=None, settings: dict | None = None):
    """`config` (or `cls()`) with `settings` replacing some of its fields; an unknown name is a TypeError.

    An `export_dir` that the export at the end would refuse (a folder that is not an earlier export) is
    refused here, before any training."""
    settings = settings or {}
    config = dataclasses.replace(config, **settings) if config is not None else cls(**settings)
    if getattr(config, "export_dir", None):
        from keras_ae import export

        export.check_target(config.export_dir, flag="--export-dir")
    return config


def as_dict(config) -> dict:
    """The settings as `config.json` holds them: a data set given as an object is written by its name."""
    return {f.name: _plain(getattr(config, f.name)) for f in dataclasses.fields(config)}


def _plain(value):
    if isinstance(value, str | int | float | bool | type(None)):
        return value
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return getattr(value, "name", str(value))
