"""Every builder and every custom layer through the shared checks of `harness.py`: build on a tiny input,
`.keras` safe-mode round trip, SavedModel and TFLite parity, mixed precision. Each class says only how to
build its model, small enough that the checks take seconds."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from harness import AnySizeImageChecks, LayerChecks, ModelChecks

from keras_ae.models import build, conv1d_autoencoder, conv_autoencoder, dense_autoencoder

AWKWARD_SHAPES = ((25, 31, 3), (28, 28, 1))  # sizes no stage divides: padded on the way in, cropped on the way out


# -- builders ------------------------------------------------------------------------------------------------
class TestDenseAutoencoder(ModelChecks):
    shapes = AWKWARD_SHAPES
    variants = ({"batch_norm": True, "dropout": 0.1, "sparsity": 1e-3, "activation": "elu", "standardize": (0.5, 0.2)},)

    def build(self, input_shape, **options):
        return dense_autoencoder(input_shape, hidden=(16,), bottleneck=4, **options)


class TestConvAutoencoder(ModelChecks):
    shapes = AWKWARD_SHAPES
    variants = ({"batch_norm": True, "dropout": 0.2, "sparsity": 1e-4, "activation": "gelu", "output": "sigmoid"},)

    def build(self, input_shape, **options):
        return conv_autoencoder(input_shape, filters=(4, 8), bottleneck=3, dense_units=8, **options)


class TestConvTransposeAutoencoder(ModelChecks):
    """Conv2DTranspose decoders convert to full-integer TFLite too."""

    quantize = ("float32", "int8")

    def build(self, input_shape, **options):
        return conv_autoencoder(input_shape, filters=(4,), bottleneck=3, dense_units=0, upsampling="transpose")


class TestConv1dAutoencoder(ModelChecks):
    input_shape = (32, 2)
    shapes = ((37, 1), (50, 3), (13, 2))
    variants = ({"standardize": ([0.5, 0.4], [0.25, 0.3])},)

    def build(self, input_shape, **options):
        return conv1d_autoencoder(input_shape, filters=(4, 8), bottleneck=3, kernel_size=3, dense_units=8, **options)


class TestVariationalAutoencoder(ModelChecks):
    shapes = AWKWARD_SHAPES[:1]

    def build(self, input_shape, **options):
        return build("conv", input_shape, 3, filters=(4,), variational=True, dense_units=8, **options)


class TestUnetDenoiser(ModelChecks):
    shapes = AWKWARD_SHAPES[:1]

    def build(self, input_shape, **options):
        from keras_ae.models.unet import unet_denoiser

        return unet_denoiser(input_shape, filters=(4, 8), **options)


class TestKerasIoDenoiser(ModelChecks):
    shapes = AWKWARD_SHAPES[:1]

    def build(self, input_shape, **options):
        from keras_ae.models.reference import keras_io_denoiser

        return keras_io_denoiser(input_shape)


class TestClassifierEnsemble(ModelChecks):
    """Two classifiers averaged (`--last-round-networks`): one file, one export, as a single classifier."""

    same_shape_output = False

    def build(self, input_shape, **options):
        from keras_ae.classify import classifier as classifiers

        encoder = build("conv", input_shape, 4, filters=(4,), dense_units=8).encoder
        members = [
            classifiers.build_classifier(classifiers.copy_encoder(encoder, initialize=True), list("abc"), hidden=8)
            for _ in range(2)
        ]
        return classifiers.average(members)


class TestPhotoDenoiser(AnySizeImageChecks):
    """Any size: built once, called on 8x8 and 12x20 RGB; exported signatures called on 10x13 (padded to 12x16)."""

    shapes = ((12, 20, 3),)
    export_shape = (10, 13, 1)

    def build(self, input_shape, **options):
        from keras_ae.models.photo import photo_denoiser

        return photo_denoiser(channels=input_shape[-1], filters=(4, 8, 16), **options)

    def test_deepened_denoises_as_the_model_it_grew_from_until_it_trains(self):
        from keras_ae.errors import UserError
        from keras_ae.models.photo import deepened, photo_denoiser

        model = photo_denoiser(channels=1, filters=(4, 8, 16))
        for layer in model.layers:  # a trained-looking model: no zero kernels, so the new blocks must be identities
            layer.set_weights([np.random.default_rng(0).normal(0, 0.1, w.shape) for w in layer.get_weights()])
        deeper = deepened(model, 2)
        x = np.random.default_rng(1).random((2, 12, 20, 1), np.float32)
        assert deeper.count_params() > model.count_params()
        assert "enc2_1_conv1" in {layer.name for layer in deeper.layers}
        np.testing.assert_allclose(deeper(x), model(x), atol=1e-5)
        assert not np.allclose(deeper.get_layer("dec0_1_conv1").get_weights()[0], 0)  # the new blocks can learn
        with pytest.raises(UserError, match="it can only grow"):
            deepened(deeper, 1)


# -- custom layers, each inside the smallest model that uses it -------------------------------------------------
class TestClipToRange(LayerChecks):
    input_shape = (6,)

    def make_layer(self):
        from keras_ae.models.layers import ClipToRange

        return ClipToRange(0.0, 1.0, name="clip")

    def test_linear_in_training_and_clipped_at_inference(self):
        x = np.array([[-0.5, 0.3, 1.7]], np.float32)
        np.testing.assert_allclose(self.make_layer()(x, training=True), x)
        np.testing.assert_allclose(self.make_layer()(x, training=False), [[0.0, 0.3, 1.0]])


class TestStandardize(LayerChecks):
    """The 0.1 layer, kept so old models open: it must still load from its old config and compute the same."""

    input_shape = (6,)

    def make_layer(self):
        from keras_ae.models.layers import Standardize

        return Standardize(np.linspace(0.1, 0.6, 6), np.linspace(0.2, 0.7, 6), name="standardize")

    def test_an_old_config_opens_and_standardises(self):
        from keras_ae.models.layers import Standardize

        old = {"name": "standardize", "mean": [1.0, 2.0], "std": [2.0, 4.0], "invert": False}
        layer = Standardize.from_config(old)
        np.testing.assert_allclose(layer(np.array([[3.0, 10.0]], np.float32)), [[1.0, 2.0]])


class TestReconstructionError(LayerChecks):
    input_shape = (6,)

    def make_layer(self):
        from keras_ae.models.layers import ReconstructionError

        return ReconstructionError(scale=np.linspace(0.5, 1.0, 6), name="score")

    def wrap(self, inputs, layer):
        return layer([inputs, keras.layers.Dense(6, name="reconstruction")(inputs)])


class TestVariationalSampling(LayerChecks):
    input_shape = (6,)

    def make_layer(self):
        from keras_ae.models.vae import VariationalSampling

        return VariationalSampling(kl_weight=0.5, seed=1, name="sampling")

    def wrap(self, inputs, layer):
        return layer([keras.layers.Dense(3, name="mean")(inputs), keras.layers.Dense(3, name="log_var")(inputs)])


class TestQuantizationNoise(LayerChecks):
    input_shape = (6,)

    def make_layer(self):
        from keras_ae.codec.rounding import QuantizationNoise

        return QuantizationNoise(width=0.1, rate_weight=0.01, seed=1, name="quantization_noise")


class TestClassProbabilities(LayerChecks):
    input_shape = (6,)

    def make_layer(self):
        from keras_ae.classify.classifier import ClassProbabilities

        return ClassProbabilities(["cat", "dog", "owl"], name="probabilities")

    def wrap(self, inputs, layer):
        return layer(keras.layers.Dense(3, name="logits")(inputs))


class TestWeakAugment(LayerChecks):
    """Joint training's weak view: moves images while training, the identity at inference (so exports agree)."""

    input_shape = (8, 8, 1)
    same_shape_output = True

    def make_layer(self):
        from keras_ae.classify.augment import WeakAugment

        return WeakAugment(shift=2.0, seed=0, name="weak")

    def wrap(self, inputs, layer):
        return layer(keras.layers.Conv2D(1, 1, name="before")(inputs))


class TestStrongAugment(TestWeakAugment):
    def make_layer(self):
        from keras_ae.classify.augment import StrongAugment

        return StrongAugment(seed=0, name="strong")


def test_every_registered_keras_ae_layer_has_its_class_here():
    """A new custom layer cannot skip the harness: each one keras-ae registers is checked by a class above.
    Registered models (joint training's `JointClassifier`) are tested with their use (tests/test_classify.py)."""
    import keras_ae
    from keras_ae.classify import augment, joint  # noqa: F401 (whether or not another test imported them first)

    keras_ae.register_layers()
    registered = {
        name.split(">", 1)[1]
        for name, cls in keras.saving.get_custom_objects().items()
        if name.startswith("keras_ae>") and not issubclass(cls, keras.Model)
    }

    def every(cls):
        return [cls, *(c for sub in cls.__subclasses__() for c in every(sub))]

    checked = {type(cls().make_layer()).__name__ for cls in every(LayerChecks)[1:]}
    assert len(registered) >= 6 and registered <= checked, sorted(registered - checked)
