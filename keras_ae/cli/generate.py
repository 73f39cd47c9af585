"""`keras-ae perturb`, `interpolate`, `attribute fit|apply`: edit codes, then decode."""

from __future__ import annotations

import os

import click

from keras_ae.cli import cli
from keras_ae.cli.options import output_file_options


def _read_images(paths, ae, flag: str):
    """Image files (or folders of them) as one float32 batch of exactly the model's input shape."""
    import numpy as np

    from keras_ae.errors import UserError
    from keras_ae.io import list_images, read_image

    files = list_images(paths)
    height, width, channels = ae.input_shape
    images = []
    for path in files:
        image, _ = read_image(path, channels)
        if image.shape[:2] != (height, width):
            raise UserError(
                f"{flag} {path} is {image.shape[0]}x{image.shape[1]}, the model takes {height}x{width} images"
            )
        images.append(image)
    return np.stack(images), files


def _write_grid(rows, out: str):
    """Rows of images side by side, rows stacked, written through a temporary file (`-o` was checked first)."""
    import numpy as np

    from keras_ae.io import write_image

    write_image(out, np.concatenate([np.concatenate(list(row), axis=1) for row in rows], axis=0))


def _number(text: str, flag: str) -> float:
    import math

    from keras_ae.errors import UserError

    try:
        value = float(text)
    except ValueError:
        raise UserError(f"{flag} must be a number, got '{text}'") from None
    if not math.isfinite(value):
        raise UserError(f"{flag} must be a finite number, got '{text}'")
    return value


@cli.command()
@click.option("--model", "model_path", required=True, help="A keras-ae model.keras (or its run folder).")
@click.argument("images", nargs=-1, required=True)
@click.option("--scale", default="0.5", show_default=True, help="Standard deviation of e' per code value.")
@click.option("--n", "count", default=8, show_default=True, help="Perturbed decodings per image.")
@click.option("--seed", default=0, show_default=True)
@output_file_options("PNG: one row per image, the original then the decodings.")
def perturb(model_path, images, scale, count, seed, out, overwrite):
    """Decode e(x) + e' with e' random: images that live near x in code space."""
    from keras_ae import io
    from keras_ae.errors import UserError
    from keras_ae.generate import latent
    from keras_ae.models import load

    io.check_output_file(out, images, overwrite)

    scale = _number(scale, "--scale")
    if scale < 0:
        raise UserError(f"--scale must not be negative, got {scale:g}")
    ae = load(model_path)
    x, _ = _read_images(images, ae, "IMAGES")
    decoded = latent.perturb(ae, x, scale, count=count, seed=seed)
    _write_grid([[original, *variants] for original, variants in zip(x, decoded, strict=True)], out)
    click.echo(f"wrote {out}: {len(x)} image(s), {count} perturbations each at scale {scale:g}")


@cli.command()
@click.option("--model", "model_path", required=True, help="A keras-ae model.keras (or its run folder).")
@click.argument("first")
@click.argument("second")
@click.option("--steps", default=8, show_default=True, help="Images in the strip, both ends included (>= 2).")
@output_file_options("PNG strip from FIRST to SECOND.")
def interpolate(model_path, first, second, steps, out, overwrite):
    """Decode (1 - t) e(FIRST) + t e(SECOND) for t from 0 to 1."""
    from keras_ae import io
    from keras_ae.generate import latent
    from keras_ae.models import load

    io.check_output_file(out, [first, second], overwrite)

    latent.interpolation_weights(steps)  # refuse --steps < 2 before loading anything
    ae = load(model_path)
    a, _ = _read_images([first], ae, "FIRST")
    b, _ = _read_images([second], ae, "SECOND")
    _write_grid([latent.interpolate(ae, a[0], b[0], steps=steps)], out)
    click.echo(f"wrote {out}: {steps} steps")


@cli.group()
def attribute():
    """Attribute vectors: S = centre(codes with it) - centre(codes without it); decode e(x) + strength * S."""


@attribute.command("fit")
@click.option("--model", "model_path", required=True, help="A keras-ae model.keras (or its run folder).")
@click.option("--positive", default=None, help="Folder of images with the attribute.")
@click.option("--negative", default=None, help="Folder of images without it.")
@click.option("--dataset", default=None, help="Or a data set with attributes (smileys, celeba:/path).")
@click.option("--attribute", "name", default=None, help="With --dataset: the attribute (e.g. smile, Smiling).")
@click.option(
    "--balance-by",
    default=None,
    help="With --dataset: fit S within each group of this attribute (or `label`) and average.",
)
@click.option("--seed", default=0, show_default=True, help="Seed of the data set's split (training part is used).")
@output_file_options("Vector file (.npz) to write.")
def attribute_fit(model_path, positive, negative, dataset, name, balance_by, seed, out, overwrite):
    """Fit an attribute vector from two folders, or from a data set's attribute labels."""
    from keras_ae import io
    from keras_ae.errors import UserError
    from keras_ae.generate.latent import AttributeVector
    from keras_ae.models import load

    io.check_output_file(out, [p for p in (positive, negative) if p], overwrite)

    if dataset is None and (positive is None or negative is None):
        raise UserError("attribute fit needs --positive DIR and --negative DIR, or --dataset D --attribute NAME")
    if dataset is not None and (positive or negative):
        raise UserError("attribute fit takes --positive/--negative or --dataset, not both")
    if dataset is not None and not name:
        raise UserError("--dataset needs --attribute NAME")
    if dataset is None and balance_by:
        raise UserError("--balance-by needs --dataset (the groups come from its labels or attributes)")
    ae = load(model_path)
    if dataset is None:
        with_it, _ = _read_images([positive], ae, "--positive")
        without, _ = _read_images([negative], ae, "--negative")
        vector = AttributeVector.fit(ae, with_it, without, name=os.path.basename(os.path.normpath(positive)))
    else:
        vector = _fit_from_dataset(ae, dataset, name, balance_by, seed)
    vector.save(out)
    balanced = f", balanced by {balance_by}" if balance_by else ""
    click.echo(f"wrote {out}: '{vector.name}' from {vector.positive} with / {vector.negative} without{balanced}")


def _fit_from_dataset(ae, dataset, name, balance_by, seed):
    from keras_ae import data as datasets
    from keras_ae.errors import UserError
    from keras_ae.generate.latent import AttributeVector, check_attribute

    data = datasets.load(dataset, seed=seed)
    check_attribute(data, name)
    if balance_by and balance_by != "label":
        check_attribute(data, balance_by, "--balance-by")
    if tuple(data.shape) != ae.input_shape:
        raise UserError(f"--dataset {dataset} holds {data.shape} images, the model takes {ae.input_shape}")
    x, labels = data.arrays("train")
    has = data.attributes["train"][name] == 1
    groups = None
    if balance_by:
        if balance_by == "label" and labels is None:
            raise UserError(f"--balance-by label: {data.name} has no labels")
        group = labels if balance_by == "label" else data.attributes["train"][balance_by]
        groups = (group[has], group[~has])
    return AttributeVector.fit(ae, x[has], x[~has], name=name, groups=groups, balance_by=balance_by or "")


@attribute.command("apply")
@click.option("--model", "model_path", required=True, help="The model the vector was fitted with.")
@click.option("--vector", "vector_path", required=True, help="A vector file from `attribute fit`.")
@click.argument("images", nargs=-1, required=True)
@click.option("--strength", default="1.0", show_default=True, help="How far to move along S.")
@output_file_options("PNG of the edited decoding (several images: side by side).")
def attribute_apply(model_path, vector_path, images, strength, out, overwrite):
    """Decode e(x) + strength * S."""
    from keras_ae import io
    from keras_ae.generate.latent import AttributeVector
    from keras_ae.models import load

    io.check_output_file(out, [vector_path, *images], overwrite)

    strength = _number(strength, "--strength")
    ae = load(model_path)
    vector = AttributeVector.load(vector_path, ae)
    x, _ = _read_images(images, ae, "IMAGES")
    edited = vector.apply(ae, x, strength)
    _write_grid([edited], out)
    click.echo(f"wrote {out}: '{vector.name}' at strength {strength:g} on {len(x)} image(s)")
