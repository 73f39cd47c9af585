"""Run a fixed-size image model on images of any larger size, tile by tile.

Tiles overlap by half their size and are blended with a smooth window, so no seams show where tiles meet:
a 512x512 scan can be cleaned with a 28x28 or 64x64 model.
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
