"""Random moves of image batches, drawn afresh for every image at every step: small ones for the labelled
images and the weak view, large ones (and a hole) for the strong view of consistency training.

With ten labelled images per class a network memorises them within a few dozen steps; shifting by up to
2 pixels and rotating by up to 10 degrees makes each step show slightly different digits, which is worth
several points of test accuracy on MNIST. Every move (shift, rotation, shear, scale) goes through one
projective transform (`move`), so an image is resampled once.

* `ShiftRotate` and `Mixup` (which blends a batch's images and targets): callables for `tf.data` pipelines.
  Their draws come from a `tf.random.Generator` for the reason `keras_ae.denoise.noise` gives: stateful
  `tf.random` ops replay the same values every epoch once a global seed is set.
* `WeakAugment` and `StrongAugment`: Keras layers for a model's own `train_step` (`keras_ae.classify.joint`);
  they move images only with `training=True`, draw from a `keras.random.SeedGenerator` (whose state is a
  variable of the model, so every step draws anew) and save with their settings.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from keras_ae.training import pipeline_generator


def move(images, angle, dx, dy, shear=None, scale=None):
    """`images (N, H, W, C)`, each rotated by `angle` (radians) about its centre, sheared by `shear`, scaled by
    `scale` and shifted by (`dx`, `dy`) pixels (all of shape (N,)); the pixels moved in are 0."""
    images = tf.convert_to_tensor(images, tf.float32)
    height, width = tf.shape(images)[1], tf.shape(images)[2]
    cx = (tf.cast(width, tf.float32) - 1.0) / 2.0
    cy = (tf.cast(height, tf.float32) - 1.0) / 2.0
    cos, sin = tf.cos(angle), tf.sin(angle)
    shear = tf.zeros_like(angle) if shear is None else shear
    inverse = 1.0 if scale is None else 1.0 / scale
    # Each output pixel (x, y) reads the input at A (x - c) + c - shift, A = rotation @ shear / scale.
    a00, a01 = cos * inverse, (cos * shear - sin) * inverse
    a10, a11 = sin * inverse, (sin * shear + cos) * inverse
    transforms = tf.stack(
        [
            a00,
            a01,
            cx - a00 * cx - a01 * cy - dx,
            a10,
            a11,
            cy - a10 * cx - a11 * cy - dy,
            tf.zeros_like(cos),
            tf.zeros_like(cos),
        ],
        axis=1,
    )
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=tf.stack([height, width]),
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )


class ShiftRotate:
    """`images (N, H, W, C) -> images`: each shifted by up to `shift` pixels and rotated by up to `degrees`."""

    def __init__(self, shift: float = 2.0, degrees: float = 10.0, seed: int = 0):
        self.shift = float(shift)
        self.radians = math.radians(float(degrees))
        self.generator = pipeline_generator(seed)

    def __repr__(self):
        return f"ShiftRotate(shift={self.shift:g}, degrees={math.degrees(self.radians):g})"

    def __call__(self, images):
        images = tf.convert_to_tensor(images, tf.float32)
        count = tf.shape(images)[0]
        angle = self.generator.uniform([count], -self.radians, self.radians)
        dx = self.generator.uniform([count], -self.shift, self.shift)
        dy = self.generator.uniform([count], -self.shift, self.shift)
        return move(images, angle, dx, dy)


class Mixup:
    """`(images, one_hot) -> (images, targets)`: each image of a batch blended with another of the same batch,
    and its target with that image's, by a weight drawn from Beta(`alpha`, `alpha`) and folded to [0.5, 1] (as
    MixMatch folds it), so the blend stays mostly the image it was (mixup, Zhang et al. 2018).

    Why: a self-training round learns from pseudo-labels of which some are wrong, and a network trained long
    enough learns those too, then repeats them in the next round's labels (confirmation bias). Blended
    images with blended targets make it costly to fit any one label exactly (Arazo et al. 2020). It also slows
    fitting: the few-label bench gained with rounds of 8 and 24 epochs and lost with rounds of 4
    (docs/benchmarks.md)."""

    def __init__(self, alpha: float = 1.0, seed: int = 0):
        self.alpha = float(alpha)
        self.generator = pipeline_generator(seed)

    def __repr__(self):
        return f"Mixup(alpha={self.alpha:g})"

    def __call__(self, images, targets):
        images = tf.convert_to_tensor(images, tf.float32)
        targets = tf.convert_to_tensor(targets, tf.float32)
        count = tf.shape(images)[0]
        seeds = self.generator.make_seeds(2)  # Beta(a, a) as G1 / (G1 + G2), two gamma draws
        first = tf.random.stateless_gamma([count], seeds[:, 0], alpha=self.alpha)
        second = tf.random.stateless_gamma([count], seeds[:, 1], alpha=self.alpha)
        weight = first / (first + second)
        weight = tf.maximum(weight, 1.0 - weight)
        partner = tf.argsort(self.generator.uniform([count]))  # a random permutation of the batch
        image_weight = weight[:, None, None, None]
        target_weight = weight[:, None]
        mixed = image_weight * images + (1.0 - image_weight) * tf.gather(images, partner)
        return mixed, target_weight * targets + (1.0 - target_weight) * tf.gather(targets, partner)


@keras.saving.register_keras_serializable(package="keras_ae")
class WeakAugment(keras.layers.Layer):
    """Shift each image by up to `shift` pixels and rotate it by up to `degrees` (training only): the view a
    pseudo-label is read from, and the labelled images' augmentation."""

    def __init__(self, shift: float = 2.0, degrees: float = 0.0, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.shift, self.degrees, self.seed = float(shift), float(degrees), seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _uniform(self, count, bound):
        return keras.random.uniform((count,), -bound, bound, seed=self.seed_generator)

    def _moved(self, images, shear=0.0, scale=0.0):
        count = tf.shape(images)[0]
        angle = self._uniform(count, math.radians(self.degrees))
        dx, dy = self._uniform(count, self.shift), self._uniform(count, self.shift)
        shear = self._uniform(count, shear) if shear else None
        scale = 1.0 + self._uniform(count, scale) if scale else None
        return move(images, angle, dx, dy, shear, scale)

    def call(self, images, training=False):
        if not training:
            return images
        return tf.cast(self._moved(tf.cast(images, tf.float32)), images.dtype)  # the warp runs in float32

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "shift": self.shift, "degrees": self.degrees, "seed": self.seed}


@keras.saving.register_keras_serializable(package="keras_ae")
class StrongAugment(WeakAugment):
    """The strong view (training only): a larger shift and rotation, a shear of up to `shear` and a scale of
    1 +- `scale` (a cheap stand-in for elastic distortion), strokes thickened or thinned by one pixel with
    probability `thickness` (a 3x3 max or min), then a `cutout` x `cutout` square zeroed at a random place
    (random erasing; 0 for none). A network that must answer the same for this view as for a gently shifted
    one learns what a digit's identity does not depend on."""

    def __init__(
        self,
        shift: float = 4.0,
        degrees: float = 25.0,
        shear: float = 0.3,
        scale: float = 0.15,
        thickness: float = 0.5,
        cutout: int = 10,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(shift, degrees, seed, **kwargs)
        self.shear, self.scale, self.thickness, self.cutout = float(shear), float(scale), float(thickness), int(cutout)

    def call(self, images, training=False):
        if not training:
            return images
        dtype = images.dtype  # mixed precision: the warp and the masks run in float32
        images = self._moved(tf.cast(images, tf.float32), self.shear, self.scale)
        count, height, width = tf.shape(images)[0], tf.shape(images)[1], tf.shape(images)[2]
        if self.thickness:
            draw = keras.random.uniform((count, 1, 1, 1), seed=self.seed_generator)
            thick = tf.nn.max_pool2d(images, 3, 1, "SAME")
            thin = -tf.nn.max_pool2d(-images, 3, 1, "SAME")
            half = self.thickness / 2
            images = tf.where(draw < half, thick, tf.where(draw < self.thickness, thin, images))
        if self.cutout:
            rows = tf.cast(tf.range(height), tf.float32)[None, :, None, None]
            cols = tf.cast(tf.range(width), tf.float32)[None, None, :, None]
            cy = keras.random.uniform((count, 1, 1, 1), 0.0, tf.cast(height, tf.float32), seed=self.seed_generator)
            cx = keras.random.uniform((count, 1, 1, 1), 0.0, tf.cast(width, tf.float32), seed=self.seed_generator)
            half = self.cutout / 2
            hole = (tf.abs(rows - cy) < half) & (tf.abs(cols - cx) < half)
            images = tf.where(hole, tf.zeros_like(images), images)
        return tf.cast(images, dtype)

    def get_config(self):
        return {
            **super().get_config(),
            "shear": self.shear,
            "scale": self.scale,
            "thickness": self.thickness,
            "cutout": self.cutout,
        }
