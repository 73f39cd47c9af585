"""`smileys`: simple colour faces with known, independently drawn attributes, made by keras-ae itself.

The seed's generation example ("add a smile") needs faces whose attributes are known, and it should run
anywhere, offline. Each face is a disk of some skin tone, size and position on a pale background, with two
eyes (open: dots; closed: short bars), glasses or not, and a mouth whose curvature runs from sad to smiling.
Every attribute is drawn independently of the others, so a vector fitted for one carries none of the rest.

The mouth is drawn boldly (a stroke of 0.16 of the face radius, a curvature height of up to 0.45 of it):
a 2-pixel stroke on 32x32 faces is lost by a small conv autoencoder, which then reconstructs a flat smear.
Likewise the eyes: open ones are dots of 0.2 of the radius, closed ones thin bars, a difference in ink that
survives a decoder's blur (with dots of 0.15 and thicker bars, reconstructions kept it for 57% of faces).
Faces are rendered at twice the size and averaged down, which anti-aliases every edge.
"""

from __future__ import annotations

import functools

import numpy as np

from keras_ae.data.dataset import ImageData, from_arrays
from keras_ae.errors import UserError

BINARY_ATTRIBUTES = ("smile", "glasses", "eyes_open")
CONTINUOUS_ATTRIBUTES = ("curvature", "face_x", "face_y", "face_size", "skin_tone")
CLASS_NAMES = ["sad", "smiling"]  # the label of a smiley is its `smile` attribute
LIGHT_SKIN = np.array([1.0, 0.86, 0.70], np.float32)
DARK_SKIN = np.array([0.50, 0.32, 0.20], np.float32)
INK = np.array([0.08, 0.06, 0.06], np.float32)
GLASSES_INK = np.array([0.10, 0.12, 0.35], np.float32)
DEFAULT_COUNT = 6000
SUPERSAMPLE = 2


def draw_attributes(count: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Independent attributes for `count` faces. Curvature keeps away from flat (|k| >= 0.35), so every
    face is clearly sad or clearly smiling and a judge can be held to a high agreement."""
    rng = np.random.default_rng(seed)
    smile = rng.integers(0, 2, count)
    return {
        "smile": smile,
        "glasses": rng.integers(0, 2, count),
        "eyes_open": rng.integers(0, 2, count),
        "curvature": (np.where(smile == 1, 1.0, -1.0) * rng.uniform(0.35, 1.0, count)).astype(np.float32),
        "face_x": rng.uniform(0.42, 0.58, count).astype(np.float32),
        "face_y": rng.uniform(0.42, 0.58, count).astype(np.float32),
        "face_size": rng.uniform(0.32, 0.40, count).astype(np.float32),
        "skin_tone": rng.uniform(0.0, 1.0, count).astype(np.float32),
        "background": rng.uniform(0.80, 0.95, (count, 3)).astype(np.float32),
    }


def render(attributes: dict[str, np.ndarray], size: int = 32, noise: float = 0.02, seed: int = 0) -> np.ndarray:
    """Draw faces from their attributes: float32 (N, size, size, 3) in [0, 1]."""
    count = len(attributes["smile"])
    fine = size * SUPERSAMPLE
    coords = (np.arange(fine, dtype=np.float32) + 0.5) / fine  # pixel centres in [0, 1]
    images = np.empty((count, size, size, 3), np.float32)
    for start in range(0, count, 256):
        part = {k: v[start : start + 256] for k, v in attributes.items()}
        canvas = _draw(part, coords)
        n = len(canvas)
        images[start : start + n] = canvas.reshape(n, size, SUPERSAMPLE, size, SUPERSAMPLE, 3).mean(axis=(2, 4))
    if noise:
        images += np.random.default_rng(seed + 1).normal(0.0, noise, images.shape).astype(np.float32)
    return images.clip(0.0, 1.0)


def _draw(a: dict[str, np.ndarray], coords: np.ndarray) -> np.ndarray:
    n = len(a["smile"])
    y = coords[None, :, None]
    x = coords[None, None, :]
    cx, cy, r = (a[k][:, None, None] for k in ("face_x", "face_y", "face_size"))
    canvas = np.broadcast_to(a["background"][:, None, None, :], (n, len(coords), len(coords), 3)).copy()

    def paint(mask, colour):
        colour = np.broadcast_to(np.asarray(colour, np.float32), (n, 3))[:, None, None, :]
        canvas[:] = np.where(mask[..., None], colour, canvas)

    tone = a["skin_tone"][:, None]
    paint((x - cx) ** 2 + (y - cy) ** 2 <= r**2, (1 - tone) * LIGHT_SKIN + tone * DARK_SKIN)

    # Eyes: open ones are round dots, closed ones short horizontal bars.
    open_eyes = a["eyes_open"][:, None, None] == 1
    for side in (-1.0, 1.0):
        ex, ey = cx + side * 0.38 * r, cy - 0.28 * r
        dot = (x - ex) ** 2 + (y - ey) ** 2 <= (0.2 * r) ** 2
        bar = (np.abs(x - ex) <= 0.22 * r) & (np.abs(y - ey) <= 0.04 * r)
        paint(np.where(open_eyes, dot, bar), INK)
        # Glasses: a ring around each eye, and a bridge between them.
        ring = np.abs(np.sqrt((x - ex) ** 2 + (y - ey) ** 2) - 0.28 * r) <= 0.06 * r
        paint(ring & (a["glasses"][:, None, None] == 1), GLASSES_INK)
    bridge = (np.abs(x - cx) <= 0.12 * r) & (np.abs(y - (cy - 0.28 * r)) <= 0.05 * r)
    paint(bridge & (a["glasses"][:, None, None] == 1), GLASSES_INK)

    # Mouth: a parabola through the face's lower half; corners up for a smile, down for a sad face.
    half_width, height = 0.5 * r, 0.45 * r * a["curvature"][:, None, None]
    u = (x - cx) / half_width
    mouth_y = cy + 0.42 * r + height * (0.5 - u**2)
    slope = -2 * height * u / half_width
    distance = np.abs(y - mouth_y) / np.sqrt(1 + slope**2)
    paint((np.abs(u) <= 1) & (distance <= 0.08 * r), INK)
    return canvas


def drawn_midpoints(first: dict, second: dict, size: int = 32, seed: int = 0) -> np.ndarray:
    """Faces half-way between two sets of attributes, drawn rather than decoded: what a faithful
    interpolation would show. Continuous attributes (curvature, position, size, skin tone) are averaged;
    each yes/no one (glasses, eyes) is taken whole from one of the two at random, as no face wears half
    glasses. A sad and a smiling face meet at a flat mouth, which is neither: a judge's confidence on these
    faces is about the most `interpolation.plausibility` can reach (the background is a fixed grey)."""
    count = len(first["smile"])
    pick = np.random.default_rng(seed).integers(0, 2, (2, count)) == 1
    middle = {k: ((first[k] + second[k]) / 2).astype(np.float32) for k in CONTINUOUS_ATTRIBUTES}
    for k, from_first in zip(("glasses", "eyes_open"), pick, strict=True):
        middle[k] = np.where(from_first, first[k], second[k])
    middle["smile"] = (middle["curvature"] > 0).astype(np.int64)
    middle["background"] = np.full((count, 3), 0.875, np.float32)
    return render(middle, size=size, seed=seed)


@functools.lru_cache(maxsize=2)
def _faces(seed: int, count: int, size: int):
    """Drawn once per process and setting (a few seconds for the default 6,000); callers get copies."""
    attributes = draw_attributes(count, seed)
    images = render(attributes, size=size, seed=seed)
    attributes.pop("background")
    images.flags.writeable = False
    return images, attributes


def smileys(seed: int = 0, count: int = DEFAULT_COUNT, size: int = 32) -> ImageData:
    """The built-in `smileys` data set: `count` faces of `size`x`size` RGB, labelled sad/smiling, every
    attribute under `data.attributes[split][name]`. The same seed gives the same faces and split."""
    if count < 2 or size < 16:
        raise UserError(f"smileys: need at least 2 faces of at least 16x16 pixels, got {count} of {size}x{size}")
    images, attributes = _faces(seed, count, size)
    return from_arrays(
        "smileys",
        images,
        attributes["smile"].astype(np.int32),
        seed=seed,
        class_names=list(CLASS_NAMES),
        attributes=attributes,
        info={"binary_attributes": list(BINARY_ATTRIBUTES)},
    )
