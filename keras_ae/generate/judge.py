"""A judge: a classifier trained apart from the autoencoder, to say what a decoded image shows.

Whether "+ S" added a smile cannot be measured by the autoencoder itself (it would grade its own homework),
nor by pixels (a smile is a shape). A small CNN learns the attributes from the data's labels and then reads
decoded images. Decoded images are blurrier than the data, and a judge trained on clean images only
mistakes blur for a change of attribute (tried here: it called 63% of plain reconstructions of sad faces
"smiling"). So it trains with random blur and noise, and `agreement` checks it against the true attributes
on plain reconstructions before any of its verdicts are used.

Heads: binary attributes (sigmoid), continuous ones (regression, e.g. a face's position) and classes
(softmax over a label, e.g. digits).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from keras_ae.errors import UserError
from keras_ae.training import build_optimizer, without_autotune_model


def augment(images: tf.Tensor, blur: float = 1.0, noise: float = 0.06) -> tf.Tensor:
    """Random per-image blur (a mix with up to two 3x3 box blurs) and Gaussian noise: what decoders do."""
    count = tf.shape(images)[0]
    level = tf.random.uniform((count, 1, 1, 1), 0.0, 2.0 * blur)  # 0: sharp, 1: one box blur, 2: two
    once = tf.nn.avg_pool2d(images, 3, 1, "SAME")
    twice = tf.nn.avg_pool2d(once, 3, 1, "SAME")
    light = (1.0 - level) * images + level * once
    heavy = (2.0 - level) * once + (level - 1.0) * twice
    blurred = tf.where(level <= 1.0, light, heavy)
    sigma = tf.random.uniform((count, 1, 1, 1), 0.0, noise)
    return tf.clip_by_value(blurred + sigma * tf.random.normal(tf.shape(images)), 0.0, 1.0)


class Judge:
    """A trained CNN with named heads; `predict` returns {name: probabilities or values}."""

    def __init__(self, model: keras.Model, binary=(), continuous=(), classes: dict | None = None, scales=None):
        self.model = model
        self.binary = list(binary)
        self.continuous = list(continuous)
        self.classes = dict(classes or {})  # head name -> class names
        self.scales = dict(scales or {})  # continuous head -> (mean, std) its targets were standardised with

    @classmethod
    def train(
        cls,
        images: np.ndarray,
        targets: dict,
        binary=(),
        continuous=(),
        classes: dict | None = None,
        epochs: int = 8,
        batch_size: int = 64,
        seed: int = 0,
        validation_fraction: float = 0.1,
    ) -> Judge:
        """Train on `images` and `targets[name]` for every head, with blur/noise augmentation."""
        classes = dict(classes or {})
        names = [*binary, *continuous, *classes]
        if not names:
            raise UserError("a judge needs at least one attribute or class to learn")
        missing = [n for n in names if n not in targets]
        if missing:
            raise UserError(f"the judge has no targets for {', '.join(missing)}")
        keras.utils.set_random_seed(seed)
        model = _network(images.shape[1:], binary, continuous, classes)
        losses = {
            **{n: "binary_crossentropy" for n in binary},
            **{n: "mse" for n in continuous},
            **{n: "sparse_categorical_crossentropy" for n in classes},
        }
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=losses)
        build_optimizer(model)
        y = {n: np.asarray(targets[n], np.float32 if n not in classes else np.int32) for n in names}
        # Continuous targets are standardised, or their small squared errors (a face's position varies by
        # a few hundredths) would be drowned by the cross-entropies and never learnt.
        scales = {n: (float(y[n].mean()), float(y[n].std()) or 1.0) for n in continuous}
        for n, (mean, std) in scales.items():
            y[n] = (y[n] - mean) / std
        order = np.random.default_rng(seed).permutation(len(images))
        n_val = max(1, int(len(images) * validation_fraction))
        val, fit = order[:n_val], order[n_val:]
        train_ds = (
            tf.data.Dataset.from_tensor_slices((images[fit], {n: v[fit] for n, v in y.items()}))
            .shuffle(len(fit), seed=seed)
            .batch(batch_size)
            .map(lambda x, t: (augment(x), t))
        )
        val_ds = tf.data.Dataset.from_tensor_slices((images[val], {n: v[val] for n, v in y.items()})).batch(256)
        model.fit(
            without_autotune_model(train_ds),
            validation_data=without_autotune_model(val_ds),
            epochs=epochs,
            shuffle=False,  # the pipeline shuffles
            verbose=0,
        )
        return cls(model, binary, continuous, classes, scales)

    def save(self, path: str) -> None:
        """One `.keras` file; the heads and the target scales travel in a JSON file beside it."""
        import json

        self.model.save(path)
        heads = {"binary": self.binary, "continuous": self.continuous, "classes": self.classes, "scales": self.scales}
        with open(f"{path}.json", "w") as f:
            json.dump(heads, f, indent=2)

    @classmethod
    def load(cls, path: str) -> Judge:
        import json

        with open(f"{path}.json") as f:
            heads = json.load(f)
        from keras_ae.io import load_keras_model

        model = load_keras_model(path, flag="")
        scales = {n: tuple(v) for n, v in heads["scales"].items()}
        return cls(model, heads["binary"], heads["continuous"], heads["classes"], scales)

    def predict(self, images: np.ndarray) -> dict:
        # Called directly in chunks rather than through `predict`: the judge reads many small batches of
        # different sizes, and `predict` would trace a new graph for most of them.
        images = np.asarray(images, np.float32)
        chunks = [self.model(images[i : i + 512], training=False) for i in range(0, max(len(images), 1), 512)]
        outputs = {n: np.concatenate([keras.ops.convert_to_numpy(c[n]) for c in chunks]) for n in chunks[0]}
        predicted = {n: (v[:, 0] if n not in self.classes else v) for n, v in outputs.items()}
        for n, (mean, std) in self.scales.items():
            predicted[n] = predicted[n] * std + mean
        return predicted

    def decide(self, images: np.ndarray) -> dict:
        """Verdicts: 0/1 for binary heads, values for continuous ones, the class index for class heads."""
        predicted = self.predict(images)
        return {
            n: (v > 0.5).astype(int) if n in self.binary else (np.argmax(v, -1) if n in self.classes else v)
            for n, v in predicted.items()
        }

    def confidences(self, images: np.ndarray) -> dict:
        """Per binary and class head, per image: the probability the judge gives its own verdict
        (max(p, 1 - p) for a binary head, the top class's probability for a class head)."""
        predicted = self.predict(images)
        parts = {n: np.maximum(predicted[n], 1 - predicted[n]) for n in self.binary}
        parts |= {n: predicted[n].max(axis=-1) for n in self.classes}
        if not parts:
            raise UserError("confidence needs a binary or class head")
        return parts

    def confidence(self, images: np.ndarray) -> np.ndarray:
        """Per image: the mean over binary and class heads of the probability of the chosen answer."""
        return np.mean(list(self.confidences(images).values()), axis=0)

    def agreement(self, images: np.ndarray, truth: dict) -> dict:
        """Fraction of images where the verdict equals the truth, per binary and class head."""
        verdicts = self.decide(images)
        return {n: float(np.mean(verdicts[n] == np.asarray(truth[n]))) for n in [*self.binary, *self.classes]}


def _network(shape, binary, continuous, classes) -> keras.Model:
    """Three conv blocks and a small dense layer, one output per head."""
    inputs = keras.Input(shape=tuple(shape), name="image")
    x = inputs
    for i, width in enumerate((32, 64, 64)):
        x = layers.Conv2D(width, 3, padding="same", activation="relu", name=f"conv{i}")(x)
        if min(x.shape[1], x.shape[2]) >= 4:
            x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(128, activation="relu", name="dense")(x)
    x = layers.Dropout(0.2, name="dropout")(x)
    outputs = {n: layers.Dense(1, activation="sigmoid", name=n)(x) for n in binary}
    outputs |= {n: layers.Dense(1, name=n)(x) for n in continuous}
    outputs |= {n: layers.Dense(len(names), activation="softmax", name=n)(x) for n, names in classes.items()}
    return keras.Model(inputs, outputs, name="judge")


# -- verdicts on edits ------------------------------------------------------------------------------------------
def strength_curve(edit, strengths, success, preserved) -> list[dict]:
    """For each strength: `edit(strength)` -> images, and the fractions `success(images)` and
    `preserved(images)` (each a boolean per image) hold for."""
    curve = []
    for strength in strengths:
        edited = edit(float(strength))
        curve.append(
            {
                "strength": float(strength),
                "success": float(np.mean(success(edited))),
                "preserved": float(np.mean(preserved(edited))),
            }
        )
    return curve


def choose_strength(curve: list[dict], preserved_floor: float = 0.9, success_goal: float = 0.9) -> float:
    """The weakest strength whose success reaches `success_goal` while `preserved` stays at the floor; if
    none does, the most successful one that keeps the floor (the smallest on ties); if none keeps it, the one
    with the best sum of the two. Meant for a validation curve, never the test one.

    The weakest one that is enough, not the most successful: `preserved` falls off a cliff as the strength
    grows, and the most successful strength that still keeps the floor on validation is the last one before
    the cliff, so on other faces it lands past it about half the time."""
    keeping = [point for point in curve if point["preserved"] >= preserved_floor]
    enough = [point for point in keeping if point["success"] >= success_goal]
    if enough:
        return min(point["strength"] for point in enough)
    if keeping:
        return max(keeping, key=lambda p: (p["success"], -p["strength"]))["strength"]
    return max(curve, key=lambda p: (p["success"] + p["preserved"], -p["strength"]))["strength"]


def plausibility(judge: Judge, midpoints: np.ndarray, reconstructions: np.ndarray) -> float:
    """Judge confidence on decoded midpoints / that on plain reconstructions: near 1 when a point between
    two codes decodes to an image as clear as the data's; low when it decodes to a blend of two."""
    return float(np.mean(judge.confidence(midpoints)) / np.mean(judge.confidence(reconstructions)))
