"""Flags shared by several commands, defined once."""

from __future__ import annotations

import click

from keras_ae.defaults import DEFAULT_DATASET


def dataset_options(f):
    f = click.option("--data-dir", default=None, help="TFDS data folder (for tfds:NAME when prepared offline).")(f)
    f = click.option("--resize", default=None, metavar="HxW", help="Resize images of a folder to HxW.")(f)
    f = click.option("--seed", default=0, show_default=True, help="Seed for the split, initialisation, shuffling.")(f)
    f = click.option(
        "--dataset",
        default=DEFAULT_DATASET,
        show_default=True,
        help="mnist-5k, digits, a folder of images, a .npz/.npy file, an *-idx3-ubyte[.gz] file, or tfds:NAME[:SPLIT].",
    )(f)
    return f


def int_list(text: str | None, flag: str):
    from keras_ae.errors import UserError

    if not text:
        return None
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise UserError(f"{flag} must be comma-separated integers, got '{text}'") from None
    if not values or any(v < 1 for v in values):
        raise UserError(f"{flag} must be positive integers, got '{text}'")
    return values
