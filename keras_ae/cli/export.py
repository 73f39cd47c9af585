"""`keras-ae export`: a trained model as a SavedModel and TFLite files, with metadata.json."""

from __future__ import annotations

import contextlib

import click

from keras_ae.cli import cli
from keras_ae.export import FORMATS, QUANTIZATIONS

REPRESENTATIVE_LIMIT = 200  # calibration needs a sample of the data, not all of it


@cli.command()
@click.argument("model_path", metavar="MODEL")
@click.option(
    "-o",
    "--out",
    required=True,
    help="Export folder to write. The files an earlier export wrote there are replaced; files you added are "
    "kept; any other non-empty folder is refused.",
)
@click.option(
    "--format",
    "formats",
    multiple=True,
    default=FORMATS,
    show_default=True,
    help="saved_model and/or tflite; repeat the flag (or separate by commas) for several.",
)
@click.option(
    "--quantize",
    multiple=True,
    default=QUANTIZATIONS,
    show_default=True,
    help="TFLite files to write: float32, float16, dynamic, int8; repeat the flag (or use commas) for several.",
)
@click.option(
    "--dataset",
    default=None,
    help="Images that calibrate int8 (up to 200 training images). Default: the run's data set, else mnist-5k.",
)
@click.option("--tflite-batch", default=1, show_default=True, help="Fixed batch size of the TFLite signatures.")
@click.option("--int8-io", is_flag=True, help="The int8 file takes and returns int8 tensors instead of float32.")
def export(model_path, out, formats, quantize, dataset, tflite_batch, int8_io):
    """Export MODEL (a model.keras or its run folder) to a SavedModel and TFLite files in -o."""
    import os

    from keras_ae import export as exporter

    formats = exporter.check_choices(_split(formats), exporter.FORMATS, "format")
    quantize = exporter.check_choices(_split(quantize), exporter.QUANTIZATIONS, "quantization mode")
    exporter.check_target(out, model_path)
    _check_target(out)
    with _native_logs_held():  # C++ chatter (CUDA probes, calibration) is not for the user
        ae = exporter.as_autoencoder(model_path)
        info, config = _run_info(model_path)
        images = None
        if "tflite" in formats and "int8" in quantize:
            images, info["representative_data"] = _representative(ae, dataset, config)
        endpoints = None
        if "threshold" in info:  # an anomaly model: its score ships with it, next to the threshold
            from keras_ae import anomaly

            endpoints = anomaly.export_endpoints(ae)
        meta = exporter.export(
            ae,
            out,
            formats=formats,
            quantize=quantize,
            representative_data=images,
            endpoints=endpoints,
            tflite_batch=tflite_batch,
            int8_io=int8_io,
            metadata=info,
        )

    files = meta["files"]
    rows = {}
    if meta["saved_model"]:
        rows["saved_model/"] = sum(e["bytes"] for p, e in files.items() if p.startswith("saved_model/"))
    for entry in meta["tflite"].values():
        rows[entry["file"]] = files[entry["file"]]["bytes"]
    rows["metadata.json"] = os.path.getsize(os.path.join(out, "metadata.json"))
    width = max(len(name) for name in rows)
    click.echo(f"wrote {os.path.normpath(out)}/")
    for name, size in rows.items():
        click.echo(f"  {name:<{width}}  {size / 1024:>9,.1f} KiB")


def _run_info(model_path: str):
    """What metadata.json keeps about where the model came from: its run's data set and metrics, if any."""
    import os

    from keras_ae import runs

    run = model_path if os.path.isdir(model_path) else os.path.dirname(model_path)
    config = runs.read_json(os.path.join(run, "config.json"), {}) or {}
    info = {"source": os.path.abspath(model_path)}
    if config.get("dataset"):
        info["dataset"] = config["dataset"]
    metrics = runs.read_json(os.path.join(run, "metrics.json"))
    if metrics:
        info["metrics"] = metrics
    from keras_ae.anomaly import THRESHOLD_FILE

    threshold = runs.read_json(os.path.join(run, THRESHOLD_FILE))
    if threshold:
        info["threshold"] = threshold
    return info, config


def _representative(ae, dataset, config):
    """Up to 200 training images of `--dataset` (by default the run's own), checked against the model."""
    from keras_ae import data as datasets
    from keras_ae.errors import UserError

    resize = config.get("resize") if dataset is None else None
    dataset = dataset or config.get("dataset") or datasets.DEFAULT_DATASET
    data = datasets.load(dataset, seed=config.get("seed", 0), resize=resize)
    if tuple(data.shape) != tuple(ae.input_shape):
        raise UserError(f"--dataset {dataset}: images of shape {data.shape}, but the model takes {ae.input_shape}")
    images, _ = data.arrays("train", limit=REPRESENTATIVE_LIMIT)
    return images, {"dataset": dataset, "images": len(images)}


def _split(values) -> tuple[str, ...]:
    """`--quantize float32,int8` and `--quantize float32 --quantize int8` mean the same."""
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


def _check_target(out: str) -> None:
    """Fail on an unwritable -o before minutes of loading and converting, leaving nothing behind."""
    import os
    import shutil

    from keras_ae import runs
    from keras_ae.export import written_files

    existed = os.path.exists(runs.partial_path(out))
    work = runs.prepare(out, flag="-o", ours=written_files)
    if not existed:
        shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def _native_logs_held():
    """Point file descriptor 2 at a temporary file; show what it caught only if something unexpected fails."""
    import os
    import sys
    import tempfile

    from keras_ae.errors import UserError

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        except UserError:
            raise
        except BaseException:
            sys.stderr.flush()
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read())
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
