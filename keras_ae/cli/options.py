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


def distribution_options(f):
    """`--strategy`, `--jit-compile`, `--mixed-precision` for a command (function or `click.Command`).

    They act on the whole process as soon as they are read, before the command runs (see
    `keras_ae.distribute`), so the command and the recipe it calls build their models under them without
    passing them on; they are undone when the command ends.
    """
    if isinstance(f, click.Command) and any(p.name == "strategy" for p in f.params):
        return f
    f = click.option(
        "--mixed-precision",
        is_flag=True,
        expose_value=False,
        callback=_apply_mixed_precision,
        help="float16 maths with float32 weights on GPUs (bfloat16 elsewhere).",
    )(f)
    f = click.option(
        "--jit-compile/--no-jit-compile",
        default=None,
        expose_value=False,
        callback=_apply_jit_compile,
        help="Compile training steps with XLA [default: on GPUs only].",
    )(f)
    f = click.option(
        "--strategy",
        default="default",
        show_default=True,
        metavar="default|mirrored|multiworker|tpu",
        expose_value=False,
        callback=_apply_strategy,
        help="tf.distribute strategy: all local GPUs (mirrored), the machines in TF_CONFIG (multiworker).",
    )(f)
    return f


def _apply_strategy(ctx, param, value):
    from keras_ae import distribute

    distribute.check_name(value)
    if value != "default":
        distribute.use(value)
        ctx.call_on_close(distribute.reset)
    return value


def _apply_jit_compile(ctx, param, value):
    if value is not None:
        from keras_ae import training

        training.use_jit_compile(value)
        ctx.call_on_close(lambda: training.use_jit_compile("auto"))
    return value


def _apply_mixed_precision(ctx, param, value):
    if value:
        from keras_ae import distribute

        distribute.use_mixed_precision(True)
        ctx.call_on_close(lambda: distribute.use_mixed_precision(False))
    return value
