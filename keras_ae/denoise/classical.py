"""What a denoiser is measured against on photos: fixed noisy copies, the classical filters tuned on central
crops, and BM3D told the noise level (or given scikit-image's estimate of it)."""

from __future__ import annotations

import numpy as np

from keras_ae.denoise import noise as noises
from keras_ae.measure import filters

TUNE_CROP = 192  # classical filters are tuned on central crops of the validation images (1/4 the time)


def noisy_copies(corrupt, images, seed: int) -> list[np.ndarray]:
    """One fixed noisy copy of each (H, W, C) image; image i's noise depends on (seed, i)."""
    return [corrupt.apply_fixed(image[None], seed * 7919 + i)[0] for i, image in enumerate(images)]


def central_crop(image: np.ndarray, size: int) -> np.ndarray:
    height, width = image.shape[:2]
    size_h, size_w = min(size, height), min(size, width)
    y, x = (height - size_h) // 2, (width - size_w) // 2
    return image[y : y + size_h, x : x + size_w]


def tune(noisy, clean, names=None, crop: int = TUNE_CROP):
    """Each classical filter with its parameters tuned on central crops of the (mixed-size) validation images."""
    names = [n for n in (names or filters.available()) if n in filters.available()]
    size = min(crop, *(min(x.shape[:2]) for x in noisy))
    noisy_crops = np.stack([central_crop(x, size) for x in noisy])
    clean_crops = np.stack([central_crop(x, size) for x in clean])
    return {name: filters.tune(name, noisy_crops, clean_crops) for name in names}


def bm3d_method(corrupt):
    """(row name, image -> image) for BM3D, or None without the `bm3d` package. BM3D is told the true sigma
    of plain Gaussian noise ("bm3d"); for any other noise (a range, Poisson-Gaussian) it gets each image's sigma
    as scikit-image estimates it ("bm3d (estimated sigma)")."""
    if not getattr(filters, "has_bm3d", lambda: False)():
        return None
    if isinstance(corrupt, noises.PixelNoise) and corrupt.kind == "gaussian" and corrupt.high is None:
        return "bm3d", lambda image: filters.bm3d(image, corrupt.amount)

    def estimated(image):
        from skimage.restoration import estimate_sigma

        sigma = float(np.mean(estimate_sigma(image, channel_axis=-1)))
        return filters.bm3d(image, max(sigma, 1e-3))

    return "bm3d (estimated sigma)", estimated
