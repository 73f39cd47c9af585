"""`keras-ae compress / decompress` (images <-> one `.kae` archive) and `encode / decode` (images <-> codes.npy)."""

from __future__ import annotations

import os

import click

from keras_ae.cli import cli
from keras_ae.cli.options import output_file_options

MODEL_HELP = "The trained autoencoder: a .keras file or a run folder holding model.keras."


def _progress(total: int, label: str):
    return click.progressbar(length=total, label=label, file=click.get_text_stream("stderr"))


@cli.command()
@click.option("--model", "model_path", required=True, help=MODEL_HELP)
@click.argument("inputs", nargs=-1, required=True)
@output_file_options("The archive to write (e.g. digits.kae).")
@click.option(
    "--step",
    type=float,
    default=None,
    help="Quantization step: each value's rounding moves the decoded pixels by about STEP (RMS, 0-1). "
    "Default 0.01; larger is smaller and coarser (0.02, 0.04).",
)
@click.option("--bits", type=int, default=None, help="Or: 2**bits levels over each code value's range (1-8).")
@click.option(
    "--transform/--no-transform",
    default=None,
    help="Decorrelate the codes (the decoder-weighted KLT, stored in the archive) before quantizing. "
    "Default: on with --step, off with --bits.",
)
@click.option("--coder", type=click.Choice(["ans", "lzma", "raw"]), default=None, help="Entropy coder (default ans).")
def compress(model_path, inputs, out, step, bits, transform, coder, overwrite):
    """Compress image files or folders into one .kae archive of their quantized, entropy-coded codes (16-bit
    images come back 16-bit)."""
    from keras_ae import codec, io
    from keras_ae.models import load

    if bits is None and step is None:
        step = 0.01
    files = io.list_images(inputs)
    io.check_output_file(out, files, overwrite)
    ae = load(model_path)
    with _progress(len(files), "encoding") as bar:
        summary = codec.compress(
            ae, files, out, bits=bits, step=step, coder=coder, overwrite=overwrite, progress=bar.update,
            transform=transform,
        )  # fmt: skip
    click.echo(
        f"wrote {out}: {summary.images} images in {summary.bytes:,} bytes "
        f"({summary.bytes / summary.images:.1f} B/image; header {summary.header_bytes:,} B)"
    )


@cli.command()
@click.option("--model", "model_path", required=True, help=MODEL_HELP + " The one that compressed the archive.")
@click.argument("archive")
@click.option(
    "-o",
    "--out",
    required=True,
    help="Folder for the PNGs (original names, .png; 16-bit where the original was). An existing folder keeps "
    "its files: keras-ae only adds the PNGs, and refuses names already there unless --overwrite.",
)
@click.option("--overwrite", is_flag=True, help="Replace files of the same names in the folder.")
def decompress(model_path, archive, out, overwrite):
    """Restore the images of a .kae archive as PNG files."""
    from keras_ae import codec
    from keras_ae.models import load

    ae = load(model_path)
    names, codes, depths = codec.open_archive(ae, archive)
    with _progress(len(names), "decoding") as bar:
        paths = codec.write_images(ae, codes, names, out, overwrite=overwrite, progress=bar.update, bits=depths)
    click.echo(f"wrote {len(paths)} images to {os.path.join(out, '')}")


@cli.command()
@click.option("--model", "model_path", required=True, help=MODEL_HELP)
@click.argument("inputs", nargs=-1, required=True)
@output_file_options("The .npy file for the codes (N, code size), in input order.")
def encode(model_path, inputs, out, overwrite):
    """Write the raw float32 codes e(x) of image files to a .npy file (no quantization)."""
    from io import BytesIO

    import numpy as np

    from keras_ae import codec, io
    from keras_ae.models import load

    files = io.list_images(inputs)
    io.check_output_file(out, files, overwrite)
    ae = load(model_path)
    with _progress(len(files), "encoding") as bar:
        codes = codec.encode_files(ae, files, progress=bar.update)
    buffer = BytesIO()
    np.save(buffer, codes)
    io.write_file(out, buffer.getvalue())
    click.echo(f"wrote {out}: {codes.shape[0]} codes of {codes.shape[1]} values")


@cli.command()
@click.option("--model", "model_path", required=True, help=MODEL_HELP)
@click.argument("codes_path", metavar="CODES.npy")
@click.option(
    "-o",
    "--out",
    required=True,
    help="Folder for the PNGs, named 00000.png, 00001.png, ... in row order. An existing folder keeps its files: "
    "keras-ae only adds the PNGs, and refuses names already there unless --overwrite.",
)
@click.option("--overwrite", is_flag=True, help="Replace files of the same names in the folder.")
@click.option(
    "--bits",
    type=click.Choice(["8", "16"]),
    default="8",
    show_default=True,
    help="Bits per sample of the PNGs: 16 for codes of 16-bit images (a .npy does not record the depth).",
)
def decode(model_path, codes_path, out, overwrite, bits):
    """Turn codes (a .npy of shape (N, code size)) back into images with the model's decoder."""
    import numpy as np

    from keras_ae.codec.archive import write_images
    from keras_ae.errors import UserError
    from keras_ae.models import load

    try:
        codes = np.load(codes_path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise UserError(f"{codes_path}: not a readable .npy file ({str(error).splitlines()[0][:120]})") from None
    ae = load(model_path)
    if codes.ndim != 2 or codes.shape[1] != ae.code_size or not np.issubdtype(codes.dtype, np.number):
        raise UserError(f"{codes_path}: codes of shape {codes.shape}; the model needs (N, {ae.code_size}) numbers")
    if not np.all(np.isfinite(codes)):
        raise UserError(f"{codes_path}: holds NaN or infinite values")
    digits = max(5, len(str(len(codes) - 1)))
    names = [f"{i:0{digits}d}.png" for i in range(len(codes))]
    with _progress(len(codes), "decoding") as bar:
        write_images(ae, codes.astype(np.float32), names, out, overwrite, progress=bar.update, bits=int(bits))
    click.echo(f"wrote {len(codes)} images to {os.path.join(out, '')}")
