"""Change the code, then decode: perturbation, interpolation and attribute vectors.

The seed's fourth use of an autoencoder. With an encoder e and a decoder d:
- perturb: d(e(x) + e') with e' random, to see which images live near x in code space;
- interpolate: d((1 - t) e(a) + t e(b)) for t from 0 to 1, a walk from one image to another;
- attribute vectors: S = centre of the codes of images with an attribute - centre of those without it, and
  d(e(x) + strength * S) adds the attribute ("add a smile"). When the attribute goes with another property
  in the data (thick MNIST strokes are mostly 0s, thin ones 1s), S carries that property too; fitting S
  within each group of that property and averaging (`groups=`, the CLI's `--balance-by`) removes it.

An attribute vector belongs to the model whose codes it was fitted on: the `.npz` file records the model's
fingerprint, and using it with another model is refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from keras_ae.errors import UserError


# -- perturbation and interpolation -------------------------------------------------------------------------
def perturb(ae, images: np.ndarray, scale, count: int = 8, seed: int = 0) -> np.ndarray:
    """`count` decodings of e(x) + e' per image, e' ~ N(0, scale^2) per code value (`scale` a number or one
    per code dimension, e.g. a multiple of the codes' spread). Returns (N, count, *image shape)."""
    if count < 1:
        raise UserError(f"--n must be at least 1, got {count}")
    scale = np.asarray(scale, np.float32)
    if np.any(~np.isfinite(scale)) or np.any(scale < 0):
        raise UserError(f"--scale must be a non-negative number, got {scale}")
    codes = ae.embed(images)
    noise = np.random.default_rng(seed).normal(size=(len(codes), count, codes.shape[-1])).astype(np.float32)
    moved = codes[:, None, :] + scale * noise
    decoded = ae.decode(moved.reshape(-1, codes.shape[-1]))
    return decoded.reshape(len(codes), count, *decoded.shape[1:])


def interpolation_weights(steps: int) -> np.ndarray:
    """`steps` weights t from 0 (the first image) to 1 (the second), both ends included."""
    if not isinstance(steps, int | np.integer) or steps < 2:
        raise UserError(f"--steps must be an integer of at least 2 (both ends are included), got {steps}")
    return np.linspace(0.0, 1.0, int(steps), dtype=np.float32)


def interpolate(ae, first: np.ndarray, second: np.ndarray, steps: int = 8) -> np.ndarray:
    """Decode (1 - t) e(first) + t e(second) for `steps` values of t in [0, 1]. `first` and `second` are
    single images or equally long batches; returns (steps, *shape) or (N, steps, *shape)."""
    weights = interpolation_weights(steps)
    single = np.ndim(first) == len(ae.input_shape)
    first, second = np.asarray(first), np.asarray(second)
    if single:
        first, second = first[None], second[None]
    if first.shape != second.shape:
        raise UserError(f"interpolate needs two equally shaped inputs, got {first.shape} and {second.shape}")
    a, b = ae.embed(first), ae.embed(second)
    codes = (1.0 - weights[None, :, None]) * a[:, None, :] + weights[None, :, None] * b[:, None, :]
    decoded = ae.decode(codes.reshape(-1, a.shape[-1]))
    decoded = decoded.reshape(len(a), steps, *decoded.shape[1:])
    return decoded[0] if single else decoded


# -- attribute vectors --------------------------------------------------------------------------------------
def check_attribute(data, attribute: str, flag: str = "--attribute") -> dict:
    """The data's attributes of the training split; an unknown name lists the ones there are."""
    if data.attributes is None:
        raise UserError(f"--dataset {data.name} has no attributes (try smileys, or celeba:/path)")
    names = data.attributes["train"]
    if attribute not in names:
        raise UserError(f"{flag} {attribute}: {data.name} has no such attribute (it has: {', '.join(names)})")
    return names


def fit_vector(positive_codes, negative_codes, positive_groups=None, negative_groups=None) -> np.ndarray:
    """centre(positive) - centre(negative); with groups, that difference within each group that has both,
    averaged over those groups (each group counts alike, however many examples it has)."""
    positive_codes, negative_codes = np.asarray(positive_codes), np.asarray(negative_codes)
    if len(positive_codes) == 0 or len(negative_codes) == 0:
        raise UserError(
            f"an attribute vector needs examples with and without the attribute, got {len(positive_codes)} "
            f"with and {len(negative_codes)} without"
        )
    if positive_groups is None:
        return positive_codes.mean(axis=0) - negative_codes.mean(axis=0)
    positive_groups, negative_groups = np.asarray(positive_groups), np.asarray(negative_groups)
    shared = np.intersect1d(positive_groups, negative_groups)
    if len(shared) == 0:
        raise UserError("--balance-by: no group holds examples both with and without the attribute")
    differences = [
        positive_codes[positive_groups == g].mean(axis=0) - negative_codes[negative_groups == g].mean(axis=0)
        for g in shared
    ]
    return np.mean(differences, axis=0)


@dataclass
class AttributeVector:
    """S, what it was fitted on, and the fingerprint of the model whose codes it lives among."""

    vector: np.ndarray
    fingerprint: str
    name: str = "attribute"
    positive: int = 0
    negative: int = 0
    balance_by: str = ""

    @classmethod
    def fit(cls, ae, positive_images, negative_images, name="attribute", groups=None, balance_by=""):
        """Embed both sets with `ae` and fit S; `groups=(positive_groups, negative_groups)` balances it."""
        positive_codes, negative_codes = ae.embed(positive_images), ae.embed(negative_images)
        vector = fit_vector(positive_codes, negative_codes, *(groups or (None, None)))
        return cls(
            vector=vector.astype(np.float32),
            fingerprint=ae.fingerprint(),
            name=name,
            positive=len(positive_codes),
            negative=len(negative_codes),
            balance_by=balance_by,
        )

    def codes(self, ae, images, strength: float = 1.0) -> np.ndarray:
        check_strength(strength)
        return ae.embed(images) + float(strength) * self.vector

    def apply(self, ae, images, strength: float = 1.0) -> np.ndarray:
        """d(e(x) + strength * S) for every image."""
        return ae.decode(self.codes(ae, images, strength))

    # -- the .npz file --------------------------------------------------------------------------------------
    def save(self, path: str) -> None:
        """Write through a temporary name, so a reader never finds half a file."""
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            raise UserError(f"-o {path}: folder {directory} does not exist")
        from keras_ae import io

        with io.atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(
                f,
                vector=self.vector,
                fingerprint=np.array(self.fingerprint),
                name=np.array(self.name),
                positive=np.array(self.positive),
                negative=np.array(self.negative),
                balance_by=np.array(self.balance_by),
            )

    @classmethod
    def load(cls, path: str, ae=None) -> AttributeVector:
        """Read a vector file; with `ae`, refuse it unless it was fitted with that very model."""
        try:
            with np.load(path, allow_pickle=False) as f:
                vector = cls(
                    vector=f["vector"].astype(np.float32),
                    fingerprint=str(f["fingerprint"]),
                    name=str(f["name"]),
                    positive=int(f["positive"]),
                    negative=int(f["negative"]),
                    balance_by=str(f["balance_by"]),
                )
        except FileNotFoundError:
            raise UserError(f"--vector {path}: no such file") from None
        except (OSError, KeyError, ValueError) as error:
            raise UserError(f"--vector {path}: not an attribute vector file ({error})") from None
        if ae is not None:
            if vector.fingerprint != ae.fingerprint():
                raise UserError(
                    f"--vector {path} was fitted with another model (fingerprint {vector.fingerprint[:12]}..., "
                    f"this model {ae.fingerprint()[:12]}...); fit it again with this model"
                )
            if vector.vector.shape != (ae.code_size,):
                raise UserError(f"--vector {path}: {vector.vector.shape} does not match the code of {ae.code_size}")
        return vector


def check_strength(strength) -> float:
    try:
        value = float(strength)
    except (TypeError, ValueError):
        raise UserError(f"--strength must be a number, got '{strength}'") from None
    if not np.isfinite(value):
        raise UserError(f"--strength must be a finite number, got '{strength}'")
    return value


def projection(codes: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """2-D coordinates for a picture of S: the first axis along S, the second the main direction of the
    codes' spread orthogonal to it. Returns the (2, code size) basis."""
    along = vector / (np.linalg.norm(vector) or 1.0)
    centred = codes - codes.mean(axis=0)
    rest = centred - np.outer(centred @ along, along)
    _, _, components = np.linalg.svd(rest, full_matrices=False)
    return np.stack([along, components[0]])
