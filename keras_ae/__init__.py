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
import importlib.abc
import importlib.util
import sys
import warnings

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
    "inference": "keras_ae.io",
    "judge": "keras_ae.generate.judge",
    "latent": "keras_ae.generate.latent",
    "noise": "keras_ae.denoise.noise",
    "plots": "keras_ae.measure.plots",
    "projector": "keras_ae.measure.projector",
    "tiling": "keras_ae.denoise.tiling",
}


# Every module that defines a registered Keras layer: imported as soon as Keras is, so that after `import keras_ae`
# `keras.saving.load_model(path, safe_mode=True)` opens every model keras-ae writes (issue 17), while
# `import keras_ae` alone still starts neither Keras nor TensorFlow.
LAYER_MODULES = ("keras_ae.models", "keras_ae.codec.rounding", "keras_ae.classify.classifier")


def register_layers() -> None:
    """Import every module that registers a layer with Keras (`LAYER_MODULES`)."""
    for module in LAYER_MODULES:
        importlib.import_module(module)


class _RegisterWhenKerasLoads(importlib.abc.MetaPathFinder):
    """Runs `register_layers` as soon as both Keras and TensorFlow are imported, whichever comes first (either
    may import the other half-way through its own import)."""

    NAMES = ("keras", "tensorflow")

    def __init__(self):
        self.finding = False

    def find_spec(self, name, path=None, target=None):
        if name not in self.NAMES or self.finding:
            return None
        self.finding = True
        try:
            spec = importlib.util.find_spec(name)
        finally:
            self.finding = False
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_register(module):
            exec_module(module)
            _register_when_ready(name)

        spec.loader.exec_module = exec_then_register
        return spec


def _register_when_ready(just_loaded: str | None = None) -> bool:
    """`register_layers` once Keras and TensorFlow are both fully imported; False while they are not."""
    for name in _RegisterWhenKerasLoads.NAMES:
        module = sys.modules.get(name)
        if module is None or (name != just_loaded and getattr(module.__spec__, "_initializing", False)):
            return False
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _RegisterWhenKerasLoads)]
    try:
        register_layers()
    except Exception as error:  # noqa: BLE001 - never break `import keras` itself
        warnings.warn(f"keras-ae could not register its layers with Keras: {error}", stacklevel=2)
    return True


if not _register_when_ready() and not any(isinstance(f, _RegisterWhenKerasLoads) for f in sys.meta_path):
    sys.meta_path.insert(0, _RegisterWhenKerasLoads())


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"keras_ae.{name}")
    if name in _MOVED:
        return importlib.import_module(_MOVED[name])
    raise AttributeError(f"module 'keras_ae' has no attribute {name!r}")


__all__ = sorted(_LAZY) + sorted(_SUBMODULES)
