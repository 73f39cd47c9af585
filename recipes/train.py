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

import keras

from keras_ae import data as datasets
from keras_ae import distribute, runs, training
from keras_ae.data.vectors import standardization
from keras_ae.measure import plots
from keras_ae.measure.baselines import PCABaseline
from keras_ae.measure.metrics import mse, reconstruction_metrics
from keras_ae.models import build

PCA_FIT_LIMIT = 20_000  # PCA needs a representative sample, not every image of a huge folder


def run(
    dataset: str = datasets.DEFAULT_DATASET,
    arch: str = "conv",
    bottleneck: int = 16,
    epochs: int = 20,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    loss: str = "mse",
    out: str = "runs/train",
    seed: int = 0,
    model_options: dict | None = None,
    resize=None,
    data_dir: str | None = None,
    tensorboard: str | None = None,
    label_column: str | None = None,
    echo=print,
    verbose="auto",
) -> dict:
    config = {k: v for k, v in locals().items() if k not in ("echo", "verbose")}

    training.check_settings(epochs, loss, learning_rate, tensorboard)

    # 1. Data: float32 images in [0, 1], split into train and validation by the seed.
    keras.utils.set_random_seed(seed)
    kind = "signals" if arch == "conv1d" else None  # (N, T) and (N, T, C) arrays are signals for Conv1D
    data = datasets.load(dataset, seed=seed, resize=resize, data_dir=data_dir, label_column=label_column, kind=kind)
    echo(f"data: {data.name}, {data.num_train} train / {data.num_validation} validation {data.kind} of {data.shape}")

    # 2. The model: encoder and decoder as separate functional models, composed into the autoencoder.
    #    Vectors and signals are standardised inside it, with the training split's statistics.
    model_options = dict(model_options or {})
    scale = None
    if data.kind != "images":
        model_options["standardize"] = standardization(data.arrays("train")[0])
        scale = model_options["standardize"][1]
    ae = build(arch, data.shape, bottleneck, loss=loss, **model_options)
    echo(f"model: {arch} autoencoder, code of {ae.code_size} numbers, {ae.autoencoder.count_params():,} parameters")

    # 3. A working folder that becomes `out` only when everything is written. If it holds an interrupted
    #    run of the same configuration, training resumes from it; otherwise it starts clean. On a cluster
    #    (`--strategy multiworker`) only the chief writes `out`; the other workers write a private copy.
    out = distribute.worker_path(out)
    work = runs.resume_or_start(out, config, echo)

    # 4. Train on (image, image) pairs.
    history = training.fit(
        ae.autoencoder,
        data.batches("train", batch_size, shuffle=True, seed=seed),
        data.batches("validation", batch_size),
        epochs=epochs,
        workdir=work,
        steps_per_epoch=training.steps(data.num_train, batch_size),
        loss=loss,
        learning_rate=learning_rate,
        tensorboard=tensorboard,
        verbose=verbose,
        loss_scale=scale,
    )
    if data.kind != "images":
        return _finish_vectors(ae, data, work, out, history, seed, echo)

    # 5. Measure on validation images, beside PCA of the same width fitted on the training images.
    x_val, _ = data.arrays("validation")
    x_train, _ = data.arrays("train", limit=PCA_FIT_LIMIT)
    reconstructions = ae.reconstruct(x_val)
    pca = PCABaseline(ae.code_size, seed=seed).fit(x_train)
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
        title=f"{arch} AE, code {ae.code_size}: {metrics['val_psnr']:.1f} dB "
        f"(PCA-{ae.code_size}: {metrics['pca_val_psnr']:.1f} dB)",
    )
    plots.training_curves(history, os.path.join(work, "curves.png"), title=f"{arch} autoencoder on {data.name}")
    ae.save(os.path.join(work, "model.keras"))
    runs.write_json(os.path.join(work, "metrics.json"), metrics)
    runs.commit(work, out)

    echo(
        f"val PSNR {metrics['val_psnr']:.2f} dB, SSIM {metrics['val_ssim']:.3f} | "
        f"PCA-{ae.code_size} {metrics['pca_val_psnr']:.2f} dB, SSIM {metrics['pca_val_ssim']:.3f}"
    )
    echo(f"wrote {out}/")
    return metrics


def _finish_vectors(ae, data, work, out, history, seed, echo):
    """Vectors and signals: squared error in standardised units, beside PCA of the same width."""
    import numpy as np
    from sklearn.decomposition import PCA

    mean, std = (np.asarray(v) for v in standardization(data.arrays("train")[0]))
    x_train = ((data.arrays("train", limit=PCA_FIT_LIMIT)[0] - mean) / std).reshape(data.num_train, -1)
    x_val = (data.arrays("validation")[0] - mean) / std
    recon = (ae.reconstruct(x_val * std + mean) - mean) / std
    pca = PCA(min(ae.code_size, *x_train.shape), random_state=seed).fit(x_train)
    flat = x_val.reshape(len(x_val), -1)
    metrics = {
        "val_mse": mse(x_val, recon),
        "pca_val_mse": mse(flat, pca.inverse_transform(pca.transform(flat))),
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
