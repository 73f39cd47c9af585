"""The builders beyond the shared checks of test_builders.py: bottleneck and option checks, MSE training that
works, fingerprints."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from keras_ae import conv_autoencoder, dense_autoencoder, load
from keras_ae.errors import UserError
from keras_ae.measure.metrics import psnr
from keras_ae.models import build


@pytest.mark.parametrize("bottleneck", [0, -3, 784, 1000])
def test_bottleneck_must_be_narrower_than_the_input(bottleneck):
    with pytest.raises(UserError, match="--bottleneck"):
        conv_autoencoder((28, 28, 1), bottleneck=bottleneck)
    with pytest.raises(UserError, match="--bottleneck"):
        dense_autoencoder((28, 28, 1), bottleneck=bottleneck)


@pytest.mark.slow
def test_conv_autoencoder_trained_with_mse_learns_digits_instead_of_collapsing(mnist_small):
    """A sigmoid output trained with MSE collapses to the all-black image; the builder's must not."""
    (x_train, _), (x_val, _) = mnist_small
    keras.utils.set_random_seed(0)
    ae = conv_autoencoder((28, 28, 1), filters=(16, 32), bottleneck=16, dense_units=128)
    ae.autoencoder.compile(keras.optimizers.Adam(1e-3), "mse")
    history = ae.autoencoder.fit(x_train, x_train, epochs=4, batch_size=32, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.6 * losses[0], losses
    reconstructions = ae.reconstruct(x_val)
    all_black = psnr(x_val, np.zeros_like(x_val))
    assert psnr(x_val, reconstructions) > all_black + 5
    assert reconstructions.std() > 0.2  # digits, not a uniform background


def test_fingerprint_survives_a_save_and_changes_with_any_weight(tmp_path):
    ae = dense_autoencoder((8, 8, 1), bottleneck=4)
    ae.save(str(tmp_path / "m.keras"))
    assert load(str(tmp_path / "m.keras")).fingerprint() == ae.fingerprint()
    before = ae.fingerprint()
    kernel = ae.encoder.weights[0]
    kernel.assign(kernel.numpy() + np.float32(1e-6) * (np.arange(kernel.shape[-1]) == 0))
    assert ae.fingerprint() != before


def test_build_refuses_an_option_no_builder_takes_and_leaves_out_another_archs():
    with pytest.raises(UserError, match="unknown model option 'dropuot'") as error:
        build("conv", (8, 8, 1), 4, dropuot=0.2)
    assert "dropout" in str(error.value) and "\n" not in str(error.value)  # it lists the options there are
    with pytest.raises(UserError, match="unknown model option 'colour'"):
        build("conv1d", (16, 1), 4, variational=True, colour=3)
    dense = build("dense", (8, 8, 1), 4, hidden=(8,), upsampling="transpose", filters=(4,), dense_units=8)
    assert dense.code_size == 4 and "UpSampling2D" not in {type(layer).__name__ for layer in dense.decoder.layers}
