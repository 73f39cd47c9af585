"""Denoise images with an autoencoder trained on (noisy, clean) pairs, and compare it honestly.

The seed's second use. Feed the network a corrupted image X' and ask for the clean X: to do that through a
narrow code it has to keep what images of this kind share and drop what the noise adds. The noise is injected
on the fly by the tf.data pipeline, fresh for every example in every epoch, so the model never sees the same
noisy copy twice; validation noise is fixed by the seed, so the numbers are reproducible.

A denoiser is only as good as what it beats. In the same run, on the same noisy validation images, this recipe
also measures the noisy input itself and classical filters with their parameters tuned on the validation images
(Gaussian blur, blur + contrast curve, non-local means, total variation). `--compare all` adds the comparisons
that each train another network: the same network trained on clean images only (does the noise training
matter?), the reference architecture of the keras.io denoising example, and with `--arch unet` the bottleneck
autoencoder, so the table shows what the bottleneck alone achieves and what skip connections add.

**Photos of any size.** When the images differ in size (a folder of photos or scans, or the built-in `photos`),
nothing is resized: the recipe trains the photo denoiser (`keras_ae.models.photo`, a residual U-Net) on random
`--patch` crops, measures it on the whole validation images beside the classical filters and BM3D (when the
`bm3d` package is installed), and exports a SavedModel and TFLite files that take any size. `--mode n2v`
(Noise2Void) trains from noisy images alone and `--mode n2n` (Noise2Noise) from two noisy shots of each scene
(`--pairs DIR`, matched by file name); see `keras_ae.denoise.blind_spot`.

Runtime. The default run (`mnist-5k`, `gaussian:0.4`, the essential rows) trains one network where
`--compare all` trains four: the full comparison took 3 min 6 s on a 2-core AVX-512 Xeon and 693 s on 2 cores of
an AMD EPYC with AVX2 only; the default used 6 min 33 s of CPU time there (12 min wall on a machine shared with
a long training job at a load of 12; alone, about a quarter of the full comparison's training plus export).
Photos (`--dataset photos`, 5 epochs of 64 steps of 16 patches): 320 steps at 842 ms (the step time measured on
2 free EPYC cores) is 4.5 minutes of training, plus about a minute of BM3D and two of filters and export.
Writes `runs/denoise/` (model.keras, metrics.json, config.json, history.json, denoise_grid.png, curves.png)
and exports the denoiser to `exported/denoise/` (SavedModel with a `denoise` signature, TFLite float32, int8).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from keras_ae import data as datasets
from keras_ae import runs, training
from keras_ae.config import TrainingSettings, as_dict, configure, setting
from keras_ae.data import patches as patchlib
from keras_ae.defaults import DEFAULT_DATASET
from keras_ae.denoise import classical
from keras_ae.denoise import noise as noises
from keras_ae.errors import UserError
from keras_ae.export import image_model
from keras_ae.measure import filters as classical_filters
from keras_ae.measure import plots
from keras_ae.measure.metrics import psnr, ssim
from keras_ae.models import DENOISER_ARCHS, build_denoiser
from keras_ae.models.reference import keras_io_denoiser

COMPARE = ("essential", "all", "none")
MODES = ("clean", "n2v", "n2n")
DIGITS_NOISE, DIGITS_EPOCHS = "gaussian:0.4", 10
PHOTO_NOISE = "gaussian:0.1"  # sigma 25.5 on the 0..255 scale, the classic benchmark level
PHOTO_EPOCHS = 5  # of at most PHOTO_STEPS_PER_EPOCH steps: about 5 minutes of training on 2 AVX2 cores
PHOTO_STEPS_PER_EPOCH = 64
PHOTO_PATCH = 64


@dataclass(kw_only=True)
class Config(TrainingSettings):
    dataset: str | datasets.ImageData | patchlib.PhotoData = setting(
        DEFAULT_DATASET,
        "Any data spec `keras-ae train` takes; a folder of photos of mixed sizes, or `photos`, trains on patches.",
    )
    arch: str = setting("unet", "unet: skip connections; conv/dense: a bottleneck autoencoder.", choices=DENOISER_ARCHS)
    bottleneck: int = setting(32, "Code width of the bottleneck autoencoders.")
    filters: tuple[int, ...] | None = setting(
        None, "Channels per level (unet, photo) or stage (conv).", metavar="16,32,48"
    )
    noise: str | None = setting(
        None,
        "gaussian:SIGMA or a range gaussian:0.02-0.2, poisson_gaussian:A,B, salt_pepper:P, mask:P, speckle:SIGMA, "
        "mix:SPEC,SPEC,...; photos only: none (the images are noisy already) [default: gaussian:0.4; photos: "
        f"{PHOTO_NOISE}]",
    )
    epochs: int | None = setting(None, f"[default: {DIGITS_EPOCHS}; photos: {PHOTO_EPOCHS} of at most 64 steps]")
    batch_size: int = setting(16, "Small batches denoise better per epoch here.")
    learning_rate: float = setting(1e-3)
    compare: str = setting(
        "essential",
        "essential: the model, the noisy input, the classical filters (and BM3D for photos); all: also the "
        "networks trained for comparison; none: the model alone.",
        choices=COMPARE,
    )
    mode: str = setting(
        "clean", "Photos: clean targets; n2v: Noise2Void, noisy images only; n2n: Noise2Noise.", choices=MODES
    )
    patch: int | None = setting(None, f"Photos: train on random PATCHxPATCH crops [default: {PHOTO_PATCH}].")
    pairs: str | None = setting(
        None, "--mode n2n: a folder of second noisy shots, matched by file name.", metavar="DIR"
    )
    seed: int = setting(0)
    out: str = setting("runs/denoise", "Run folder.")
    export_dir: str | None = setting("exported/denoise", "Where the export goes.", off="--no-export")


def run(config: Config | None = None, *, echo=print, verbose="auto", **settings) -> dict:
    """Train, measure and export a denoiser. Images of one size (digits, scans of one size) train whole; images
    of mixed sizes, `--mode n2v|n2n`, `--pairs` or `--patch` train the photo denoiser on patches (`run_photos`)."""
    if isinstance(settings.get("compare"), bool):  # the flag was --compare/--no-compare
        settings["compare"] = "all" if settings["compare"] else "none"
    c = configure(Config, config, settings)
    if c.compare not in COMPARE:
        raise UserError(f"--compare must be one of {', '.join(COMPARE)}, got '{c.compare}'")
    if (
        c.mode != "clean"
        or c.pairs is not None
        or c.patch is not None
        or isinstance(c.dataset, patchlib.PhotoData)
        or (isinstance(c.dataset, str) and patchlib.mixed_sizes(c.dataset))
    ):
        return run_photos(c, echo=echo, verbose=verbose)
    noise, epochs = c.noise or DIGITS_NOISE, DIGITS_EPOCHS if c.epochs is None else c.epochs
    arch, bottleneck, filters, batch_size, seed = c.arch, c.bottleneck, c.filters, c.batch_size, c.seed
    started = time.perf_counter()
    training.check_settings(epochs, "mse", c.learning_rate)
    if arch not in DENOISER_ARCHS:
        raise UserError(f"--arch must be one of {', '.join(DENOISER_ARCHS)}, got '{arch}'")
    corrupt = noises.parse(noise)

    # 1. Data, and one fixed noisy copy of the validation images that every method is measured on.
    keras.utils.set_random_seed(seed)
    data = c.dataset if isinstance(c.dataset, datasets.ImageData) else datasets.load(c.dataset, seed=seed)
    clean_val, _ = data.arrays("validation")
    noisy_val = corrupt.apply_fixed(clean_val, seed)
    validation = tf.data.Dataset.from_tensor_slices((noisy_val, clean_val)).batch(batch_size)
    echo(
        f"data: {data.name}, {data.num_train} train / {data.num_validation} validation images of {data.shape}; "
        f"noise {corrupt}"
    )

    # 2. A resumable working folder: each network trains in a subfolder of its own. On a cluster only the
    #    chief writes `out` and the export; the other workers write private copies.
    out = c.out
    export_dir = c.export_dir
    work = runs.resume_or_start(out, as_dict(c), echo, sources=(c.dataset, c.pairs))

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
            learning_rate=c.learning_rate,
            jit_compile=c.jit_compile,
            verbose=verbose,
        )
        return history, model.predict(noisy_val, batch_size=256, verbose=0)

    # 3. The denoiser: trained on (noisy, clean) pairs made on the fly by the pipeline.
    denoiser, autoencoder = build_denoiser(arch, data.shape, bottleneck, filters=filters)
    history, denoised = train("autoencoder", denoiser, corrupt.pairs())
    outputs = {"noisy": noisy_val, "autoencoder": denoised}
    histories = {"autoencoder": history}

    # 4. The comparisons a reviewer would ask for. Classical filters cost seconds and always run (unless
    #    `--compare none`); the networks trained for comparison, on the same data for the same epochs, run
    #    with `--compare all` (each costs as much as the denoiser itself).
    if c.compare == "all":
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
    if c.compare != "none":
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
    save_run(work, denoiser, histories, metrics, f"denoising {data.name}")

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


# -- photos of any size: patch training ------------------------------------------------------------------------
def run_photos(c: Config, echo=print, verbose="auto") -> dict:
    """Train the photo denoiser (`keras_ae.models.photo`) on random patches of images of any size.

    `c.mode`: `clean` trains on (noisy, clean) pairs with fresh noise every patch; `n2v` (Noise2Void) sees only
    one fixed noisy copy of each image, as a user with noisy photos has; `n2n` (Noise2Noise) sees two fixed noisy
    shots of each image, or the noisy folder `c.dataset` paired by file name with the noisy folder `c.pairs`.
    Every mode is measured on the same whole validation images with the same fixed noise.
    """
    from keras_ae.denoise import blind_spot
    from keras_ae.models.photo import MULTIPLE, photo_denoiser
    from keras_ae.models.photo import denoise as denoise_any_size

    dataset, mode, pairs, compare, seed, batch_size = c.dataset, c.mode, c.pairs, c.compare, c.seed, c.batch_size
    noise = c.noise or PHOTO_NOISE
    epochs = PHOTO_EPOCHS if c.epochs is None else c.epochs  # `--epochs 0` and `--patch 0` are refused below,
    patch = PHOTO_PATCH if c.patch is None else c.patch  # not taken for the defaults
    started = time.perf_counter()
    training.check_settings(epochs, "mse", c.learning_rate)
    if mode not in MODES:
        raise UserError(f"--mode must be one of {', '.join(MODES)}, got '{mode}'")
    if pairs and mode != "n2n":
        raise UserError(f"--pairs {pairs} is for --mode n2n (two noisy shots of each scene), not --mode {mode}")
    if patch < MULTIPLE or patch % MULTIPLE:
        raise UserError(
            f"--patch must be a positive multiple of {MULTIPLE} (the photo model halves twice), got {patch}"
        )
    # `--noise none`: the images are noisy already (a user's photos); otherwise they are clean and noised here
    synthetic = str(noise).strip().lower() != "none"
    corrupt = noises.parse(noise) if synthetic else None
    if not synthetic and mode == "clean":
        raise UserError("--noise none says the images are noisy already: train with --mode n2v or --mode n2n")
    if not synthetic and mode == "n2n" and not pairs:
        raise UserError("--mode n2n on noisy images needs --pairs DIR: a second noisy shot of each, by file name")
    keras.utils.set_random_seed(seed)

    # 1. Data: whole images of any size; validation images are held out whole and measured whole, each with
    #    one fixed noisy copy. n2v and n2n see fixed noisy copies of the training images too, as a user's
    #    files are: never the clean images, never fresh noise.
    if isinstance(dataset, str) and dataset not in patchlib.PHOTO_SETS and not os.path.isdir(dataset):
        chosen_by = "--patch" if c.patch is not None else f"--pairs {pairs}" if pairs else f"--mode {mode}"
        raise UserError(
            f"{chosen_by} trains the photo denoiser, on a folder of images or a built-in photo set "
            f"({', '.join(patchlib.PHOTO_SETS)}): --dataset {dataset} is neither"
        )
    if pairs and not os.path.isdir(str(dataset)):
        raise UserError(f"--pairs {pairs} pairs with a folder: --dataset must be the folder of first shots")
    data = dataset if isinstance(dataset, patchlib.PhotoData) else patchlib.load_photos(str(dataset), seed=seed)
    train_images, val_images = data.train, data.validation
    patchlib.check_patch(train_images, patch)
    clean_val = val_images.all() if synthetic else None
    noisy_val = classical.noisy_copies(corrupt, clean_val, seed) if synthetic else val_images.all()
    echo(
        f"data: {data.name}, {len(train_images)} train / {len(val_images)} validation images of mixed sizes "
        f"({min(min(s) for s in train_images.sizes)} to {max(max(s) for s in train_images.sizes)} px); "
        f"noise {corrupt or 'none (noisy images)'}; mode {mode}; patches {patch}x{patch}"
    )
    per_epoch = min(patchlib.patches_per_epoch(train_images, patch), PHOTO_STEPS_PER_EPOCH * batch_size)
    steps = training.steps(per_epoch, batch_size)
    val_crops = patchlib.fixed_patches(val_images, patch, count=4 * batch_size, seed=seed)
    val_noisy_crops = corrupt.apply_fixed(val_crops, seed + 7) if synthetic else val_crops

    def batches(images, pairs_of):
        ds = patchlib.random_patches(images, patch, seed, per_epoch).batch(batch_size, drop_remainder=True)
        return ds.map(pairs_of, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)

    # 2. The training pairs of each mode, made in the tf.data pipeline.
    if mode == "clean":  # (noisy, clean), fresh noise for every patch
        train, validation = batches(train_images, corrupt.pairs()), (val_noisy_crops, val_crops)
    elif mode == "n2v":  # noisy images only: blind-spot masking (keras_ae.denoise.blind_spot)
        noisy_train = train_images
        if synthetic:
            noisy_train = patchlib.from_arrays(
                classical.noisy_copies(corrupt, train_images.all(), seed + 1), train_images.names
            )
        masking = blind_spot.Noise2VoidPairs(seed=seed)
        train, validation = batches(noisy_train, masking), masking.fixed(val_noisy_crops, seed)
    else:  # n2n: (shot A, shot B) of the same patch
        if pairs:
            matched = blind_spot.noise2noise_pairs(str(dataset), pairs)
            held_out = set(val_images.paths or [])
            shots = blind_spot.pair_images([m for m in matched if m[0] not in held_out])
            val_shots = patchlib.fixed_patches(
                blind_spot.pair_images([m for m in matched if m[0] in held_out]), patch, 4 * batch_size, seed
            )
            validation = blind_spot.split_pairs(val_shots)
        else:
            first = classical.noisy_copies(corrupt, train_images.all(), seed + 1)
            second = classical.noisy_copies(corrupt, train_images.all(), seed + 2)
            stacked = [np.concatenate(shot, axis=-1) for shot in zip(first, second, strict=True)]
            shots = patchlib.ImageSet(train_images.names, train_images.sizes, 2 * train_images.channels, stacked)
            validation = (val_noisy_crops, corrupt.apply_fixed(val_crops, seed + 8))
        train = batches(shots, blind_spot.SplitPairs(seed))

    out = c.out
    export_dir = c.export_dir
    work = runs.resume_or_start(out, as_dict(c), echo, sources=(c.dataset, c.pairs))

    def fit(name, model):
        echo(f"training {name} ({model.count_params():,} parameters, {epochs} epochs of {steps} steps)")
        return training.fit(
            model,
            train,
            validation,
            epochs=epochs,
            workdir=os.path.join(work, name),
            steps_per_epoch=steps,
            learning_rate=c.learning_rate,
            jit_compile=c.jit_compile,
            verbose=verbose,
        )

    # 3. The photo denoiser (a residual U-Net: keras_ae/models/photo.py says why this one).
    widths = tuple(c.filters) if c.filters else (32, 64, 128)
    denoiser = photo_denoiser(channels=train_images.channels, filters=widths)
    trained = blind_spot.blind_spot_trainer(denoiser) if mode == "n2v" else denoiser
    histories = {mode: fit("photo_denoiser", trained)}
    outputs = {"noisy": noisy_val, f"photo_denoiser ({mode})": [denoise_any_size(denoiser, x) for x in noisy_val]}

    # 4. The yardsticks on the same whole images: classical filters tuned on the validation images (on central
    #    crops, for time), BM3D when the `bm3d` package is installed, and with `--compare all` the same network
    #    trained with clean targets (what the clean images are worth, for n2v and n2n).
    if synthetic and compare != "none":
        tuned = classical.tune(noisy_val, clean_val, names=None if compare == "all" else ESSENTIAL_FILTERS)
        for name, method in tuned.items():
            outputs[name] = [method(x[None])[0] for x in noisy_val]
        bm3d = classical.bm3d_method(corrupt)
        if bm3d is not None:
            echo("running BM3D on the validation images")
            outputs[bm3d[0]] = [bm3d[1](x) for x in noisy_val]
    if synthetic and compare == "all" and mode != "clean":
        train, validation = batches(train_images, corrupt.pairs()), (val_noisy_crops, val_crops)
        reference = photo_denoiser(channels=train_images.channels, filters=widths)
        histories["clean"] = fit("photo_denoiser_clean", reference)
        outputs["photo_denoiser (clean)"] = [denoise_any_size(reference, x) for x in noisy_val]

    # 5. The numbers, per image then averaged, on the same table as the digits (none without clean images).
    metrics = {"psnr": {}, "ssim": {}, "noise": str(corrupt or "none"), "arch": "photo", "mode": mode}
    metrics.update(epochs=epochs, steps_per_epoch=steps, patch=patch, per_image_psnr={})
    for name, images in outputs.items() if synthetic else ():
        pairs_of_images = list(zip(clean_val, images, strict=True))
        scores = [psnr(c[None], x[None]) for c, x in pairs_of_images]
        metrics["psnr"][name] = float(np.mean(scores))
        metrics["ssim"][name] = float(np.mean([ssim(c[None], x[None]) for c, x in pairs_of_images]))
        metrics["per_image_psnr"][name] = dict(zip(val_images.names, scores, strict=True))
    others = [n for n in metrics["psnr"] if n in FILTER_ROWS]
    metrics["best_classical"] = max(others, key=metrics["psnr"].get) if others else None
    metrics["seconds"] = time.perf_counter() - started

    # 6. The pictures: a central crop of every validation image, clean / noisy / model / best classical.
    model_name = f"photo_denoiser ({mode})"
    rows = {"clean": clean_val, "noisy": noisy_val, model_name: outputs[model_name]}
    if metrics["best_classical"]:
        rows[metrics["best_classical"]] = outputs[metrics["best_classical"]]
    crop = min(128, *(min(s) for s in val_images.sizes))
    title = f"{mode}, noisy images (no clean reference)"
    if synthetic:
        title = f"{corrupt}: noisy {metrics['psnr']['noisy']:.1f} dB -> {metrics['psnr'][model_name]:.1f} dB"
    plots.image_rows(
        {name: np.stack([classical.central_crop(x, crop) for x in images]) for name, images in rows.items() if images},
        os.path.join(work, "denoise_grid.png"),
        title=title,
    )
    save_run(work, denoiser, histories, metrics, f"denoising {data.name} ({mode})")

    # 7. Export: a SavedModel and TFLite files whose `denoise` signature takes any size (padded inside).
    if export_dir:
        info = {"dataset": data.name, "noise": metrics["noise"], "mode": metrics["mode"], "metrics": metrics}
        calibration = [classical.central_crop(x, crop) for x in noisy_val]
        image_model.export_folder(denoiser, export_dir, calibration, info, flag="--export-dir")
    runs.commit(work, out)
    echo(summary(metrics) if metrics["psnr"] else "no clean images: nothing to measure against (see the pictures)")
    echo(f"wrote {out}/" + (f" and {export_dir}/" if export_dir else ""))
    return metrics


ESSENTIAL_FILTERS = ("gaussian_blur", "nl_means", "tv")
FILTER_ROWS = ("gaussian_blur", "blur_contrast", "nl_means", "tv", "bm3d", "bm3d (estimated sigma)")


def summary(metrics: dict) -> str:
    """The table printed at the end: every method, best first, with its gain over the noisy input."""
    noisy = metrics["psnr"]["noisy"]
    lines = [f"{'method':28s} {'PSNR (dB)':>10s} {'gain':>7s} {'SSIM':>6s}"]
    for name in sorted(metrics["psnr"], key=metrics["psnr"].get, reverse=True):
        psnr = metrics["psnr"][name]
        lines.append(f"{name:28s} {psnr:10.2f} {psnr - noisy:+7.2f} {metrics['ssim'][name]:6.3f}")
    return "\n".join(lines)


def save_run(work: str, denoiser, histories: dict, metrics: dict, title: str) -> None:
    """What every denoising run leaves in its folder beside its picture grid: the loss curves of every network
    it trained, the denoiser, its history and its numbers."""
    plots.training_curves(
        {f"{name} {key}": values for name, h in histories.items() for key, values in h.items() if key.endswith("loss")},
        os.path.join(work, "curves.png"),
        title=title,
    )
    denoiser.save(os.path.join(work, "model.keras"))
    runs.write_json(os.path.join(work, "history.json"), histories)
    runs.write_json(os.path.join(work, "metrics.json"), metrics)
