"""Train an autoencoder on images and look at what it learned.

The classic autoencoder: a network trained to return its input through a narrow bottleneck, minimising the
per-pixel squared error. This recipe trains one, then measures it against PCA with the same number of
components (the best *linear* autoencoder of that width), and writes pictures you can look at first.

Runtime: the default (`mnist-5k`, conv, bottleneck 16, 20 epochs) takes about 3 minutes on a 2-core CPU.
Writes into `--out`: model.keras, config.json, history.json, metrics.json, curves.png, reconstructions.png.
An interrupted run resumes from its last finished epoch when the same command is run again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import keras

from keras_ae import runs, training
from keras_ae.config import DataSettings, TrainingSettings, as_dict, configure, load_data, setting
from keras_ae.data.vectors import standardization
from keras_ae.errors import UserError
from keras_ae.measure import plots
from keras_ae.measure.baselines import PCABaseline
from keras_ae.measure.metrics import mse, reconstruction_metrics
from keras_ae.models import build

PCA_FIT_LIMIT = 20_000  # PCA needs a representative sample, not every image of a huge folder


@dataclass(kw_only=True)
class Config(DataSettings, TrainingSettings):
    arch: str = setting("conv", "The builder.", choices=("conv", "dense", "conv1d"))
    bottleneck: int = setting(16, "Width of the code e(x).")
    filters: tuple[int, ...] | None = setting(None, "Conv channels per stage (conv).", metavar="32,64")
    hidden: tuple[int, ...] | None = setting(None, "Hidden layer widths (dense).", metavar="512,256")
    activation: str = setting("relu")
    batch_norm: bool = setting(False)
    dropout: float = setting(0.0)
    sparsity: float = setting(0.0, "L1 penalty on the code (a sparse AE).")
    upsampling: str = setting("resize", choices=("resize", "transpose"))
    loss: str = setting("mse", choices=training.LOSSES)
    epochs: int = setting(20)
    batch_size: int = setting(64)
    learning_rate: float = setting(1e-3)
    out: str = setting("runs/train", "Run folder to write.")
    tensorboard: str | None = setting(None, "Also log training for TensorBoard.", metavar="DIR")
    label_column: str | None = setting(None, "A CSV column that is a label, not a feature.")


def run(config: Config | None = None, *, echo=print, verbose="auto", **settings) -> dict:
    c = configure(Config, config, settings)
    training.check_settings(c.epochs, c.loss, c.learning_rate, c.tensorboard)
    if c.batch_size < 1:
        raise UserError(f"--batch-size must be at least 1, got {c.batch_size}")
    if not 0 <= c.dropout < 1:
        raise UserError(f"--dropout must be in [0, 1), got {c.dropout}")
    if c.sparsity < 0:
        raise UserError(f"--sparsity must be >= 0, got {c.sparsity}")

    # 1. Data: float32 images in [0, 1], split into train and validation by the seed.
    keras.utils.set_random_seed(c.seed)
    kind = "signals" if c.arch == "conv1d" else None  # (N, T) and (N, T, C) arrays are signals for Conv1D
    data = load_data(c, label_column=c.label_column, kind=kind)
    echo(f"data: {data.name}, {data.num_train} train / {data.num_validation} validation {data.kind} of {data.shape}")

    # 2. The model: encoder and decoder as separate functional models, composed into the autoencoder.
    #    Vectors and signals are standardised inside it, with the training split's statistics.
    options = {k: getattr(c, k) for k in ("filters", "hidden", "activation", "batch_norm", "dropout", "sparsity")}
    options["upsampling"], scale = c.upsampling, None
    if data.kind != "images":
        options["standardize"] = standardization(data.arrays("train")[0])
        scale = options["standardize"][1]
    ae = build(c.arch, data.shape, c.bottleneck, loss=c.loss, **options)
    echo(f"model: {c.arch} autoencoder, code of {ae.code_size} numbers, {ae.autoencoder.count_params():,} parameters")

    # 3. A working folder that becomes `out` only when everything is written. If it holds an interrupted
    #    run of the same configuration, training resumes from it; otherwise it starts clean. On a cluster
    #    (`--strategy multiworker`) only the chief writes `out`; the other workers write a private copy.
    work = runs.resume_or_start(c.out, as_dict(c), echo, sources=(c.dataset,))

    # 4. Train on (image, image) pairs.
    history = training.fit_data(
        ae.autoencoder,
        data,
        c.batch_size,
        work,
        c.seed,
        epochs=c.epochs,
        loss=c.loss,
        learning_rate=c.learning_rate,
        jit_compile=c.jit_compile,
        tensorboard=c.tensorboard,
        verbose=verbose,
        loss_scale=scale,
    )
    if data.kind != "images":
        return _finish_vectors(ae, data, work, c.out, history, c.seed, echo)

    # 5. Measure on validation images, beside PCA of the same width fitted on the training images.
    x_val, _ = data.arrays("validation")
    x_train, _ = data.arrays("train", limit=PCA_FIT_LIMIT)
    reconstructions = ae.reconstruct(x_val)
    pca = PCABaseline(ae.code_size, seed=c.seed).fit(x_train)
    metrics = {
        **reconstruction_metrics(x_val, reconstructions, prefix="val_"),
        **reconstruction_metrics(x_val, pca.reconstruct(x_val), prefix="pca_val_"),
        "code_size": ae.code_size,
        "epochs": len(history["epoch"]),
    }
    metrics["psnr_gain_over_pca"] = metrics["val_psnr"] - metrics["pca_val_psnr"]

    # 6. Pictures first, then numbers.
    plots.reconstruction_grid(
        x_val,
        reconstructions,
        os.path.join(work, "reconstructions.png"),
        title=f"{c.arch} AE, code {ae.code_size}: {metrics['val_psnr']:.1f} dB "
        f"(PCA-{ae.code_size}: {metrics['pca_val_psnr']:.1f} dB)",
    )
    plots.training_curves(history, os.path.join(work, "curves.png"), title=f"{c.arch} autoencoder on {data.name}")
    ae.save(os.path.join(work, "model.keras"))
    runs.write_json(os.path.join(work, "metrics.json"), metrics)
    runs.commit(work, c.out)

    echo(
        f"val PSNR {metrics['val_psnr']:.2f} dB, SSIM {metrics['val_ssim']:.3f} | "
        f"PCA-{ae.code_size} {metrics['pca_val_psnr']:.2f} dB, SSIM {metrics['pca_val_ssim']:.3f}"
    )
    echo(f"wrote {c.out}/")
    return metrics


def _finish_vectors(ae, data, work, out, history, seed, echo):
    """Vectors and signals: squared error in standardised units, beside PCA of the same width."""
    import numpy as np

    mean, std = (np.asarray(v) for v in standardization(data.arrays("train")[0]))
    x_train = (data.arrays("train", limit=PCA_FIT_LIMIT)[0] - mean) / std
    x_val = (data.arrays("validation")[0] - mean) / std
    recon = (ae.reconstruct(x_val * std + mean) - mean) / std
    pca = PCABaseline(ae.code_size, seed=seed, clip=False).fit(x_train)
    metrics = {
        "val_mse": mse(x_val, recon),
        "pca_val_mse": mse(x_val, pca.reconstruct(x_val)),
        "units": "standardised (training split mean and std)",
        "code_size": ae.code_size,
        "epochs": len(history["epoch"]),
    }
    plots.training_curves(history, os.path.join(work, "curves.png"), title=f"autoencoder on {data.name}")
    ae.save(os.path.join(work, "model.keras"))
    runs.write_json(os.path.join(work, "metrics.json"), metrics)
    runs.commit(work, out)
    echo(f"val MSE {metrics['val_mse']:.4f} | PCA-{ae.code_size} {metrics['pca_val_mse']:.4f} (standardised units)")
    echo(f"wrote {out}/")
    return metrics
