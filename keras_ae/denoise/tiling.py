"""Run an image model on images of any size, tile by tile.

`apply_tiled`: a fixed-size model (28x28, 64x64) on a larger image. Tiles overlap by half their size and are
blended with a smooth window, so no seams show where tiles meet: a 512x512 scan can be cleaned with a 28x28 model.

`apply_any_size`: a model that takes any size (a fully convolutional photo denoiser) on a photo too large to run
at once: 512x512 tiles, each with 32 pixels of context on every side that is then cut away, so memory is bounded
by the tile (a 4000x3000 photo: under 1.5 GB peak) and the result equals one pass over the whole image.
"""

from __future__ import annotations

import numpy as np

from keras_ae.errors import UserError


def _starts(length: int, tile: int, stride: int) -> list[int]:
    starts = list(range(0, length - tile + 1, stride))
    if starts[-1] != length - tile:
        starts.append(length - tile)  # the last tile sits flush with the edge
    return starts


def _window(height: int, width: int) -> np.ndarray:
    """A raised-cosine weight, never exactly zero, so every pixel is covered by some weight."""
    wy = 0.5 - 0.5 * np.cos(2 * np.pi * (np.arange(height) + 0.5) / height)
    wx = 0.5 - 0.5 * np.cos(2 * np.pi * (np.arange(width) + 0.5) / width)
    return (np.outer(wy, wx) + 1e-3)[..., None].astype(np.float32)


def apply_tiled(predict, image: np.ndarray, tile_shape, batch_size: int = 64, source: str = "image") -> np.ndarray:
    """`predict(batch) -> batch` on (h, w, C) tiles of one (H, W, C) image; returns (H, W, C)."""
    height, width = image.shape[:2]
    tile_h, tile_w = tile_shape
    if (height, width) == (tile_h, tile_w):
        return np.asarray(predict(image[None]))[0]
    if height < tile_h or width < tile_w:
        raise UserError(f"{source} is {height}x{width}, smaller than the model's input {tile_h}x{tile_w}")
    positions = [
        (y, x)
        for y in _starts(height, tile_h, max(1, tile_h // 2))
        for x in _starts(width, tile_w, max(1, tile_w // 2))
    ]
    window = _window(tile_h, tile_w)
    total = np.zeros(image.shape, np.float32)
    weight = np.zeros((height, width, 1), np.float32)
    for i in range(0, len(positions), batch_size):
        chunk = positions[i : i + batch_size]
        tiles = np.stack([image[y : y + tile_h, x : x + tile_w] for y, x in chunk])
        outputs = np.asarray(predict(tiles))
        for (y, x), output in zip(chunk, outputs, strict=True):
            total[y : y + tile_h, x : x + tile_w] += output * window
            weight[y : y + tile_h, x : x + tile_w] += window
    return total / weight


def tile_boxes(height: int, width: int, tile: int, margin: int) -> list[tuple[tuple[int, int, int, int], tuple]]:
    """(core box, context box) pairs, each (y0, y1, x0, x1), that cover an image in `tile`-sized cores; the
    context adds `margin` pixels on every side that has image there. With `tile` and `margin` multiples of a
    U-Net's size factor, every context starts on that grid, so the stitched result equals one pass over the
    whole image when `margin` is at least the network's receptive radius."""
    boxes = []
    for y0 in range(0, height, tile):
        for x0 in range(0, width, tile):
            y1, x1 = min(y0 + tile, height), min(x0 + tile, width)
            context = (max(0, y0 - margin), min(height, y1 + margin), max(0, x0 - margin), min(width, x1 + margin))
            boxes.append(((y0, y1, x0, x1), context))
    return boxes


def apply_any_size(predict, image: np.ndarray, tile: int = 512, margin: int = 32, progress=None) -> np.ndarray:
    """`predict((1, h, w, C)) -> (1, h, w, C)` for a model that takes any size, over one (H, W, C) image in
    `tile`x`tile` pieces with `margin` pixels of context each, so memory stays bounded however large the image.

    `progress(n)` is called after each tile with the number of tiles done (for a progress bar).
    """
    height, width = image.shape[:2]
    if tile < 1 or margin < 0:
        raise UserError(f"--tile must be positive and the margin not negative (got {tile}, {margin})")
    boxes = tile_boxes(height, width, tile, margin)
    out = np.empty(image.shape, np.float32)
    for (y0, y1, x0, x1), (cy0, cy1, cx0, cx1) in boxes:
        result = np.asarray(predict(image[None, cy0:cy1, cx0:cx1]))[0]
        out[y0:y1, x0:x1] = result[y0 - cy0 : y1 - cy0, x0 - cx0 : x1 - cx0]
        if progress is not None:
            progress(1)
    return out
