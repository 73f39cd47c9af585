"""`keras-ae`: a thin click layer. Commands parse flags and call the library or a recipe.

A `UserError` from anywhere below becomes one line on stderr and exit code 2; TensorFlow is imported only
when a command needs it, so `keras-ae --help`, and a bad flag or a missing file, answer at once.
"""

from __future__ import annotations

import os
import sys

import click

from keras_ae.errors import UserError


def quiet_tensorflow() -> None:
    """Hold back TensorFlow's C++ start-up chatter (oneDNN, CUDA probes) whenever TensorFlow is first imported.

    TF 2.21 writes those lines before its own log level applies, so its import (and its first look for devices,
    which logs a failed CUDA probe as an error on machines without a GPU) must run with file descriptor 2
    pointed at a temporary file, whose text is shown only if the import fails. Rather than importing TensorFlow
    here (seconds, before any flag is even parsed), this puts a finder in front of `sys.meta_path` that wraps
    the import wherever it happens: a command that fails on a bad flag or a missing file answers at once.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import logging

    tf_logger = logging.getLogger("tensorflow")  # the logger TensorFlow's Python side writes to
    if not any(isinstance(f, NoRetracingNotice) for f in tf_logger.filters):
        tf_logger.addFilter(NoRetracingNotice())
    if "tensorflow" not in sys.modules and not any(isinstance(f, _QuietImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietImport())


class _QuietImport:
    """A meta-path finder for `tensorflow` alone: finds it as Python would, with a loader that captures fd 2."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)  # once: the real finders answer from here on
        import importlib.util

        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _StderrCapturingLoader(spec.loader)
        return spec


class _StderrCapturingLoader:
    """Runs the wrapped loader's `exec_module` with file descriptor 2 captured; everything else is the loader's."""

    def __init__(self, loader):
        self.loader = loader

    def __getattr__(self, name):
        return getattr(self.loader, name)

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        import tempfile

        sys.stderr.flush()
        saved = os.dup(2)
        with tempfile.TemporaryFile(mode="w+") as captured:
            os.dup2(captured.fileno(), 2)
            try:
                self.loader.exec_module(module)
                module.config.list_physical_devices()  # the device probe's "failed call to cuInit" line, too
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
    if ctx.invoked_subcommand:
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
