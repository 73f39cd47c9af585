"""`keras-ae denoise`: clean user image files with a trained denoiser (the shipped photo model by default), in
tiles, so that a large photo goes through in bounded memory; 8-bit files come back 8-bit, 16-bit ones 16-bit."""

from __future__ import annotations

import os

import click

from keras_ae.cli import cli


@cli.command()
@click.option(
    "--model",
    "model_path",
    default=None,
    help="An export folder (exported/denoise), its saved_model/, or a .keras model. "
    "Default: the shipped blind grayscale photo denoiser (keras_ae/pretrained/photo-gray).",
)
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--out", required=True, help="Folder for the denoised PNGs (same file names).")
@click.option(
    "--tile",
    default=512,
    show_default=True,
    type=click.IntRange(min=64),
    help="Tile side for models that take any size (a multiple of 32): memory grows with it, not with the photo.",
)
def denoise(model_path, inputs, out, tile):
    """Denoise image files or folders of images; large images go through in tiles, with a progress bar.

    Without --model, the shipped photo denoiser cleans grayscale photos and scans with Gaussian-like noise of
    any level up to about 55/255; colour photos are denoised channel by channel.
    """
    from keras_ae import io, runs
    from keras_ae.denoise import tiling
    from keras_ae.errors import UserError

    if tile % 32:
        raise UserError(f"--tile {tile}: must be a multiple of 32")
    files = io.list_images(inputs)
    model = _load(model_path)
    stderr = click.get_text_stream("stderr")
    with runs.run_folder(out, flag="-o", inputs=inputs) as work:
        for number, path in enumerate(files, 1):
            image, bits = io.read_image(path)
            label = f"[{number}/{len(files)}] {os.path.basename(path)}"
            if model.any_size:
                clean = _any_size(model, image, tile, label, stderr, path)
            else:
                if image.shape[-1] != model.input_shape[-1]:
                    kinds = {1: "grey", 3: "RGB"}
                    change = f"{kinds[image.shape[-1]]} to {kinds[model.input_shape[-1]]}"
                    image, _ = io.read_image(path, channels=model.input_shape[-1])
                    click.echo(f"note: {path}: converted {change} for the model", err=True)
                click.echo(label, err=True)
                clean = tiling.apply_tiled(model.predict, image, model.input_shape[:2], source=path)
            name = os.path.splitext(os.path.basename(path))[0] + ".png"
            io.write_image(os.path.join(work, name), clean, bits=16 if bits > 8 else 8)
    click.echo(f"wrote {len(files)} images to {os.path.join(out, '')}")


def _load(model_path):
    from keras_ae import io
    from keras_ae.export import image_model

    if model_path is None:
        from keras_ae import pretrained

        return image_model.from_keras_model(pretrained.load(), f"the shipped {pretrained.PHOTO_GRAY} model")
    if not os.path.exists(model_path):
        from keras_ae.errors import UserError

        raise UserError(f"--model {model_path}: not found")
    model = image_model.load_any_size(model_path)
    if model is None:
        model = io.load_image_model(model_path)
        model.any_size = False
    return model


def _any_size(model, image, tile, label, stream, path):
    """Every channel the model does not take at once goes through on its own (a gray model on a colour photo)."""
    import numpy as np

    from keras_ae.denoise import tiling
    from keras_ae.errors import UserError

    height, width, channels = image.shape
    if min(height, width) < 4:
        raise UserError(f"{path} is {height}x{width}: too small to denoise (at least 4x4 pixels)")
    groups = [slice(0, channels)] if channels == model.channels else [slice(c, c + 1) for c in range(channels)]
    if channels != model.channels and model.channels != 1:
        raise UserError(f"{path} has {channels} channel(s); the model takes {model.channels}")
    boxes = len(tiling.tile_boxes(height, width, tile, model.margin)) * len(groups)
    clean = np.empty(image.shape, np.float32)
    with click.progressbar(length=boxes, label=label, file=stream) as bar:
        for group in groups:
            clean[..., group] = tiling.apply_any_size(
                model.predict, image[..., group], tile, model.margin, progress=bar.update
            )
    return clean
