"""The autoencoder a few-label run starts from: one given (`--pretrained`), one an earlier run on the same
images pretrained (reused, so labelling more files does not mean pretraining again), and the fixed masked
validation pairs it is measured on."""

from __future__ import annotations

import os
import shutil

import tensorflow as tf

from keras_ae import runs
from keras_ae.errors import UserError


def load_pretrained(path, shape):
    """An autoencoder another run pretrained (its `autoencoder.keras`), checked against the data's shape."""
    if not os.path.isfile(path):
        raise UserError(f"--pretrained {path}: not found")
    from keras_ae.models import load

    ae = load(path)
    if tuple(ae.input_shape) != tuple(shape):
        raise UserError(f"--pretrained {path}: takes images of {ae.input_shape}, the data has {tuple(shape)}")
    return ae


def reuse_earlier(out, work, record, echo) -> bool:
    """Copy the autoencoder of the finished run in `out` (and its history) into `work` if it learned from
    the images and with the settings `record` says; else say why it will not be reused."""
    earlier, earlier_record = (
        os.path.join(out, "autoencoder.keras"),
        runs.read_json(os.path.join(out, "autoencoder.json")),
    )
    if not os.path.isfile(earlier) or earlier_record is None:
        return False
    if earlier_record.get("pretrained"):
        why = f"it was --pretrained {earlier_record['pretrained']}"
    elif earlier_record.get("images") != record["images"]:
        why = f"the images differ ({earlier_record.get('count')} then, {record['count']} now, not the same set)"
    elif earlier_record.get("settings") != record["settings"]:
        changed = [k for k, v in record["settings"].items() if earlier_record["settings"].get(k) != v]
        why = "other settings (" + ", ".join(f"--{k.replace('_', '-')}" for k in changed) + ")"
    else:
        why = None
    if why:
        echo(f"not reusing the autoencoder of {out}: {why}; pretraining afresh")
        return False
    shutil.copy2(earlier, os.path.join(work, "autoencoder.keras"))
    if os.path.isdir(os.path.join(out, "autoencoder")):
        shutil.copytree(os.path.join(out, "autoencoder"), os.path.join(work, "autoencoder"), dirs_exist_ok=True)
    echo(f"reusing the autoencoder of {out}: the same {record['count']} images, the same settings")
    return True


def fixed_noisy_pairs(corrupt, images, batch_size, seed):
    """Validation pairs (masked image, image) with the mask drawn once, so every epoch is measured alike."""
    return tf.data.Dataset.from_tensor_slices((corrupt.apply_fixed(images, seed), images)).batch(batch_size)
