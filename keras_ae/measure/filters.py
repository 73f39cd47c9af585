"""Classical denoisers, each tuned on the validation images it is given, as the yardstick for a denoising AE.

A learned denoiser is only interesting if it beats what a few lines of signal processing achieve with the same
information, so every method here gets its parameters by grid search on the validation (noisy, clean) pairs,
the same images the autoencoder is scored on. Numbers in, numbers out: images are (N, H, W, C) float32 in [0, 1].

`blur_contrast` (a Gaussian blur, then the contrast curve clip((y - b)·a, 0, 1)) exists because on near-binary
images such as digits blur alone leaves a grey haze; its grid contains a=1, b=0, so it never does worse than
`gaussian_blur` on the tuning images. `nl_means` and `tv` are scikit-image's (a dependency of keras-ae).

`bm3d` is the classical state of the art for Gaussian noise, from the `bm3d` package (the `bench` extra; callers
check `has_bm3d()` and skip it when missing). It is not tuned: it is told the true noise sigma.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from keras_ae.errors import UserError
from keras_ae.measure.metrics import psnr

GRIDS = {
    "gaussian_blur": {"sigma": [0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0]},
    "blur_contrast": {
        "sigma": [0.5, 0.75, 1.0, 1.25, 1.5, 2.0],
        "a": [1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0],
        "b": [round(0.025 * i, 3) for i in range(21)],
    },
    # Fixed patch geometry, tuned filtering strength: h dominates the result and the rest only costs time.
    "nl_means": {"h": [0.02, 0.04, 0.06, 0.08, 0.1, 0.125, 0.15, 0.175, 0.2, 0.25, 0.3, 0.4]},
    "tv": {"weight": [0.02, 0.04, 0.07, 0.1, 0.15, 0.2, 0.3, 0.5, 0.8]},
}
NAMES = tuple(GRIDS)
NEEDS_SKIMAGE = ("nl_means", "tv")
NL_MEANS_PATCH = {"patch_size": 5, "patch_distance": 6}


def _has_skimage() -> bool:
    try:
        import skimage.restoration  # noqa: F401
    except ImportError:
        return False
    return True


def available() -> list[str]:
    """The denoisers that can run in this environment."""
    return [name for name in NAMES if name not in NEEDS_SKIMAGE or _has_skimage()]


def _check(images) -> np.ndarray:
    images = np.asarray(images, np.float32)
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"expected images shaped (N, H, W, C) with C = 1 or 3, got {images.shape}")
    return images


def _blur(images, sigma):
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(images, sigma=(0, sigma, sigma, 0))


def _contrast(images, a, b):
    return np.clip((images - b) * a, 0.0, 1.0)


def _per_image(function, images, **kwargs):
    return np.stack([function(image, channel_axis=-1, **kwargs) for image in images]).reshape(images.shape)


def _nl_means(images, h):
    from skimage.restoration import denoise_nl_means

    return _per_image(denoise_nl_means, images, h=h, fast_mode=True, **NL_MEANS_PATCH)


def _tv(images, weight):
    from skimage.restoration import denoise_tv_chambolle

    return _per_image(denoise_tv_chambolle, images, weight=weight)


def apply(name: str, noisy: np.ndarray, **params) -> np.ndarray:
    """Denoise `noisy` with method `name` at the given parameters (see `GRIDS` for their names)."""
    noisy = _check(noisy)
    _require(name)
    if name == "gaussian_blur":
        out = _blur(noisy, params["sigma"])
    elif name == "blur_contrast":
        out = _contrast(_blur(noisy, params["sigma"]), params["a"], params["b"])
    elif name == "nl_means":
        out = _nl_means(noisy, params["h"])
    else:
        out = _tv(noisy, params["weight"])
    return np.clip(out, 0.0, 1.0).astype(np.float32)


@dataclass
class Denoiser:
    """A method with its tuned parameters; `tuning_psnr` is its score on the images it was tuned on."""

    name: str
    params: dict = field(default_factory=dict)
    tuning_psnr: float = float("nan")

    def __call__(self, noisy: np.ndarray) -> np.ndarray:
        return apply(self.name, noisy, **self.params)


def _require(name):
    if name not in GRIDS:
        raise UserError(f"unknown denoiser {name!r} (valid: {', '.join(NAMES)})")
    if name not in available():
        raise UserError(f"denoiser {name} needs scikit-image: pip install scikit-image")


def tune(name: str, noisy_val: np.ndarray, clean_val: np.ndarray, max_images: int = 200, seed: int = 0) -> Denoiser:
    """Grid-search `name`'s parameters for the best PSNR on (a random subset of `max_images` of) the given pairs."""
    _require(name)
    noisy_val, clean_val = _check(noisy_val), _check(clean_val)
    if noisy_val.shape != clean_val.shape:
        raise ValueError(f"noisy and clean images differ in shape: {noisy_val.shape} vs {clean_val.shape}")
    if len(noisy_val) > max_images:
        keep = np.sort(np.random.default_rng(seed).choice(len(noisy_val), max_images, replace=False))
        noisy_val, clean_val = noisy_val[keep], clean_val[keep]

    grid = GRIDS[name]
    best_score, best_params = -np.inf, None
    if name == "blur_contrast":  # blur once per sigma, then the contrast curve is cheap
        for sigma in grid["sigma"]:
            blurred = _blur(noisy_val, sigma)
            for a, b in itertools.product(grid["a"], grid["b"]):
                score = psnr(clean_val, _contrast(blurred, a, b))
                if score > best_score:
                    best_score, best_params = score, {"sigma": sigma, "a": a, "b": b}
    else:
        for values in itertools.product(*grid.values()):
            params = dict(zip(grid, values, strict=True))
            score = psnr(clean_val, apply(name, noisy_val, **params))
            if score > best_score:
                best_score, best_params = score, params
    return Denoiser(name, best_params, float(best_score))


def best_classical(
    noisy_val: np.ndarray, clean_val: np.ndarray, names=None, max_images: int = 200, seed: int = 0
) -> dict[str, tuple[Denoiser, float]]:
    """Tune each method (by default all that can run here) and score it on all the given pairs.

    Returns name -> (denoiser, PSNR in dB) in the order of `names`.
    """
    results = {}
    for name in names or available():
        denoiser = tune(name, noisy_val, clean_val, max_images=max_images, seed=seed)
        results[name] = (denoiser, psnr(clean_val, denoiser(noisy_val)))
    return results


# -- BM3D: the classical state of the art, told the noise level (an optional extra) ---------------------------------
def has_bm3d() -> bool:
    """Whether the `bm3d` package (the `bench` extra) is installed."""
    try:
        import bm3d  # noqa: F401
    except ImportError:
        return False
    return True


def bm3d(noisy: np.ndarray, sigma: float) -> np.ndarray:
    """BM3D (Dabov et al., 2007) through the `bm3d` package, told the noise's standard deviation `sigma` (in the
    images' units: 25/255 for sigma 25 on 8-bit images). (H, W), (H, W, C) or (N, H, W, C) float in [0, 1]; every
    2-D channel is denoised on its own; output clipped to [0, 1]. Slow: 20-60 s for a 512x512 image on 2 cores.

    Not tuned like the filters above: it is given the true sigma, which a blind denoiser is not.
    """
    if not has_bm3d():
        raise UserError("BM3D needs the bm3d package: pip install 'keras-ae[bench]'")
    if sigma <= 0 or not np.isfinite(sigma):
        raise UserError(f"BM3D needs a positive noise sigma, got {sigma}")
    images = np.asarray(noisy, np.float32)
    if images.ndim == 4:
        return np.stack([bm3d(image, sigma) for image in images])
    if images.ndim == 3:
        return np.stack([bm3d(images[..., c], sigma) for c in range(images.shape[-1])], axis=-1)
    if images.ndim != 2:
        raise ValueError(f"expected (H, W), (H, W, C) or (N, H, W, C) images, got {images.shape}")
    import bm3d as bm3d_package

    return np.clip(bm3d_package.bm3d(images, sigma_psd=float(sigma)), 0.0, 1.0).astype(np.float32)
