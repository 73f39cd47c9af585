"""Flags shared by several commands, defined once, and the options of a recipe made from its `Config`."""

from __future__ import annotations

import click

FILE_OUT_HELP = "An existing file is refused unless --overwrite."


def output_file_options(help: str, required: bool = True):
    """`-o/--out FILE` and `--overwrite` for a command that writes one named file; the command passes them to
    `keras_ae.io.check_output_file` before any work."""

    def decorate(f):
        f = click.option("--overwrite", is_flag=True, help="Replace an existing file of that name.")(f)
        return click.option("-o", "--out", required=required, help=f"{help} {FILE_OUT_HELP}")(f)

    return decorate


def int_list(text: str | None, flag: str, minimum: int = 1):
    """`16,32` -> (16, 32); "" -> None; `none` -> () (e.g. `--curve none`)."""
    from keras_ae.errors import UserError

    if not text:
        return None
    if text.strip().lower() == "none":
        return ()
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise UserError(f"{flag} must be comma-separated integers, got '{text}'") from None
    if any(v < minimum for v in values):
        kind = "positive" if minimum == 1 else f"at least {minimum}"
        raise UserError(f"{flag} must be {kind} integers, got '{text}'")
    return values


class IntList(click.ParamType):
    name = "ints"

    def __init__(self, minimum: int = 1):
        self.minimum = minimum

    def convert(self, value, param, ctx):
        return value if isinstance(value, tuple) else int_list(value, param.opts[0], self.minimum)


def config_options(config_class) -> list[click.Option]:
    """One click option per field of a recipe's `Config` (see `keras_ae.config` for the rules)."""
    import dataclasses
    import types
    import typing

    hints = typing.get_type_hints(config_class)
    options = []
    from keras_ae.config import TrainingSettings

    last = {f.name for f in dataclasses.fields(TrainingSettings)}  # the process flags go at the end
    for field in sorted(dataclasses.fields(config_class), key=lambda f: f.name in last):
        meta = field.metadata
        if not meta.get("cli", True):
            continue
        kind = hints[field.name]
        if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
            kind = next(k for k in typing.get_args(kind) if k is not type(None))
        flag = "--" + field.name.replace("_", "-")
        default = None if field.default is dataclasses.MISSING else field.default
        settings = {"help": meta.get("help", ""), "metavar": meta.get("metavar")}
        if field.default is dataclasses.MISSING:
            settings["required"] = True
        elif default is not None:
            settings["show_default"] = True
        if kind is bool:
            decls, settings["type"] = [f"{flag}/--no-{flag[2:]}"], bool
        elif typing.get_origin(kind) is tuple:
            decls, settings["type"] = [flag], IntList(meta.get("minimum", 1))
            settings["metavar"] = settings["metavar"] or "N,N,..."
            default = ",".join(map(str, default)) or "none" if default is not None else None
        else:
            decls = [flag]
            settings["type"] = click.Choice(meta["choices"]) if "choices" in meta else kind
        options.append(click.Option([*decls, field.name], default=default, **settings))
        if "off" in meta:
            what = field.name.removesuffix("_dir").replace("_", " ")
            options.append(click.Option([meta["off"], "off_" + field.name], is_flag=True, help=f"Skip the {what}."))
    return options


def config_values(values: dict) -> dict:
    """The parsed options as `Config` fields: an `off` flag given sets its field to None."""
    settings = {k: v for k, v in values.items() if not k.startswith("off_")}
    for name in values:
        if name.startswith("off_") and values[name]:
            settings[name[len("off_") :]] = None
    return settings


def distribution_options(f):
    """`--strategy`, `--jit-compile`, `--mixed-precision` for a command (function or `click.Command`).

    `--strategy` and `--mixed-precision` act on the whole process (TensorFlow's and Keras' own state) as soon
    as they are read, before the command runs (see `keras_ae.distribute`), so the command and the recipe it
    calls build their models under them; they are undone when the command ends. `--jit-compile` is a setting
    of the recipes that train (`keras_ae.config.TrainingSettings`), passed to `training.fit`; a command that
    trains nothing accepts it and has nothing to compile.
    """
    if isinstance(f, click.Command) and any(p.name == "strategy" for p in f.params):
        return f
    if not (isinstance(f, click.Command) and any(p.name == "jit_compile" for p in f.params)):
        f = click.option(
            "--jit-compile/--no-jit-compile",
            default=None,
            expose_value=False,
            help="Compile training steps with XLA [default: on GPUs only].",
        )(f)
    f = click.option(
        "--mixed-precision",
        is_flag=True,
        expose_value=False,
        callback=_apply_mixed_precision,
        help="float16 maths with float32 weights on GPUs (bfloat16 elsewhere).",
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


def _apply_mixed_precision(ctx, param, value):
    if value:
        from keras_ae import distribute

        distribute.use_mixed_precision(True)
        ctx.call_on_close(lambda: distribute.use_mixed_precision(False))
    return value
