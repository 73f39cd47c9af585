"""`keras-ae denoise`: clean user image files with a trained denoiser, tile by tile when they are larger."""

from __future__ import annotations

import os

import click

from keras_ae.cli import cli


@cli.command()
@click.option(
    "--model",
    "model_path",
    required=True,
    help="An export folder (exported/denoise), its saved_model/, or a .keras model.",
)
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--out", required=True, help="Folder for the denoised PNGs (same file names).")
def denoise(model_path, inputs, out):
    """Denoise image files or folders of images; larger images are processed in overlapping tiles."""
    from keras_ae import inference, runs
    from keras_ae.denoise.tiling import apply_tiled

    files = inference.list_images(inputs)
    model = inference.load_image_model(model_path)
    height, width, channels = model.input_shape
    progress = click.progressbar(files, label="denoising", file=click.get_text_stream("stderr"))
    with runs.run_folder(out, flag="-o", inputs=inputs) as work, progress as bar:
        for path in bar:
            image, note = inference.read_image(path, channels)
            if note:
                click.echo(f"\nnote: {note}", err=True)
            clean = apply_tiled(model.predict, image, (height, width), source=path)
            name = os.path.splitext(os.path.basename(path))[0] + ".png"
            inference.write_png(os.path.join(work, name), clean)
    click.echo(f"wrote {len(files)} images to {out}/")
