"""Train the classifier and the autoencoder together, in the spirit of Ladder networks (Rasmus et al., 2015).

One network: the masked autoencoder's encoder, shared by a classifier head and by the autoencoder's decoder.
Every step sees a batch of labelled images and `ratio` times as many unlabeled ones, and lowers the sum of

* the cross-entropy of the labelled images (weakly augmented: `WeakAugment`);
* consistency (FixMatch, Sohn et al., 2020): where the network is sure of an unlabeled image's weakly moved
  view (its top probability >= `threshold`), that class is the target of the same image strongly moved and
  cut (`StrongAugment`); the rest count for nothing. `unlabeled_weight` weighs it;
* the masked autoencoder's own loss on `reconstruct` of the unlabeled images (`mask` of their pixels zeroed,
  the squared error of the rebuilt image), weighted by `reconstruction_weight`, so the encoder keeps what
  the autoencoder learned while the classifier pulls on it. With weight 0 the decoder is left alone (not
  even computed): that is the equally tuned baseline without an autoencoder, when the encoder starts from
  random weights.

    model = build_joint(ae.encoder, ae.decoder, class_names)            # copies of both
    fit_joint(model, images, labels, unlabeled, steps=2000)
    model.classifier                                                     # image -> probabilities, to export

The labelled and both views of the unlabeled images go through the classifier as one batch, so its batch norm
sees them together (as FixMatch does); Adam keeps an exponential moving average of the weights, which the
network takes at the end of training.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from keras_ae.classify.augment import StrongAugment, WeakAugment
from keras_ae.classify.classifier import build_classifier, copy_encoder
from keras_ae.errors import UserError
from keras_ae.training import build_optimizer, without_autotune_model


@keras.saving.register_keras_serializable(package="keras_ae")
class JointClassifier(keras.Model):
    """A classifier (`classifier`: image -> probabilities, its encoder shared) and a `decoder` of that
    encoder's codes, trained together by `train_step` (see the module). Calling it classifies."""

    def __init__(
        self,
        classifier: keras.Model,
        decoder: keras.Model,
        threshold: float = 0.95,
        unlabeled_weight: float = 1.0,
        reconstruction_weight: float = 1.0,
        mask: float = 0.5,
        reconstruct: int = 32,
        weak=None,
        strong=None,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_joint_settings(threshold, reconstruction_weight, unlabeled_weight=unlabeled_weight, mask=mask)
        self.classifier, self.decoder = classifier, decoder
        if not reconstruction_weight:
            decoder.trainable = False  # weight 0: the decoder neither trains nor runs
        self.threshold, self.unlabeled_weight = float(threshold), float(unlabeled_weight)
        self.reconstruction_weight, self.mask, self.seed = float(reconstruction_weight), float(mask), seed
        self.reconstruct = int(reconstruct)
        offset = 0 if seed is None else seed
        self.weak = weak if weak is not None else WeakAugment(seed=None if seed is None else offset + 1)
        self.strong = strong if strong is not None else StrongAugment(seed=None if seed is None else offset + 2)
        self.mask_seed = keras.random.SeedGenerator(None if seed is None else offset + 3)
        self.trackers = {
            name: keras.metrics.Mean(name=name)
            for name in ("loss", "supervised", "consistency", "reconstruction", "confident")
        }
        self.built = True

    @property
    def encoder(self) -> keras.Model:
        return next(layer for layer in self.classifier.layers if isinstance(layer, keras.Model))

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, images, training=False):
        return self.classifier(images, training=training)

    def reconstruction_loss(self, images, training=False):
        """The masked autoencoder's loss: the mean squared error of `images` rebuilt from a masked copy."""
        shape = tf.concat([tf.shape(images)[:-1], [1]], axis=0)
        kept = keras.random.uniform(shape, seed=self.mask_seed) >= self.mask
        masked = tf.where(kept, images, tf.zeros_like(images))
        rebuilt = self.decoder(self.encoder(masked, training=training), training=training)
        return tf.reduce_mean(tf.square(rebuilt - images))

    def train_step(self, data):
        (labelled, targets), unlabeled = data
        views = [self.weak(labelled, training=True), self.weak(unlabeled, training=True)]
        views.append(self.strong(unlabeled, training=True))
        sizes = [tf.shape(v)[0] for v in views]
        variables = self.trainable_variables  # in the order the optimizer's moving average keeps them
        with tf.GradientTape() as tape:
            probabilities = self.classifier(tf.concat(views, axis=0), training=True)
            labelled_p, weak_p, strong_p = tf.split(probabilities, sizes, axis=0)
            supervised = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(targets, labelled_p))
            weak_p = tf.stop_gradient(weak_p)
            confident = tf.cast(tf.reduce_max(weak_p, axis=1) >= self.threshold, tf.float32)
            pseudo = tf.argmax(weak_p, axis=1)
            consistency = tf.reduce_mean(confident * keras.losses.sparse_categorical_crossentropy(pseudo, strong_p))
            loss = supervised + self.unlabeled_weight * consistency
            reconstruction = tf.constant(0.0)
            if self.reconstruction_weight:
                reconstruction = self.reconstruction_loss(unlabeled[: self.reconstruct], training=True)
                loss += self.reconstruction_weight * reconstruction
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        values = {
            "loss": loss,
            "supervised": supervised,
            "consistency": consistency,
            "reconstruction": reconstruction,
            "confident": tf.reduce_mean(confident),
        }
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def get_config(self):
        serialize = keras.saving.serialize_keras_object
        return {
            **super().get_config(),
            "classifier": serialize(self.classifier),
            "decoder": serialize(self.decoder),
            "threshold": self.threshold,
            "unlabeled_weight": self.unlabeled_weight,
            "reconstruction_weight": self.reconstruction_weight,
            "mask": self.mask,
            "reconstruct": self.reconstruct,
            "weak": serialize(self.weak),
            "strong": serialize(self.strong),
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("classifier", "decoder", "weak", "strong"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


def check_joint_settings(threshold, reconstruction_weight, steps=1, ratio=1, unlabeled_weight=1.0, mask=0.5):
    """One-line errors for settings joint training cannot use (named as the recipe's options)."""
    if not 0 < threshold <= 1:
        raise UserError(f"--joint-threshold must be in (0, 1], got {threshold}")
    if reconstruction_weight < 0 or not math.isfinite(reconstruction_weight):
        raise UserError(f"--joint-reconstruction must be 0 or more, got {reconstruction_weight}")
    if steps < 1:
        raise UserError(f"--joint-steps must be at least 1, got {steps}")
    if ratio < 1:
        raise UserError(f"--joint-ratio must be at least 1, got {ratio}")
    if unlabeled_weight < 0:
        raise UserError(f"the consistency weight must be 0 or more, got {unlabeled_weight}")
    if not 0 <= mask < 1:
        raise UserError(f"the reconstruction mask must be in [0, 1), got {mask}")


def build_joint(
    encoder: keras.Model,
    decoder: keras.Model,
    class_names,
    initialize: bool = False,
    hidden: int = 128,
    dropout: float = 0.0,
    **options,
) -> JointClassifier:
    """A `JointClassifier` on copies of `encoder` and `decoder` (the pretrained weights, or fresh ones with
    `initialize`), with a new head (`build_classifier`'s, without dropout by default: the strong view is the
    regulariser, and dropout would blur the weak view's pseudo-labels). `options` go to `JointClassifier`."""
    classifier = build_classifier(copy_encoder(encoder, initialize), class_names, hidden=hidden, dropout=dropout)
    return JointClassifier(classifier, copy_encoder(decoder, initialize), **options)


def fit_joint(
    model: JointClassifier,
    images: np.ndarray,
    labels: np.ndarray,
    unlabeled: np.ndarray,
    steps: int,
    batch_size: int = 32,
    ratio: int = 3,
    learning_rate: float = 1e-3,
    seed: int = 0,
    verbose=0,
    callbacks=(),
) -> dict:
    """Compile `model` (Adam with a moving average of the weights, cosine decay to 5%) and train it for `steps`
    steps of `batch_size` labelled images and `ratio` times as many unlabeled ones; returns the history."""
    check_joint_settings(model.threshold, model.reconstruction_weight, steps, ratio)
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps, alpha=0.05)
    momentum = min(0.99, 1 - 10 / steps)  # the average forgets the starting weights within a tenth of the steps
    model.compile(optimizer=keras.optimizers.Adam(schedule, use_ema=True, ema_momentum=max(momentum, 0.0)))
    build_optimizer(model)
    labelled = tf.data.Dataset.from_tensor_slices((np.asarray(images, np.float32), np.asarray(labels, np.int32)))
    labelled = labelled.shuffle(len(images), seed=seed, reshuffle_each_iteration=True).repeat()
    labelled = labelled.batch(min(batch_size, len(images)), drop_remainder=True)
    pool = tf.data.Dataset.from_tensor_slices(np.asarray(unlabeled, np.float32))
    pool = pool.shuffle(len(unlabeled), seed=seed + 1, reshuffle_each_iteration=True).repeat()
    pool = pool.batch(min(ratio * batch_size, len(unlabeled)), drop_remainder=True)
    ds = tf.data.Dataset.zip((labelled, pool)).prefetch(2)
    epochs = min(steps, 10)  # a few epochs only so that the history has a shape
    history = model.fit(
        without_autotune_model(ds),
        epochs=epochs,
        steps_per_epoch=math.ceil(steps / epochs),
        shuffle=False,
        verbose=verbose,
        callbacks=list(callbacks),
    )
    return {key: [float(v) for v in values] for key, values in history.history.items()}
