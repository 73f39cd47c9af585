"""Denoise images with an autoencoder trained on (noisy, clean) pairs, and compare it honestly.

The seed's second use. Feed the network a corrupted image X' and ask for the clean X: to do that through a
narrow code it has to keep what images of this kind share and drop what the noise adds. The noise is injected
on the fly by the tf.data pipeline, fresh for every example in every epoch, so the model never sees the same
noisy copy twice; validation noise is fixed by the seed, so the numbers are reproducible.

A denoiser is only as good as what it beats. In the same run, on the same noisy validation images, this recipe
also measures: the noisy input itself; the same network trained on clean images only (does the noise training
matter?); the reference architecture of the keras.io denoising example; and classical filters with their
parameters tuned on the validation images (Gaussian blur, blur + contrast curve, and non-local means and total
variation when scikit-image is installed). With `--arch unet` it also trains the bottleneck autoencoder, so the
table shows what the bottleneck alone achieves and what skip connections add.

Runtime: the default run (`mnist-5k`, `gaussian:0.4`) takes about 4 minutes on a 2-core CPU.
Writes `runs/denoise/` (model.keras, metrics.json, config.json, history.json, denoise_grid.png, curves.png)
and exports the denoiser to `exported/denoise/` (SavedModel with a `denoise` signature, TFLite float32, int8).
"""

from __future__ import annotations

import os
import time

import keras
import tensorflow as tf

from keras_ae import data as datasets
from keras_ae import distribute, runs, training
from keras_ae.denoise import noise as noises
from keras_ae.errors import UserError
from keras_ae.measure import filters as classical_filters
from keras_ae.measure import plots
from keras_ae.measure.metrics import psnr, ssim
from keras_ae.models import DENOISER_ARCHS, build_denoiser
from keras_ae.models.reference import keras_io_denoiser


def run(
    dataset: str | datasets.ImageData = datasets.DEFAULT_DATASET,
    arch: str = "unet",
    bottleneck: int = 32,
    filters=None,
    noise: str = "gaussian:0.4",
    epochs: int = 10,
    batch_size: int = 16,
    learning_rate: float = 1e-3,
    out: str = "runs/denoise",
    export_dir: str | None = "exported/denoise",
    compare: bool = True,
    seed: int = 0,
    echo=print,
    verbose="auto",
) -> dict:
    config = {k: v for k, v in locals().items() if k not in ("echo", "verbose")}
    config["dataset"] = getattr(dataset, "name", dataset)
    started = time.perf_counter()
    training.check_settings(epochs, "mse", learning_rate)
    if arch not in DENOISER_ARCHS:
        raise UserError(f"--arch must be one of {', '.join(DENOISER_ARCHS)}, got '{arch}'")
    corrupt = noises.parse(noise)

    # 1. Data, and one fixed noisy copy of the validation images that every method is measured on.
    keras.utils.set_random_seed(seed)
    data = dataset if isinstance(dataset, datasets.ImageData) else datasets.load(dataset, seed=seed)
    clean_val, _ = data.arrays("validation")
    noisy_val = corrupt.apply_fixed(clean_val, seed)
    validation = tf.data.Dataset.from_tensor_slices((noisy_val, clean_val)).batch(batch_size)
    echo(
        f"data: {data.name}, {data.num_train} train / {data.num_validation} validation images of {data.shape}; "
        f"noise {corrupt}"
    )

    # 2. A resumable working folder: each network trains in a subfolder of its own. On a cluster only the
    #    chief writes `out` and the export; the other workers write private copies.
    out = distribute.worker_path(out)
    export_dir = export_dir and distribute.worker_path(export_dir)
    work = runs.resume_or_start(out, config, echo)

    def train(name, model, pairs, loss="mse"):
        echo(f"training {name} ({model.count_params():,} parameters, {epochs} epochs)")
        history = training.fit(
            model,
            data.batches("train", batch_size, pairs=pairs, shuffle=True, seed=seed),
            validation,
            epochs=epochs,
            workdir=os.path.join(work, name),
            steps_per_epoch=training.steps(data.num_train, batch_size),
            loss=loss,
            learning_rate=learning_rate,
            verbose=verbose,
        )
        return history, model.predict(noisy_val, batch_size=256, verbose=0)

    # 3. The denoiser: trained on (noisy, clean) pairs made on the fly by the pipeline.
    denoiser, autoencoder = build_denoiser(arch, data.shape, bottleneck, filters=filters)
    history, denoised = train("autoencoder", denoiser, corrupt.pairs())
    outputs = {"noisy": noisy_val, "autoencoder": denoised}
    histories = {"autoencoder": history}

    # 4. The comparisons a reviewer would ask for, trained on the same data for the same epochs.
    if compare:
        same_arch_clean, _ = build_denoiser(arch, data.shape, bottleneck, filters=filters)
        _, outputs["clean_trained_autoencoder"] = train("clean_trained_autoencoder", same_arch_clean, None)
        if arch == "unet":
            bottleneck_ae, _ = build_denoiser("conv", data.shape, bottleneck)
            histories["bottleneck_autoencoder"], outputs["bottleneck_autoencoder"] = train(
                "bottleneck_autoencoder", bottleneck_ae, corrupt.pairs()
            )
        reference = keras_io_denoiser(data.shape)
        histories["keras_io_reference (BCE loss)"], outputs["keras_io_reference"] = train(
            "keras_io_reference", reference, corrupt.pairs(), loss="bce"
        )  # as published: binary cross-entropy
        for name, (method, _) in classical_filters.best_classical(noisy_val, clean_val, seed=seed).items():
            outputs[name] = method(noisy_val)

    # 5. The numbers: PSNR and SSIM of every method on the same noisy validation images.
    metrics = {"psnr": {}, "ssim": {}, "noise": str(corrupt), "arch": arch, "epochs": epochs}
    for name, images in outputs.items():
        metrics["psnr"][name] = psnr(clean_val, images)
        metrics["ssim"][name] = ssim(clean_val, images)
    classical = [n for n in outputs if n in classical_filters.available()]
    best_classical = max(classical, key=metrics["psnr"].get) if classical else None
    metrics["best_classical"] = best_classical
    metrics["seconds"] = time.perf_counter() - started

    # 6. The pictures: clean, noisy, denoised and the best classical method, column by column.
    rows = {"clean": clean_val, "noisy": noisy_val, arch: denoised}
    if best_classical:
        rows[best_classical] = outputs[best_classical]
    plots.image_rows(
        rows,
        os.path.join(work, "denoise_grid.png"),
        title=f"{corrupt}: noisy {metrics['psnr']['noisy']:.1f} dB -> {metrics['psnr']['autoencoder']:.1f} dB",
    )
    plots.training_curves(
        {f"{name} {key}": values for name, h in histories.items() for key, values in h.items() if key.endswith("loss")},
        os.path.join(work, "curves.png"),
        title=f"denoising {data.name}",
    )
    denoiser.save(os.path.join(work, "model.keras"))
    runs.write_json(os.path.join(work, "history.json"), histories)
    runs.write_json(os.path.join(work, "metrics.json"), metrics)

    # 7. Export what a user deploys: a SavedModel with a `denoise` signature, and TFLite files. A bottleneck
    #    autoencoder also exports encode/decode/reconstruct; the U-Net has no code to export.
    if export_dir:
        from keras_ae.export import export

        calibration, _ = data.arrays("train", limit=200)
        export(
            autoencoder,
            export_dir,
            quantize=("float32", "int8"),
            representative_data=corrupt.apply_fixed(calibration, seed + 1),
            endpoints={"denoise": denoiser},
            metadata={"dataset": data.name, "noise": str(corrupt), "metrics": metrics},
        )
    runs.commit(work, out)

    echo(summary(metrics))
    echo(f"wrote {out}/" + (f" and {export_dir}/" if export_dir else ""))
    return metrics


def summary(metrics: dict) -> str:
    """The table printed at the end: every method, best first, with its gain over the noisy input."""
    noisy = metrics["psnr"]["noisy"]
    lines = [f"{'method':28s} {'PSNR (dB)':>10s} {'gain':>7s} {'SSIM':>6s}"]
    for name in sorted(metrics["psnr"], key=metrics["psnr"].get, reverse=True):
        psnr = metrics["psnr"][name]
        lines.append(f"{name:28s} {psnr:10.2f} {psnr - noisy:+7.2f} {metrics['ssim'][name]:6.3f}")
    return "\n".join(lines)
