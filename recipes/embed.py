"""Embed images with a trained encoder and check the seed's claim: similar objects get nearby codes.

The codes e(x) of a trained autoencoder are a compact description of each image. If they are a good one, a
5-nearest-neighbour vote in code space should classify nearly as well as one in pixel space, with a fraction of
the numbers. This recipe measures exactly that, on the validation split, and draws the codes in 2-D.

Runtime: seconds for `mnist-5k`. Writes into `--out`: embeddings.npy (train images first, then validation),
labels.npy, split.npy (0 = train, 1 = validation), metrics.json, latent_map.png.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from keras_ae import runs
from keras_ae.config import DataSettings, configure, load_data, setting
from keras_ae.errors import UserError
from keras_ae.measure import plots
from keras_ae.measure.baselines import PCABaseline
from keras_ae.measure.metrics import knn_accuracy
from keras_ae.measure.projector import write_projector
from keras_ae.models import load


@dataclass(kw_only=True)
class Config(DataSettings):
    model: str = setting(help="A keras-ae model.keras (or its run folder).")
    out: str = setting(help="Folder to write embeddings.npy, labels.npy, latent_map.png.")
    tensorboard: str | None = setting(None, "Also write files for TensorBoard's Projector.", metavar="DIR")


def run(config: Config | None = None, *, echo=print, **settings) -> dict:
    c = configure(Config, config, settings)
    ae = load(c.model)
    kind = "signals" if len(ae.input_shape) == 2 else None  # a Conv1D model reads (N, T[, C]) arrays as signals
    data = load_data(c, kind=kind)
    if tuple(data.shape) != tuple(ae.input_shape):
        raise UserError(f"--dataset {c.dataset}: images are {data.shape}, but {c.model} takes {ae.input_shape}")

    # 1. Codes for every image, train split first.
    x_train, y_train = data.arrays("train")
    x_val, y_val = data.arrays("validation")
    codes_train, codes_val = ae.embed(x_train), ae.embed(x_val)
    codes = np.concatenate([codes_train, codes_val])
    split = np.concatenate([np.zeros(len(x_train), np.int8), np.ones(len(x_val), np.int8)])
    labels = None if y_train is None else np.concatenate([y_train, y_val])

    # 2. Nearby codes, similar objects? 5-NN fitted on train, scored on validation, in codes and in pixels.
    pixels = int(np.prod(ae.input_shape))
    metrics = {"code_size": ae.code_size, "pixels": pixels, "numbers_ratio": pixels / ae.code_size}
    if labels is not None:
        metrics["knn_accuracy_embedding"] = knn_accuracy(codes_train, y_train, codes_val, y_val)
        metrics["knn_accuracy_pixels"] = knn_accuracy(x_train, y_train, x_val, y_val)
        echo(
            f"5-NN accuracy: codes {metrics['knn_accuracy_embedding']:.3f} ({ae.code_size} numbers) vs "
            f"pixels {metrics['knn_accuracy_pixels']:.3f} ({pixels} numbers)"
        )

    with runs.run_folder(c.out) as work:
        write_outputs(work, ae, data, codes, labels, split, metrics, c.seed, c.tensorboard, x_train, x_val)
    echo(f"wrote {c.out}/")
    return metrics


def write_outputs(work, ae, data, codes, labels, split, metrics, seed, tensorboard, x_train, x_val):
    # 3. A picture: the codes projected to their two main directions, coloured by label.
    flat = codes.reshape(len(codes), -1)
    points = PCABaseline(2, seed=seed).fit(flat).embed(flat) if flat.shape[1] > 2 else flat
    plots.latent_map(
        points,
        labels,
        os.path.join(work, "latent_map.png"),
        class_names=data.class_names,
        title=f"codes of {data.name} (PCA of {ae.code_size}-d codes)",
    )
    np.save(os.path.join(work, "embeddings.npy"), codes)
    np.save(os.path.join(work, "split.npy"), split)
    if labels is not None:
        np.save(os.path.join(work, "labels.npy"), labels)
    runs.write_json(os.path.join(work, "metrics.json"), metrics)
    if tensorboard:
        write_projector(tensorboard, codes, labels, np.concatenate([x_train, x_val]), data.class_names)
