"""Autoencoder builders. Each returns an `Autoencoder` with `encoder`, `decoder` and `autoencoder` models."""

from keras_ae.errors import UserError
from keras_ae.models.autoencoder import BOTTLENECK_NAME, Autoencoder, load
from keras_ae.models.conv import conv_autoencoder
from keras_ae.models.conv1d import conv1d_autoencoder
from keras_ae.models.dense import dense_autoencoder
from keras_ae.models.layers import ClipToRange  # noqa: F401 - registers the layer before any model loads
from keras_ae.models.vae import VariationalSampling  # noqa: F401 - registers the sampling layer

BUILDERS = {"dense": dense_autoencoder, "conv": conv_autoencoder, "conv1d": conv1d_autoencoder}


def build(
    arch: str,
    input_shape,
    bottleneck: int,
    loss: str = "mse",
    filters=None,
    hidden=None,
    variational: bool = False,
    kl_weight: float = 1.0,
    **options,
):
    """Build by name (`--arch`): the decoder's output suits the loss (clip for `mse`, sigmoid for `bce`).

    `variational=True` makes it a VAE (see `keras_ae.models.vae`), its KL term weighted by `kl_weight`.
    `options` are the builders' own (`activation`, `batch_norm`, `dropout`, ...): one that no builder takes is
    refused, one that only another architecture takes (`upsampling` for `dense`) is left out."""
    check_options(options)
    if variational:
        from keras_ae.models.vae import variational as make_variational

        plain = build(arch, input_shape, bottleneck, loss, filters, hidden, **options)
        return make_variational(plain, kl_weight)
    if arch not in BUILDERS:
        raise UserError(f"--arch must be one of {', '.join(BUILDERS)}, got '{arch}'")
    options["output"] = "sigmoid" if loss == "bce" else "clip"
    if options.get("standardize") is not None:
        options["output"] = "linear"  # standardised vectors are unbounded
    if arch == "conv1d":
        if len(input_shape) != 2:
            raise UserError(f"--arch conv1d needs signals (T, C), got data of shape {tuple(input_shape)}")
        options.update(output="linear", filters=tuple(filters or (16, 32)))
    elif arch == "conv":
        if len(input_shape) != 3:
            raise UserError(f"--arch conv needs images (H, W, C), got data of shape {tuple(input_shape)}")
        options["filters"] = tuple(filters or (32, 64))
    else:
        options["hidden"] = tuple(hidden or (512, 256))
    builder = BUILDERS[arch]
    return builder(input_shape, bottleneck=bottleneck, **_taken_by(builder, options))


def _parameters(builder) -> set[str]:
    import inspect

    return {name for name, p in inspect.signature(builder).parameters.items() if p.kind is not p.VAR_KEYWORD}


def _taken_by(builder, options: dict) -> dict:
    """The options `builder` takes; the others belong to another architecture's builder."""
    return {name: value for name, value in options.items() if name in _parameters(builder)}


def check_options(options: dict) -> None:
    """Refuse, in one line, a model option that no builder takes (a typo would otherwise be dropped silently)."""
    taken = set().union(*(_parameters(b) for b in BUILDERS.values())) - {"input_shape", "bottleneck", "output"}
    unknown = sorted(set(options) - taken)
    if unknown:
        raise UserError(f"unknown model option '{unknown[0]}' (options: {', '.join(sorted(taken))})")


DENOISER_ARCHS = ("conv", "dense", "unet")


def build_denoiser(arch: str, input_shape, bottleneck: int = 32, filters=None, **options):
    """An image -> image model for denoising, and the `Autoencoder` behind it (None for the skip-connected U-Net).

    `filters` are the U-Net's channels per level (default 16, 32, 48) or the conv autoencoder's per stage."""
    from keras_ae.models.unet import unet_denoiser

    if arch == "unet":
        return (unet_denoiser(input_shape, filters=tuple(filters)) if filters else unet_denoiser(input_shape)), None
    ae = build(arch, input_shape, bottleneck, filters=filters, **options)
    return ae.autoencoder, ae


__all__ = [
    "BOTTLENECK_NAME",
    "BUILDERS",
    "DENOISER_ARCHS",
    "Autoencoder",
    "build",
    "build_denoiser",
    "conv1d_autoencoder",
    "conv_autoencoder",
    "dense_autoencoder",
    "load",
]
