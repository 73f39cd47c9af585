"""Adversarially constrained interpolation (ACAI): train an autoencoder so that mixes of codes decode to data.

A plain autoencoder is only ever asked to decode the codes of real images. Half-way between the code of a
face with glasses and one without, it decodes a face with faint glasses: a blend no image in the data looks
like. ACAI (Berthelot, Raffel, Roy and Goodfellow, "Understanding and improving interpolation in autoencoders
via an adversarial regularizer", ICLR 2019) adds a critic that sees the decoding of α·e(x₁) + (1 − α)·e(x₂),
α ≤ ½, and tries to guess α; the autoencoder is rewarded when the critic answers 0, i.e. when a mix looks as
real as a reconstruction. The critic also sees γ·x + (1 − γ)·x̂ and must answer 0 there, so it judges
realism, not mere reconstruction error.

`AdversarialInterpolation` wraps a built `Autoencoder` for training only: `keras_ae.training.fit` compiles and
fits it like any model (the autoencoder's optimizer, schedule and loss), the critic keeps its own Adam. Save
the wrapped autoencoder (`ae.save`), not the wrapper: the saved model is an ordinary keras-ae model.
"""

from __future__ import annotations

import math

import keras
from keras import layers

from keras_ae.errors import UserError
from keras_ae.models.autoencoder import Autoencoder

DEFAULT_GAMMA = 0.2


def interpolation_critic(input_shape, filters=(32, 64), name: str = "critic") -> keras.Model:
    """image -> one number per image: a small conv net, each stage a conv and a strided conv, leaky ReLU,
    ending in one channel averaged over the image (as in the ACAI paper). On 32x32 smileys a critic as wide
    as the (16, 32) autoencoder let faint glasses pass at midpoints; (32, 64) catches them."""
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    h = inputs
    for width in filters:
        h = layers.Conv2D(width, 3, padding="same", activation="leaky_relu")(h)
        h = layers.Conv2D(width, 3, strides=2, padding="same", activation="leaky_relu")(h)
    h = layers.Conv2D(1, 3, padding="same")(h)
    return keras.Model(inputs, layers.GlobalAveragePooling2D(name="alpha")(h), name=name)


class AdversarialInterpolation(keras.Model):
    """Trains `ae` with `weight`·critic(decode(mix))² added to its loss, and the critic beside it.

    Each batch is mixed with itself rolled by one (the batches come shuffled), with α ~ U(0, ½) per pair.
    `weight` is ACAI's λ (the paper's 0.5 is for its sum-over-pixels loss scale; keras-ae's losses are means,
    so useful weights are smaller); `gamma` is how much of the original image the critic's "real" examples
    keep. Evaluation (`validation_data`) is the autoencoder's plain loss.
    """

    def __init__(
        self,
        ae: Autoencoder,
        critic: keras.Model | None = None,
        weight: float = 0.1,
        gamma: float = DEFAULT_GAMMA,
        critic_learning_rate: float = 1e-3,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not weight > 0 or not math.isfinite(weight):
            raise UserError(f"--critic-weight must be a positive number, got {weight}")
        if not 0 <= gamma <= 1:
            raise UserError(f"the critic's gamma must lie in [0, 1], got {gamma}")
        self.encoder, self.decoder = ae.encoder, ae.decoder
        self.critic = critic or interpolation_critic(ae.input_shape)
        self.weight = float(weight)
        self.gamma = float(gamma)
        self.critic_optimizer = keras.optimizers.Adam(critic_learning_rate)
        # built here, under the strategy the model is made in, not lazily inside a replica's first step
        self.critic_optimizer.build(self.critic.trainable_variables)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.critic_loss_tracker = keras.metrics.Mean(name="critic_loss")
        self.realism_tracker = keras.metrics.Mean(name="mix_realism")
        self.built = True  # every part is a built functional model (and BackupAndRestore needs a built model)

    def call(self, inputs, training=False):
        return self.decoder(self.encoder(inputs, training=training), training=training)

    @property
    def metrics(self):
        # Keras resets these every epoch; "loss" is the autoencoder's own (compiled) loss, as in any keras-ae run.
        return [self.loss_tracker, self.critic_loss_tracker, self.realism_tracker]

    def train_step(self, data):
        import tensorflow as tf

        x, y = data[0], data[1]
        alpha = keras.random.uniform((tf.shape(x)[0], 1), 0.0, 0.5, seed=self.seed_generator)
        ae_weights = self.encoder.trainable_variables + self.decoder.trainable_variables
        critic_weights = self.critic.trainable_variables
        with tf.GradientTape() as ae_tape, tf.GradientTape() as critic_tape:
            codes = self.encoder(x, training=True)
            reconstruction = self.decoder(codes, training=True)
            mixed = self.decoder(alpha * codes + (1.0 - alpha) * tf.roll(codes, 1, axis=0), training=True)
            guess_on_mix = self.critic(mixed, training=True)
            realism = tf.reduce_mean(tf.square(guess_on_mix))
            loss = self.compute_loss(x=x, y=y, y_pred=reconstruction, training=True)
            # compute_loss divides by the replicas in sync (their gradients are summed); the critic's terms too
            replicas = tf.distribute.get_strategy().num_replicas_in_sync
            ae_loss = self.optimizer.scale_loss(loss + self.weight * realism / replicas)
            blend = self.gamma * y + (1.0 - self.gamma) * tf.stop_gradient(reconstruction)
            critic_loss = tf.reduce_mean(tf.square(guess_on_mix - alpha)) + tf.reduce_mean(
                tf.square(self.critic(blend, training=True))
            )
            critic_scaled = critic_loss / replicas
        self.optimizer.apply_gradients(zip(ae_tape.gradient(ae_loss, ae_weights), ae_weights, strict=True))
        self.critic_optimizer.apply_gradients(
            zip(critic_tape.gradient(critic_scaled, critic_weights), critic_weights, strict=True)
        )
        self.loss_tracker.update_state(loss * replicas)  # the plain loss, as on one device
        self.critic_loss_tracker.update_state(critic_loss)
        self.realism_tracker.update_state(realism)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        import tensorflow as tf

        x, y = data[0], data[1]
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        loss = self.compute_loss(x=x, y=y, y_pred=self(x), training=False)
        self.loss_tracker.update_state(loss * replicas)
        return {"loss": self.loss_tracker.result()}
