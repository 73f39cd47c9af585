"""The builders: shapes for awkward sizes, shared weights, safe round trips, and MSE training that works."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from keras_ae import conv_autoencoder, dense_autoencoder, load
from keras_ae.errors import UserError
from keras_ae.measure.metrics import psnr


@pytest.mark.parametrize("builder", [conv_autoencoder, dense_autoencoder])
@pytest.mark.parametrize("shape", [(8, 8, 1), (25, 25, 1), (28, 28, 1), (32, 32, 3), (64, 64, 3), (25, 31, 3)])
def test_any_image_size_comes_back_in_its_own_shape(builder, shape):
    ae = builder(shape, bottleneck=6)
    x = np.random.default_rng(0).random((3, *shape), dtype=np.float32)
    codes = ae.encoder(x, training=False)
    assert tuple(codes.shape) == (3, 6)
    assert tuple(ae.decoder(codes, training=False).shape) == (3, *shape)
    assert tuple(ae.autoencoder(x, training=False).shape) == (3, *shape)
    assert ae.encoder.get_layer("bottleneck").output.shape[-1] == 6


def test_three_views_share_their_weights():
    ae = conv_autoencoder((28, 28, 1), filters=(8, 16), bottleneck=4)
    assert ae.autoencoder.get_layer("encoder") is ae.encoder
    assert ae.autoencoder.get_layer("decoder") is ae.decoder
    x = np.random.default_rng(1).random((2, 28, 28, 1), dtype=np.float32)
    before = ae.reconstruct(x)
    kernel = ae.encoder.get_layer("bottleneck").kernel
    kernel.assign(kernel.numpy() * 2.0)
    np.testing.assert_allclose(ae.reconstruct(x), ae.decode(ae.embed(x)), atol=1e-5)
    assert not np.allclose(before, ae.reconstruct(x))


@pytest.mark.parametrize(
    "builder,options",
    [
        (conv_autoencoder, {"upsampling": "resize", "batch_norm": True, "dropout": 0.2, "sparsity": 1e-4}),
        (conv_autoencoder, {"upsampling": "transpose", "activation": "gelu", "output": "sigmoid"}),
        (dense_autoencoder, {"batch_norm": True, "dropout": 0.1, "sparsity": 1e-3, "activation": "elu"}),
    ],
)
def test_keras_file_round_trip_in_safe_mode(tmp_path, builder, options):
    ae = builder((25, 25, 1), bottleneck=5, **options)
    x = np.random.default_rng(2).random((4, 25, 25, 1), dtype=np.float32)
    path = tmp_path / "m.keras"
    ae.save(str(path))
    restored = keras.saving.load_model(str(path), safe_mode=True)
    np.testing.assert_array_equal(restored.predict(x, verbose=0), ae.reconstruct(x))
    again = load(path)
    np.testing.assert_array_equal(again.embed(x), ae.embed(x))
    assert again.code_size == 5
    names = {type(layer).__name__ for model in (ae.encoder, ae.decoder) for layer in model.layers}
    assert "Lambda" not in names


@pytest.mark.parametrize("bottleneck", [0, -3, 784, 1000])
def test_bottleneck_must_be_narrower_than_the_input(bottleneck):
    with pytest.raises(UserError, match="--bottleneck"):
        conv_autoencoder((28, 28, 1), bottleneck=bottleneck)
    with pytest.raises(UserError, match="--bottleneck"):
        dense_autoencoder((28, 28, 1), bottleneck=bottleneck)


def test_clip_output_is_linear_in_training_and_clipped_at_inference():
    from keras_ae.models.layers import ClipToRange

    layer = ClipToRange()
    x = np.array([[-0.5, 0.3, 1.7]], np.float32)
    np.testing.assert_allclose(layer(x, training=True), x)
    np.testing.assert_allclose(layer(x, training=False), [[0.0, 0.3, 1.0]])


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
