"""Moved to `keras_ae.io` (issue 15: one I/O layer); these names stay for callers not moved yet.

`read_image` here keeps its old return value (pixels, a note when the colour mode was converted) on top of
`keras_ae.io.read_image`, so 16-bit files keep their precision on this path too.
"""

from __future__ import annotations

from keras_ae.io import IMAGE_EXTENSIONS, ImageModel, list_images, load_image_model  # noqa: F401


def read_image(path: str, channels: int):
    """float32 (H, W, channels) in [0, 1], and a note when the colour mode had to be converted."""
    from keras_ae import io

    info = io.image_info(path)
    pixels, _ = io.read_image(path, channels)
    note = None
    if info.channels != channels:
        kinds = {1: "grey", 3: "RGB"}
        note = f"{path}: converted {kinds[info.channels]} to {kinds.get(channels, channels)} for the model"
    return pixels, note


def write_png(path: str, image) -> None:
    from keras_ae import io

    io.write_image(path, image)
