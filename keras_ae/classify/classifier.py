"""A classifier on top of an encoder: encoder -> Dense head -> class probabilities.

Three ways to train it, one function each:

* frozen: `freeze(encoder)`, then `fit_classifier` (which compiles, so the freeze takes effect) trains the
  head alone; the encoder's weights stay bit-identical.
* fine-tuned: `unfreeze(encoder)` after the head has learned, and train everything at a low learning rate.
  Batch-norm layers stay frozen, which in Keras 3 also keeps them in inference mode: a few dozen labelled
  images would otherwise overwrite the statistics learned on thousands.
* from scratch: the same architecture with freshly initialised weights, the baseline every number needs.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from keras_ae.classify.augment import Mixup
from keras_ae.training import build_optimizer, without_autotune_model

CLASSIFIER_NAME = "classifier"


@keras.saving.register_keras_serializable(package="keras_ae")
class ClassProbabilities(keras.layers.Layer):
    """Softmax over class scores that carries the class names in its config, so a saved classifier can say
    what it predicts (`class_names_of(model)`), wherever the file travels."""

    def __init__(self, class_names, **kwargs):
        super().__init__(**kwargs)
        self.class_names = [str(name) for name in class_names]

    def call(self, logits):
        return ops.softmax(logits, axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "class_names": self.class_names}


def build_classifier(encoder: keras.Model, class_names, hidden: int = 128, dropout: float = 0.3) -> keras.Model:
    """image -> encoder -> BatchNormalization -> Dense(hidden, relu) -> Dropout -> Dense(classes) -> probabilities.

    The batch norm puts every code dimension on one scale before the head sees it: an autoencoder's code
    has no reason to be standardised, and on MNIST the frozen head gains 3-5 points from it.

    The encoder is used as a layer, so its weights are shared with (not copied from) the model it came from;
    pass a clone (`copy_encoder`) to train several classifiers from the same starting point.
    """
    inputs = keras.Input(shape=encoder.input_shape[1:], name="image")
    x = encoder(inputs)
    x = layers.Flatten(name="head_flatten")(x) if len(x.shape) > 2 else x
    x = layers.BatchNormalization(name="head_norm")(x)
    x = layers.Dense(hidden, activation="relu", kernel_initializer="he_normal", name="head_dense")(x)
    if dropout:
        x = layers.Dropout(dropout, name="head_dropout")(x)
    logits = layers.Dense(len(class_names), name="head_logits")(x)
    outputs = ClassProbabilities(class_names, name="probabilities")(logits)
    return keras.Model(inputs, outputs, name=CLASSIFIER_NAME)


def copy_encoder(encoder: keras.Model, initialize: bool = False) -> keras.Model:
    """A new encoder of the same architecture: with the same weights, or freshly initialised (`initialize`)."""
    clone = keras.models.clone_model(encoder)
    if not initialize:
        clone.set_weights(encoder.get_weights())
    return clone


def average(members: list[keras.Model]) -> keras.Model:
    """Several classifiers of one input as one (an ensemble): their class probabilities averaged.

    Networks trained on the same labels err partly on different images, so their mean tends to err less (the
    last self-training round's three: +0.4 / +0.6 points on notMNIST, nothing on MNIST, where they share
    nearly every error; docs/benchmarks.md). A functional model of the members with an `Average` layer: it
    saves, loads (`safe_mode=True`) and exports like a single classifier."""
    inputs = keras.Input(shape=members[0].input_shape[1:], name="image")
    outputs = []
    for index, member in enumerate(members):
        member.name = f"member_{index}"  # the members are all "classifier"; one model's layer names are unique
        outputs.append(member(inputs))
    return keras.Model(inputs, layers.Average(name="probabilities")(outputs), name=CLASSIFIER_NAME)


def class_names_of(model: keras.Model) -> list[str]:
    """The class names a keras-ae classifier carries; plain indices for any other softmax model."""
    for layer in reversed(list(_all_layers(model))):
        if isinstance(layer, ClassProbabilities):
            return list(layer.class_names)
    return [str(i) for i in range(int(model.output_shape[-1]))]


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)


def freeze(encoder: keras.Model) -> keras.Model:
    """Make every layer of `encoder` untrainable. Compile (again) afterwards: Keras reads `trainable` then."""
    for layer in _all_layers(encoder):
        layer.trainable = False
    encoder.trainable = False
    return encoder


def unfreeze(model: keras.Model) -> keras.Model:
    """Make `model` (an encoder, or a whole classifier) trainable, except its batch-norm layers: they stay
    frozen, which in Keras 3 also runs them in inference mode, with the statistics they have."""
    model.trainable = True
    for layer in _all_layers(model):
        layer.trainable = not isinstance(layer, layers.BatchNormalization)
    return model


def fit_classifier(
    model: keras.Model,
    images: np.ndarray,
    labels: np.ndarray,
    steps: int,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    augment=None,
    seed: int = 0,
    verbose=0,
    mixup: float = 0.0,
) -> dict:
    """Compile `model` and train it for `steps` batches of (optionally augmented) labelled images; with
    `mixup` > 0 the (augmented) batches are then blended (`keras_ae.classify.augment.Mixup`, that alpha) and
    the loss compares class distributions.

    A step budget rather than epochs: with 100 labelled images an epoch is 4 steps, with 5,000 pseudo-labelled
    ones it is 150, and what a run can afford is steps. The learning rate follows a cosine decay to 5%.
    (`keras_ae.training.fit` is the reconstruction trainer; a classifier needs its own loss and metric.)
    """
    steps = max(1, int(steps))
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps, alpha=0.05)
    loss = keras.losses.CategoricalCrossentropy() if mixup else keras.losses.SparseCategoricalCrossentropy()
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=loss, metrics=["accuracy"])
    build_optimizer(model)
    images = np.asarray(images, np.float32)
    labels = np.asarray(labels, np.int32)
    ds = tf.data.Dataset.from_tensor_slices((images, labels))
    ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True).repeat()
    ds = ds.batch(min(batch_size, len(images)), drop_remainder=True)
    if augment is not None:
        ds = ds.map(lambda x, y: (augment(x), y), num_parallel_calls=tf.data.AUTOTUNE)
    if mixup:
        blend, classes = Mixup(mixup, seed), int(model.output_shape[-1])
        ds = ds.map(lambda x, y: blend(x, tf.one_hot(y, classes)))
    ds = ds.prefetch(tf.data.AUTOTUNE)
    epochs = min(steps, 10)  # a few epochs only so that the history has a shape
    history = model.fit(
        without_autotune_model(ds),
        epochs=epochs,
        steps_per_epoch=math.ceil(steps / epochs),
        shuffle=False,  # the pipeline shuffles
        verbose=verbose,
    )
    return {key: [float(v) for v in values] for key, values in history.history.items()}


def predict(model: keras.Model, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Class probabilities, (N, classes). Called eagerly batch by batch: a recipe predicts with dozens of
    short-lived models, and `model.predict` would trace a new graph function for each one."""
    images = np.asarray(images, np.float32)
    batches = [model(images[i : i + batch_size], training=False) for i in range(0, len(images), batch_size)]
    return np.concatenate([keras.ops.convert_to_numpy(b) for b in batches]) if batches else np.zeros((0, 0))


class LoadedClassifier:
    """A trained classifier from a `.keras` file, a run folder or an export: `predict(images) -> probabilities`."""

    def __init__(self, predict, input_shape, class_names, source: str):
        self.predict = predict
        self.input_shape = tuple(int(s) for s in input_shape)
        self.class_names = list(class_names)
        self.source = source


def load(path: str) -> LoadedClassifier:
    """`classifier.keras`, a run folder holding one, or an export folder whose SavedModel has `classify`."""
    import json
    import os

    from keras_ae.errors import UserError

    path = os.fspath(path)
    if not os.path.exists(path):
        raise UserError(f"--model {path}: not found")
    if os.path.isdir(os.path.join(path, "saved_model")):
        signatures = tf.saved_model.load(os.path.join(path, "saved_model")).signatures
        if "classify" not in signatures:
            raise UserError(f"--model {path}: the export has no 'classify' signature (not a classifier export)")
        signature = signatures["classify"]
        ((input_name, spec),) = signature.structured_input_signature[1].items()
        names = None
        metadata = os.path.join(path, "metadata.json")
        if os.path.isfile(metadata):
            with open(metadata) as f:
                names = (json.load(f).get("info") or {}).get("class_names")
        count = int(signature.structured_outputs["probabilities"].shape[-1])

        def predict_saved(x):
            return signature(**{input_name: tf.constant(x, tf.float32)})["probabilities"].numpy()

        return LoadedClassifier(predict_saved, spec.shape[1:], names or [str(i) for i in range(count)], path)
    if os.path.isdir(path):
        path = os.path.join(path, "classifier.keras")
        if not os.path.isfile(path):
            raise UserError(f"--model {os.path.dirname(path)}: holds no classifier.keras and no saved_model/")
    from keras_ae.io import load_keras_model

    model = load_keras_model(path, "--model")
    if len(model.output_shape) != 2 or len(model.input_shape) != 4:
        raise UserError(
            f"--model {path}: not an image classifier (input {model.input_shape}, output {model.output_shape})"
        )
    return LoadedClassifier(lambda x: predict(model, x), model.input_shape[1:], class_names_of(model), path)
