"""keras-ae: autoencoders for Keras 3 / TensorFlow.

    import keras_ae
    data = keras_ae.data.load("mnist-5k")
    ae = keras_ae.conv_autoencoder(data.shape, bottleneck=16)
    keras_ae.training.fit(ae.autoencoder, data.batches("train", 64, shuffle=True),
                          data.batches("validation", 64), epochs=10, workdir="runs/demo")
    codes = ae.embed(images)            # e(x), from the encoder alone
    images = ae.decode(codes)           # from the decoder alone

Submodules load on first use, so `import keras_ae` (and `keras-ae --help`) does not start TensorFlow.
docs/architecture.md maps the packages.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "Autoencoder": "keras_ae.models",
    "conv_autoencoder": "keras_ae.models",
    "dense_autoencoder": "keras_ae.models",
    "load": "keras_ae.models",
    "UserError": "keras_ae.errors",
}
_SUBMODULES = {
    "anomaly", "classify", "codec", "data", "denoise", "distribute", "errors", "export", "generate", "measure",
    "models", "runs", "training",
}  # fmt: skip
# Old names of modules that moved (issue 15): `keras_ae.evaluate` is now `keras_ae.measure.metrics`, and so on.
_MOVED = {
    "baselines": "keras_ae.measure.baselines",
    "denoisers": "keras_ae.measure.filters",
    "evaluate": "keras_ae.measure.metrics",
    "judge": "keras_ae.generate.judge",
    "latent": "keras_ae.generate.latent",
    "noise": "keras_ae.denoise.noise",
    "plots": "keras_ae.measure.plots",
    "projector": "keras_ae.measure.projector",
    "tiling": "keras_ae.denoise.tiling",
}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"keras_ae.{name}")
    if name in _MOVED:
        return importlib.import_module(_MOVED[name])
    raise AttributeError(f"module 'keras_ae' has no attribute {name!r}")


__all__ = sorted(_LAZY) + sorted(_SUBMODULES)
