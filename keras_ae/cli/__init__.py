"""`keras-ae`: a thin click layer. Commands parse flags and call the library or a recipe.

A `UserError` from anywhere below becomes one line on stderr and exit code 2; TensorFlow is imported only
when a command runs, so `keras-ae --help` answers at once.
"""

from __future__ import annotations

import os
import sys

import click

from keras_ae.errors import UserError


def quiet_tensorflow() -> None:
    """Import TensorFlow with its C++ start-up chatter (oneDNN, CUDA probes) held back.

    TF 2.21 writes those lines before its own log level applies, so the import runs with file descriptor 2
    pointed at a temporary file, whose text is shown only if the import fails.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import logging

    tf_logger = logging.getLogger("tensorflow")  # the logger TensorFlow's Python side writes to
    if not any(isinstance(f, NoRetracingNotice) for f in tf_logger.filters):
        tf_logger.addFilter(NoRetracingNotice())
    if "tensorflow" in sys.modules:
        return
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read())
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


class NoRetracingNotice:
    """Drops TensorFlow's "N out of the last N calls ... triggered tf.function retracing" warning.

    TF counts traces across the predict functions of every Keras model in the process, so a recipe that trains
    and predicts with four models (each traced once for full batches and once for the last, shorter one)
    trips it with nothing to fix; a command-line user can only be alarmed by it. Other warnings pass.
    """

    def filter(self, record) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


class Group(click.Group):
    """Lists commands in the order a user meets them: the recipes first, then train, embed, export, use."""

    ORDER = ("recipe", "train", "embed", "export", "denoise", "score")

    def list_commands(self, ctx):
        return sorted(self.commands, key=lambda name: self.ORDER.index(name) if name in self.ORDER else len(self.ORDER))


def _max_pixels(ctx, param, value):
    if value is not None:
        from keras_ae import io

        if value < 1:
            raise click.BadParameter("must be at least 1")
        os.environ[io.MAX_PIXELS_ENV] = str(value)  # reaches every reader, tf.data's too
    return value


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="keras-ae")
@click.option(
    "--max-pixels",
    type=int,
    default=None,
    expose_value=False,
    callback=_max_pixels,
    metavar="N",
    help="Refuse pictures of more than N pixels (height x width) from their header [default: 100000000, or "
    "KERAS_AE_MAX_PIXELS]: a few bytes of PNG can declare gigapixels.",
)
@click.pass_context
def cli(ctx):
    """Autoencoders for Keras: train, embed, export, and the recipes (denoise, ...)."""
    if ctx.invoked_subcommand and not {"--help", "-h", "--list"} & set(sys.argv):
        quiet_tensorflow()


RUN_FOLDER_COMMANDS = ("train", "embed", "denoise", "recipe *")  # commands that write a run folder (`runs`)


def _apply_overwrite(ctx, param, value):
    if value:
        from keras_ae import runs

        token = runs.allow_overwrite(True)
        ctx.call_on_close(lambda: runs.reset_overwrite(token))
    return value


def add_overwrite_option(command: click.Command) -> None:
    """`--overwrite`, and what happens to an existing folder in `--out`'s help (`keras_ae.runs`)."""
    from keras_ae.runs import OUT_HELP, OVERWRITE_HELP

    if any(p.name == "overwrite" for p in command.params):
        return
    for param in command.params:
        if param.name == "out" and OUT_HELP not in (param.help or ""):
            param.help = f"{param.help or ''} {OUT_HELP}".strip()
    command.params.append(
        click.Option(["--overwrite"], is_flag=True, expose_value=False, callback=_apply_overwrite, help=OVERWRITE_HELP)
    )


def register_commands() -> None:
    """Import every module of this package: each defines its commands with `@cli.command` (or `@recipe.command`).

    A new command is a new module here; nothing else has to be edited to make it appear.
    """
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
    for name in RUN_FOLDER_COMMANDS:
        if name.endswith(" *"):
            group = cli.commands.get(name[:-2])
            for command in getattr(group, "commands", {}).values():
                add_overwrite_option(command)
        elif name in cli.commands:
            add_overwrite_option(cli.commands[name])


def main(argv=None) -> None:
    from keras_ae import runs

    register_commands()
    try:
        cli.main(args=argv, standalone_mode=False)
    except UserError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(UserError.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    finally:
        runs.release_all()  # a run folder's lock ends with its command, even in a process that goes on
    sys.exit(0)
