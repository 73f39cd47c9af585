"""The photo denoising table: the shipped blind model beside BM3D, a one-sigma model, Noise2Void and the digit U-Net.

    python bench/photo_denoise.py                                   # measure, print, write docs/benchmarks.md
    python bench/photo_denoise.py --package-model /work/photo/run/best.keras --train-info /work/photo/run/best.json
    python bench/photo_denoise.py --curve /work/photo/run/curve.csv  # also plot docs/photo_curve.png
    python bench/photo_denoise.py --budgets 10,20,40                # only the equal-budget table, as training goes on

`--package-model` first rebuilds keras_ae/pretrained/photo-gray/ from a `.keras` file (model.keras, SavedModel,
TFLite float32 and int8, metadata.json); the bench then measures the files as shipped and writes their
MODEL_CARD.md with the numbers.

Test images: camera, moon, coins and text from scikit-image (gray, 8-bit), never trained on. Noise: Gaussian of
sigma 15, 25 and 50 (out of 255), clipped to [0, 1] and rounded to 8 bits, saved as PNG and read back, as a
user's file is (seed 1000 * sigma + image index, the same noisy images train_photo.py logs). PSNR in dB of the
float output, clipped to [0, 1], against the clean 8-bit image.

Rows: the noisy input; BM3D (the `bm3d` package, told the true sigma; outputs cached under --cache, keyed by
image, sigma and a hash of the noisy pixels, because it takes ~20-60 s an image here); the shipped blind model
through Keras, and through LiteRT (float32, int8) in a process without TensorFlow; a model of the same
architecture trained for the one sigma and one trained by Noise2Void on noisy images only (both for
--train-minutes of CPU each, from the photo-train library code: left out with a note when it is missing); the
digit U-Net of `keras-ae recipe denoise` (runs/denoise/model.keras, or trained for --digit-epochs), in 28x28 tiles.
Seconds per 512x512 image (camera) with the runtime named.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import docs_block  # noqa: E402
import machine  # noqa: E402
import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEST = ("camera", "moon", "coins", "text")
SIGMAS = (15, 25, 50)
# The shipped model's training photos (issue 16): scikit-image's, and scikit-learn's two sample images.
TRAIN_PHOTOS = [
    "brick",
    "grass",
    "gravel",
    "hubble_deep_field",
    "immunohistochemistry",
    "rocket",
    "page",
    "cell",
    "horse",
    "retina",
    "microaneurysms",
    "clock",
]
SKLEARN_PHOTOS = ["china", "flower"]
NOISE_RANGE = (0, 55)
MACHINE = machine.describe()  # when the bench starts: the load its timings met
START, END = "<!-- photo-bench:start -->", "<!-- photo-bench:end -->"


# ---------------------------------------------------------------------------------------------------- images
def gray(image) -> np.ndarray:
    """float32 (H, W) in [0, 1] on the 8-bit grid, from any scikit-image / scikit-learn sample."""
    image = np.asarray(image)
    if image.dtype == bool:
        return image.astype(np.float32)
    if image.ndim == 3:
        import skimage.color

        return (np.round(skimage.color.rgb2gray(image[..., :3]) * 255) / 255).astype(np.float32)
    return (image.astype(np.float32) / 255.0).astype(np.float32)


def test_images(names=TEST) -> dict[str, np.ndarray]:
    import skimage.data

    return {name: gray(getattr(skimage.data, name)()) for name in names}


def training_photos() -> list[np.ndarray]:
    import skimage.data
    from sklearn.datasets import load_sample_images

    photos = [gray(getattr(skimage.data, name)()) for name in TRAIN_PHOTOS]
    return photos + [gray(image) for image in load_sample_images().images]


def noisy_8bit(clean: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noisy = np.clip(clean + sigma / 255 * rng.standard_normal(clean.shape), 0, 1)
    return (np.round(noisy * 255) / 255).astype(np.float32)


def save_and_read_png(image: np.ndarray, path: str) -> np.ndarray:
    from PIL import Image

    Image.fromarray((image * 255 + 0.5).astype(np.uint8)).save(path)
    with Image.open(path) as f:
        return np.asarray(f, np.float32) / 255.0


def psnr(output: np.ndarray, clean: np.ndarray) -> float:
    error = np.mean((np.clip(output, 0, 1).astype(np.float64) - clean) ** 2)
    return float(10 * np.log10(1.0 / error))


def representative_crops(count: int = 32, size: int = 128, seed: int = 0) -> list[np.ndarray]:
    """Noisy 8-bit crops of the training photos (sigma drawn from the training range): int8 calibration."""
    rng = np.random.default_rng(seed)
    photos = [p for p in training_photos() if min(p.shape) >= size]
    crops = []
    for i in range(count):
        photo = photos[i % len(photos)]
        y, x = rng.integers(0, photo.shape[0] - size + 1), rng.integers(0, photo.shape[1] - size + 1)
        sigma = rng.uniform(*NOISE_RANGE)
        crops.append(noisy_8bit(photo[y : y + size, x : x + size], sigma, seed + i)[..., None])
    return crops


# ---------------------------------------------------------------------------------------------------- methods
def timed(function, *args, repeat: int = 1):
    """(result of the last call, median seconds)."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function(*args)
        times.append(time.perf_counter() - start)
    return result, float(np.median(times))


def bm3d_cached(name: str, sigma: int, noisy: np.ndarray, cache: str):
    """(BM3D output, seconds of the run that made it); None when the `bm3d` package is not installed."""
    from keras_ae.measure import filters

    key = hashlib.sha1(noisy.tobytes()).hexdigest()[:12]
    path = os.path.join(cache, f"bm3d-{name}-s{sigma}-{key}.npz")
    if os.path.isfile(path):
        with np.load(path) as saved:
            return saved["image"], float(saved["seconds"])
    if not filters.has_bm3d():
        return None
    start = time.perf_counter()
    out = filters.bm3d(noisy, sigma / 255)
    seconds = time.perf_counter() - start
    os.makedirs(cache, exist_ok=True)
    np.savez(path + ".tmp.npz", image=out, seconds=seconds)
    os.replace(path + ".tmp.npz", path)
    return out, seconds


LITERT_SCRIPT = """
import json, sys, time
import numpy as np
from ai_edge_litert.interpreter import Interpreter

model_file, inputs, outputs = sys.argv[1:4]
noisy = dict(np.load(inputs))
interpreter = Interpreter(model_path=model_file, num_threads=2)
runner = interpreter.get_signature_runner("denoise")
results, seconds = {}, {}
for key, image in noisy.items():
    times = []
    for _ in range(2 if image.shape == (512, 512) else 1):  # the first call at a new size allocates
        start = time.perf_counter()
        out = runner(images=image[None, :, :, None])["images"][0, :, :, 0]
        times.append(time.perf_counter() - start)
    results[key] = out
    seconds[key] = min(times)
np.savez(outputs, **results)
print(json.dumps({"seconds": seconds, "tensorflow_imported": "tensorflow" in sys.modules}))
"""


def run_litert(model_file: str, noisy: dict[str, np.ndarray], work: str):
    """Outputs and seconds per image from LiteRT, in a process that never imports TensorFlow."""
    inputs, outputs = os.path.join(work, "litert-in.npz"), os.path.join(work, "litert-out.npz")
    np.savez(inputs, **noisy)
    result = subprocess.run(
        [sys.executable, "-c", LITERT_SCRIPT, model_file, inputs, outputs], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(f"LiteRT run failed: {result.stderr[-2000:]}")
    info = json.loads(result.stdout.strip().splitlines()[-1])
    assert not info["tensorflow_imported"]
    with np.load(outputs) as saved:
        return {key: saved[key] for key in saved.files}, info["seconds"]


def digit_unet(args, work: str):
    """The digit U-Net of today's `keras-ae recipe denoise`: runs/denoise/model.keras, or trained quickly."""
    path = os.path.join(ROOT, "runs", "denoise", "model.keras")
    if os.path.isfile(path):
        return path, "runs/denoise/model.keras"
    run_dir = os.path.join(args.cache, f"digit-unet-{args.digit_epochs}ep")
    path = os.path.join(run_dir, "model.keras")
    if not os.path.isfile(path):
        command = [sys.executable, "-m", "keras_ae.cli", "recipe", "denoise", "--epochs", str(args.digit_epochs)]
        command += ["--out", run_dir, "--no-export", "--compare", "none"]
        print("training the digit U-Net:", " ".join(command[2:]), flush=True)
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return path, f"`keras-ae recipe denoise --epochs {args.digit_epochs}` (mnist-5k, gaussian:0.4)"


# ---------------------------------------------------------------------------------------------------- the bench
def measure(args) -> dict:
    import keras

    from keras_ae import pretrained
    from keras_ae.export.image_model import predict_any_size

    clean = test_images(args.images)
    work = tempfile.mkdtemp(prefix="photo-bench-")
    noisy = {}
    for s in args.sigmas:
        for i, (name, image) in enumerate(clean.items()):
            generated = noisy_8bit(image, s, 1000 * s + TEST.index(name) if name in TEST else 1000 * s + i)
            noisy[(name, s)] = save_and_read_png(generated, os.path.join(work, f"{name}-s{s}.png"))
    key = lambda name, s: f"{name}@{s}"  # noqa: E731
    rows = {}  # method -> {"runtime", "seconds", "psnr": {name@sigma: dB}, "note"}

    def add(method, runtime, outputs, seconds, note=""):
        rows[method] = {
            "runtime": runtime,
            "seconds": seconds,
            "psnr": {key(n, s): psnr(out, clean[n]) for (n, s), out in outputs.items()},
            "note": note,
        }
        print(f"{method:38s} {summary_line(rows[method], args.sigmas)}", flush=True)

    add("noisy input", "-", noisy, None)

    # BM3D, told the true sigma
    outputs, seconds = {}, None
    for (name, s), image in noisy.items():
        result = bm3d_cached(name, s, image, args.cache)
        if result is None:
            break
        outputs[(name, s)] = result[0]
        if image.shape == (512, 512) and s == 25:
            seconds = result[1]
    if outputs:
        add("BM3D (known sigma)", "bm3d package (NumPy/SciPy, CPU)", outputs, seconds)
    else:
        print("BM3D skipped: the `bm3d` package is not installed (pip install 'keras-ae[bench]')")

    # the shipped blind model, as shipped
    model = pretrained.load()
    predict_any_size(model, noisy[next(iter(noisy))][..., None])  # trace once outside the timing
    outputs = {}
    for (name, s), image in noisy.items():
        outputs[(name, s)], took = timed(lambda x: predict_any_size(model, x[..., None])[..., 0], image, repeat=1)
    camera = next((img for (n, s), img in noisy.items() if img.shape == (512, 512)), None)
    seconds = (
        timed(lambda x: predict_any_size(model, x[..., None]), camera, repeat=3)[1] if camera is not None else None
    )
    add("shipped blind model", f"Keras {keras.__version__} (TensorFlow, CPU)", outputs, seconds)
    folder = pretrained.path()
    for mode in ("float32", "int8"):
        file = os.path.join(folder, pretrained.TFLITE_FILES[mode])
        flat = {key(n, s): img for (n, s), img in noisy.items()}
        results, times = run_litert(file, flat, work)
        outputs = {(n, s): results[key(n, s)] for (n, s) in noisy}
        seconds = next((times[k] for k, img in flat.items() if img.shape == (512, 512)), None)
        add(
            f"shipped blind model, TFLite {mode}", "LiteRT (ai_edge_litert, 2 threads, no TensorFlow)", outputs, seconds
        )

    # one-sigma and Noise2Void models, trained here for the same CPU time
    for method, outputs, seconds, note in trained_rows(args, noisy):
        if outputs is None:
            rows[method] = {"runtime": "-", "seconds": None, "psnr": {}, "note": note}
            print(f"{method}: left out ({note})")
        else:
            add(method, f"Keras {keras.__version__} (TensorFlow, CPU)", outputs, seconds, note)

    # the digit U-Net of today's recipe, in 28x28 tiles
    if not args.skip_digits:
        from keras_ae import io
        from keras_ae.denoise.tiling import apply_tiled

        path, where = digit_unet(args, work)
        digit = io.load_image_model(path)
        tile = digit.input_shape[:2]
        outputs = {}
        for (name, s), image in noisy.items():
            outputs[(name, s)] = apply_tiled(digit.predict, image[..., None], tile)[..., 0]
        seconds = None
        if camera is not None:
            seconds = timed(lambda x: apply_tiled(digit.predict, x[..., None], tile), camera)[1]
        add(
            "digit U-Net of today's recipe (28x28 tiles)",
            f"Keras {keras.__version__} (TensorFlow, CPU)",
            outputs,
            seconds,
            f"from {where}",
        )
    return {
        "rows": rows,
        "images": list(args.images),
        "sigmas": list(args.sigmas),
        "date": datetime.date.today().isoformat(),
        "machine": f"{MACHINE}; Python {platform.python_version()}",
        "command": "python bench/photo_denoise.py " + " ".join(sys.argv[1:]),
        "sizes": pretrained.sizes(),
    }


ONE_SIGMA = "one-sigma model (clean targets, σ25 only)"
BLIND_SAME_BUDGET = "blind model, the one-sigma row's budget (σ 0-55)"
N2V = "Noise2Void (noisy images only, σ25)"
SPECIALISED = "the shipped model fine-tuned on σ25 only"
TRAINED = (ONE_SIGMA, BLIND_SAME_BUDGET, N2V, SPECIALISED)


def trained_rows(args, noisy):
    """(method, outputs, seconds, note) for a model trained for the one sigma (25) with clean targets, one
    trained blind (sigma drawn per patch in [0, 55], as the shipped model: the like-for-like pair for the
    blind-vs-one-sigma floor) and a Noise2Void model trained on noisy patches alone, each for --train-minutes
    of this process's CPU time, on the shipped model's training photos, same architecture (models.photo),
    batch 16 of 64x64, Adam 1e-3 with a cosine decay over the budget. Trained models are cached under
    --cache (keyed by method, minutes, seed and `code_version`)."""
    if args.train_minutes <= 0:
        note = "not trained in this run (--train-minutes 0)"
        return [(method, None, None, note) for method in TRAINED]
    try:
        from keras_ae.models import photo
    except ImportError:
        note = "models/photo.py is not in this checkout"
        return [(method, None, None, note) for method in TRAINED]
    rows = []
    for method in TRAINED:
        try:
            model, note = specialised_model(args) if method == SPECIALISED else trained_model(args, method)
        except ImportError as error:
            rows.append((method, None, None, f"left out: {error}"))
            continue
        outputs = {(n, s): photo.denoise(model, image[..., None])[..., 0] for (n, s), image in noisy.items()}
        camera = next((img for img in noisy.values() if img.shape == (512, 512)), None)
        seconds = (
            timed(lambda x, m=model: photo.denoise(m, x[..., None]), camera, repeat=3)[1]
            if camera is not None
            else None
        )
        rows.append((method, outputs, seconds, note))
    return rows


def code_version() -> str:
    """A hash of the code a trained row depends on (its training function and what it calls, the photo model,
    the patches, blind spots), in its cache key: a model cached by older code once stood in a table as today's
    (docs/benchmarks.md). The tables and the card are left out, so rewording them keeps the cache."""
    import inspect

    from keras_ae.data import patches
    from keras_ae.denoise import blind_spot
    from keras_ae.models import photo

    parts = [trained_model, training_photos, gray, noisy_8bit, photo, patches, blind_spot]
    sources = [inspect.getsource(part) for part in parts] + [repr((TRAIN_PHOTOS, SKLEARN_PHOTOS, NOISE_RANGE))]
    return hashlib.sha256("".join(sources).encode()).hexdigest()[:10]


def trained_model(args, method):
    import keras
    import tensorflow as tf

    from keras_ae.data import patches
    from keras_ae.models import photo

    sigma = 25
    key = {ONE_SIGMA: "sigma25", BLIND_SAME_BUDGET: "blind0-55", N2V: "n2v"}[method]
    path = os.path.join(args.cache, f"{key}-{args.train_minutes:g}min-seed0-{code_version()}.keras")
    info_path = path + ".json"
    if os.path.isfile(path) and os.path.isfile(info_path):
        with open(info_path) as f:
            info = json.load(f)
        return keras.saving.load_model(path, safe_mode=True, compile=False), info["note"]
    if method == N2V:
        from keras_ae.denoise import blind_spot

        blind_spots = blind_spot.Noise2VoidPairs(seed=0)  # 10% of pixels replaced by a neighbour (never itself)
    keras.utils.set_random_seed(0)
    model = photo.photo_denoiser()
    rng = np.random.default_rng(0)
    photos = training_photos()
    if method == N2V:  # no clean image: each training photo exists once, noisy (as a user's folder would)
        photos = [noisy_8bit(p, sigma, 7000 + i) for i, p in enumerate(photos)]
    pipeline = patches.random_patches(patches.from_arrays([p[..., None] for p in photos]), 64, seed=0, per_epoch=10**9)
    crops = iter(pipeline.batch(16).as_numpy_iterator())
    optimizer = keras.optimizers.Adam(1e-3)

    @tf.function
    def step(x, y, weight):
        with tf.GradientTape() as tape:
            error = tf.square(model(x, training=True) - y) * weight
            loss = tf.reduce_sum(error) / tf.maximum(tf.reduce_sum(weight), 1.0)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=False))
        return loss

    budget = args.train_minutes * 60
    start, steps = time.process_time(), 0
    print(f"training {method} for {args.train_minutes:g} CPU minutes", flush=True)
    while (used := time.process_time() - start) < budget:
        optimizer.learning_rate.assign(1e-3 * (0.01 + 0.99 * 0.5 * (1 + np.cos(np.pi * used / budget))))
        batch = next(crops)
        if method == N2V:
            (x, weight), _ = blind_spots(batch)  # the loss only at the blind spots, against the noisy pixel
            step(x, batch, weight)
        elif method == BLIND_SAME_BUDGET:  # a sigma per patch, as bench/train_photo_model.py draws them
            sigmas = rng.uniform(*NOISE_RANGE, (len(batch), 1, 1, 1))
            step(noisy_8bit(batch, sigmas, int(rng.integers(1 << 31))), batch, np.ones_like(batch))
        else:
            step(noisy_8bit(batch, sigma, int(rng.integers(1 << 31))), batch, np.ones_like(batch))
        steps += 1
    wall = time.process_time() - start
    note = f"{steps:,} steps of 16 patches in {wall / 60:.1f} CPU minutes"
    model.save(path)
    with open(info_path, "w") as f:
        json.dump({"note": note, "steps": steps}, f)
    return model, note


def specialised_model(args):
    """The shipped blind model trained on for --train-minutes of CPU at sigma 25 alone (clean targets, Adam from
    1e-4 on a cosine): what giving up blindness buys at that level, from the same starting point. The blind
    run's own last 1,100 steps gained 0.01 dB, so this row minus the shipped row is the specialisation's gain,
    not more training's. Cached under a key holding the shipped weights and this function's code."""
    import inspect

    import keras
    import tensorflow as tf

    from keras_ae import pretrained
    from keras_ae.data import patches

    model = pretrained.load()
    source = b"".join(w.tobytes() for w in model.get_weights())  # the weights: repackaging keeps the key
    source += inspect.getsource(specialised_model).encode() + code_version().encode()
    key = hashlib.sha256(source).hexdigest()[:10]
    path = os.path.join(args.cache, f"shipped-sigma25-{args.train_minutes:g}min-{key}.keras")
    if os.path.isfile(path) and os.path.isfile(path + ".json"):
        with open(path + ".json") as f:
            return keras.saving.load_model(path, safe_mode=True, compile=False), json.load(f)["note"]
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    pipeline = patches.from_arrays([p[..., None] for p in training_photos()])
    crops = iter(patches.random_patches(pipeline, 64, seed=0, per_epoch=10**9).batch(16).as_numpy_iterator())
    optimizer = keras.optimizers.Adam(1e-4)

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x, training=True) - y))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))

    budget, start, steps = args.train_minutes * 60, time.process_time(), 0
    print(f"training {SPECIALISED} for {args.train_minutes:g} CPU minutes", flush=True)
    while (used := time.process_time() - start) < budget:
        optimizer.learning_rate.assign(1e-4 * (0.01 + 0.99 * 0.5 * (1 + np.cos(np.pi * used / budget))))
        clean = next(crops)
        step(noisy_8bit(clean, 25, int(rng.integers(1 << 31))), clean)
        steps += 1
    note = f"{steps:,} more steps of 16 patches at σ25 in {(time.process_time() - start) / 60:.1f} CPU minutes"
    model.save(path)
    with open(path + ".json", "w") as f:
        json.dump({"note": note, "steps": steps}, f)
    return model, note


# ---------------------------------------------------------------------------------------------------- reporting
def mean_psnr(row, sigma, images):
    values = [row["psnr"].get(f"{n}@{sigma}") for n in images]
    return None if any(v is None for v in values) else float(np.mean(values))


def summary_line(row, sigmas):
    parts = []
    for s in sigmas:
        m = mean_psnr(row, s, [k.split("@")[0] for k in row["psnr"] if k.endswith(f"@{s}")])
        parts.append(f"s{s} mean {m:.2f}" if m is not None else f"s{s} -")
    seconds = f"{row['seconds']:.2f} s" if row["seconds"] is not None else "-"
    return " | ".join(parts) + f" | {seconds}"


def fmt(value, digits=2):
    return "-" if value is None else f"{value:.{digits}f}"


def tables(result) -> str:
    rows, images, sigmas = result["rows"], result["images"], result["sigmas"]
    head = ["method", "runtime", "s / 512x512"]
    for s in sigmas:
        head += ([f"σ{s} camera"] if "camera" in images else []) + [f"σ{s} mean"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for method, row in rows.items():
        if not row["psnr"]:
            continue
        cells = [method, row["runtime"], fmt(row["seconds"], 3 if (row["seconds"] or 1) < 1 else 1)]
        for s in sigmas:
            if "camera" in images:
                cells.append(fmt(row["psnr"].get(f"camera@{s}")))
            cells.append(fmt(mean_psnr(row, s, images)))
        lines.append("| " + " | ".join(cells) + " |")
    full = ["", "Per image (PSNR, dB):", ""]
    head = ["method"] + [f"{n} σ{s}" for s in sigmas for n in images]
    full += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for method, row in rows.items():
        if row["psnr"]:
            full.append(
                "| " + " | ".join([method] + [fmt(row["psnr"].get(f"{n}@{s}")) for s in sigmas for n in images]) + " |"
            )
    notes = [f"- {method}: {row['note']}" for method, row in rows.items() if row["note"]]
    return "\n".join(lines + full + ([""] + notes if notes else []))


def floors(result) -> list[str]:
    """Issue 16's floors, each met or missed, with the numbers behind it."""
    rows, images = result["rows"], result["images"]

    def get(method, key):
        row = rows.get(method)
        if not row or not row["psnr"]:
            return None
        if key.startswith("mean"):
            return mean_psnr(row, int(key[4:]), images)
        return row["psnr"].get(key)

    blind, bm3d, one, n2v = "shipped blind model", "BM3D (known sigma)", ONE_SIGMA, N2V
    checks = [
        ("blind model >= BM3D on camera at σ25", get(blind, "camera@25"), get(bm3d, "camera@25"), 0.0),
        ("blind model >= BM3D, σ25 mean", get(blind, "mean25"), get(bm3d, "mean25"), 0.0),
        ("blind model >= BM3D, σ15 mean", get(blind, "mean15"), get(bm3d, "mean15"), 0.0),
        ("blind model >= BM3D, σ50 mean", get(blind, "mean50"), get(bm3d, "mean50"), 0.0),
        (
            "blind model within 0.3 dB of the one-sigma model, σ25 mean, equal training budgets",
            get(BLIND_SAME_BUDGET, "mean25"),
            get(one, "mean25"),
            -0.3,
        ),
        (
            "shipped blind model within 0.3 dB of itself fine-tuned on σ25 only, σ25 mean",
            get(blind, "mean25"),
            get(SPECIALISED, "mean25"),
            -0.3,
        ),
        ("Noise2Void >= noisy + 7 dB, σ25 mean", get(n2v, "mean25"), get("noisy input", "mean25"), 7.0),
        (
            "Noise2Void within 1.5 dB of the one-sigma model (clean targets), σ25 mean",
            get(n2v, "mean25"),
            get(one, "mean25"),
            -1.5,
        ),
    ]
    lines = []
    for text, value, reference, margin in checks:
        if value is None or reference is None:
            lines.append(f"- {text}: not measured in this run")
            continue
        verdict = "met" if value >= reference + margin else "**missed**"
        lines.append(f"- {text}: {verdict} ({value:.2f} vs {reference:.2f} dB)")
    lite, slow = rows.get("shipped blind model, TFLite float32"), rows.get(bm3d)
    if lite and slow and lite["seconds"] is not None and slow["seconds"] is not None:
        verdict = "met" if lite["seconds"] < slow["seconds"] / 10 else "**missed**"
        lines.append(
            f"- TFLite float32 under a tenth of BM3D's time on 512x512: {verdict} "
            f"({lite['seconds']:.1f} s vs {slow['seconds']:.0f} s)"
        )
    return lines


def docs_section(result) -> str:
    sizes = ", ".join(f"{name} {size / 1e6:.2f} MB" for name, size in result["sizes"].items())
    return "\n".join(
        [
            START,
            "## Photo denoising: the shipped blind model beside BM3D (issue 16)",
            "",
            f"`{result['command']}` ({result['date']}; {result['machine']}):",
            "",
            "Gaussian noise of sigma 15 / 25 / 50 (of 255), clipped and saved as 8-bit PNG; PSNR in dB; mean over "
            + ", ".join(result["images"])
            + " (scikit-image, gray; never trained on). BM3D is told the true sigma; the shipped model is blind "
            "(one model for sigma 0-55). Seconds: one 512x512 image (camera), runtime named; the machine is shared and "
            "its load changes during a run, and BM3D's seconds are those of the run that filled its cache, so compare "
            "seconds as rough ratios only.",
            "",
            tables(result),
            "",
            "TFLite: the files hold one `denoise` signature with input (1, 1, 1, 1); LiteRT's "
            "`resize_tensor_input(index, (1, H, W, 1))` + `allocate_tensors()` (or calling the signature runner with "
            "the image) runs any H and W, the reflect padding to a multiple of 4 and the crop inside the graph "
            "(measured: float32 within 1e-6 of Keras on 37x53, in a process without TensorFlow; "
            "tests/test_pretrained.py). No tile signatures are needed; large photos are tiled only to bound memory.",
            "",
            "Floors of issue 16:",
            "",
            *floors(result),
            "",
            f"Shipped files (keras_ae/pretrained/photo-gray/): {sizes}.",
            "",
            "![PSNR against training time](photo_curve.png)"
            if os.path.isfile(os.path.join(ROOT, "docs", "photo_curve.png"))
            else "",
            END,
        ]
    )


def write_docs(result) -> None:
    path = os.path.join(ROOT, "docs", "benchmarks.md")
    docs_block.replace_block(path, START, END, docs_section(result), append=True)
    print(f"wrote {os.path.relpath(path, ROOT)}")


README_START, README_END = "<!-- photo-numbers:start -->", "<!-- photo-numbers:end -->"


def readme_numbers(result) -> str:
    """The README's sentence of numbers, rewritten by every run so that it never drifts from the table."""
    rows, images, sigmas = result["rows"], result["images"], result["sigmas"]

    def means(method):
        row = rows.get(method)
        return " / ".join(fmt(mean_psnr(row, s, images)) for s in sigmas) if row and row["psnr"] else "-"

    shipped, lite, bm3d = rows.get("shipped blind model"), rows.get("shipped blind model, TFLite float32"), None
    bm3d = rows.get("BM3D (known sigma)")
    sigma_text = " / ".join(str(s) for s in sigmas)
    text = (
        f"On {', '.join(images)} (scikit-image, never trained on) with Gaussian noise of sigma {sigma_text} "
        f"saved as 8-bit PNGs, the shipped model gives **{means('shipped blind model')} dB** on average "
        f"(noisy input {means('noisy input')}"
    )
    if bm3d and bm3d["psnr"]:
        text += f"; BM3D told the true sigma {means('BM3D (known sigma)')}"
    text += ")"
    if lite and lite["seconds"] is not None:
        text += f", in {lite['seconds']:.1f} s per 512x512 image through TFLite float32"
        if bm3d and bm3d["seconds"] is not None:
            text += f" (BM3D {bm3d['seconds']:.0f} s)"
    elif shipped and shipped["seconds"] is not None:
        text += f", in {shipped['seconds']:.1f} s per 512x512 image through Keras"
    text += f" on {result['machine'].split(';')[0]} ({result['date']}; `bench/photo_denoise.py`)."
    return "\n".join([README_START, text, README_END])


def write_readme(result) -> None:
    if docs_block.replace_block(os.path.join(ROOT, "README.md"), README_START, README_END, readme_numbers(result)):
        print("updated the numbers in README.md")
    else:
        print("README.md has no photo-numbers block; not updated")


def read_curve(path: str) -> list[dict]:
    with open(path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r.get("step") and r["step"] != "step"]
    # k None: a value past the header (a run resumed from a curve.csv written before its "val" column)
    return [{k: float(v) for k, v in r.items() if k is not None and v not in (None, "")} for r in rows]


def plot_curve(path: str, out: str, bm3d_means: dict | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_curve(path)
    steps = [r["step"] for r in rows]  # steps, not minutes: the run went on on a CPU about 8 times faster a step
    fig, ax = plt.subplots(figsize=(7, 4.2))
    colors = {15: "tab:blue", 25: "tab:orange", 50: "tab:green"}
    for s, color in colors.items():
        ax.plot(steps, [r[f"mean{s}"] for r in rows], color=color, marker=".", label=f"blind model, σ{s} mean of 4")
        if bm3d_means and bm3d_means.get(s) is not None:
            ax.axhline(bm3d_means[s], color=color, linestyle="--", linewidth=1, label=f"BM3D σ{s} (known sigma)")
    ax.set_xlabel("training steps (16 patches of 64x64 each)")
    ax.set_ylabel("PSNR (dB), camera/moon/coins/text")
    ax.set_title("Blind photo denoiser: test PSNR while training")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    print(f"wrote {os.path.relpath(out, ROOT)} ({len(rows)} points, {steps[-1] if steps else 0:,.0f} steps)")


def write_card(result, info: dict) -> None:
    from keras_ae import pretrained

    rows = result["rows"]
    images = result["images"]
    lines = []
    for method in (
        "noisy input",
        "BM3D (known sigma)",
        "shipped blind model",
        "shipped blind model, TFLite float32",
        "shipped blind model, TFLite int8",
    ):
        row = rows.get(method)
        if row and row["psnr"]:
            cells = [method] + [fmt(mean_psnr(row, s, images)) for s in result["sigmas"]]
            cells += [fmt(row["psnr"].get("camera@25")), fmt(row["seconds"], 2), row["runtime"]]
            lines.append("| " + " | ".join(cells) + " |")
    head = "| | " + " | ".join(f"σ{s} mean" for s in result["sigmas"]) + " | σ25 camera | s / 512x512 | runtime |"
    table = "\n".join([head, "|" + "---|" * (len(result["sigmas"]) + 4)] + lines)
    sizes = "\n".join(
        f"| {name} | {size / 1e6:.2f} MB |" if size >= 1e5 else f"| {name} | {size / 1e3:.1f} KB |"
        for name, size in result["sizes"].items()
    )
    text = CARD.format(
        table=table,
        sizes=sizes,
        total=sum(result["sizes"].values()) / 1e6,
        date=result["date"],
        command=result["command"],
        machine=result["machine"],
        train_photos=", ".join(TRAIN_PHOTOS + SKLEARN_PHOTOS),
        training=info.get("training", "see metadata.json"),
        parameters=info.get("parameters", "?"),
        checkpoint=info.get("checkpoint", ""),
    )
    path = os.path.join(pretrained.path(), pretrained.CARD)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {os.path.relpath(path, ROOT)}")


CARD = """# photo-gray: a blind grayscale photo denoiser

What it does: removes Gaussian-like noise of any strength from sigma 0 to 55 (of 255) from a grayscale photo or
scan of any size, without being told the noise level. `keras-ae denoise photo.png -o out/` uses it when no
`--model` is given.

## Model
A residual U-Net (3 levels, 32-64-128 channels, one residual block per level, stride-2 convolutions down,
transposed convolutions up, additive skips; it predicts the noise and subtracts it from the input),
{parameters} parameters. Plain Keras layers: `keras.saving.load_model("model.keras", safe_mode=True)` loads it
without keras-ae. H and W of the bare model must be multiples of 4; the SavedModel and TFLite signatures
reflect-pad the image to the next multiple, crop the result back and clip it to [0, 1], so they take any size.

## Training
- Data: {train_photos} (scikit-image and scikit-learn sample photos, converted to gray on the 8-bit grid).
  Not trained on: camera, moon, coins, text (the test images below) and astronaut, chelsea, coffee (validation).
- Noise: blind Gaussian, sigma drawn uniformly in [0, 55]/255 per 64x64 patch, added to the clean patch,
  clipped to [0, 1] and rounded to 8 bits (as a noisy PNG is); random flips and 90-degree rotations.
- Loss: MSE on the clean patch; Adam, batch 16, the learning rate on a cosine decay over each run's time
  budget (`bench/train_photo_model.py`; a resumed run restarts Adam and its schedule).
- {training}
- Checkpoint chosen by PSNR on the validation photos at sigma 25{checkpoint}.

## Measured ({date}; {machine})
`{command}`; mean PSNR (dB) over camera, moon, coins and text with noisy 8-bit PNGs:

{table}

Full table, the other baselines and the training curve: docs/benchmarks.md in the repository.

## Files ({total:.1f} MB)
| file | size |
|---|---|
{sizes}

## Use
```bash
keras-ae denoise photo.png -o out/        # 8-bit in, 8-bit out; 16-bit in, 16-bit out; large images in tiles
```
```python
from keras_ae import pretrained
clean = pretrained.denoise(noisy)          # (H, W) float in [0, 1], any size

import tensorflow as tf                    # the SavedModel, no keras-ae needed
denoise = tf.saved_model.load("saved_model").signatures["denoise"]
clean = denoise(images=tf.constant(noisy[None, :, :, None]))["images"][0, :, :, 0]

from ai_edge_litert.interpreter import Interpreter   # TFLite: resize the input to the photo, then run
interpreter = Interpreter(model_path="model_float32.tflite")
runner = interpreter.get_signature_runner("denoise")     # calling it with a new size resizes the input
clean = runner(images=noisy[None, :, :, None].astype("float32"))["images"][0, :, :, 0]
```
With the plain interpreter API: `interpreter.resize_tensor_input(input_index, (1, H, W, 1))`, then
`allocate_tensors()`, `set_tensor`, `invoke`. Memory grows with H x W (about 0.6 KB a pixel in float32); for
large photos on a phone, run tiles of e.g. 512x512 with a 32-pixel overlap and keep each tile's centre, as
`keras-ae denoise` does.

## Limits
Gray only (convert RGB first, or run each channel). Trained on Gaussian noise: real camera noise is
signal-dependent and spatially correlated after demosaicing and JPEG, so results on it are weaker than on the
table above. Beyond sigma 55 it under-smooths.
"""


def package(args) -> dict:
    from keras_ae import pretrained

    info = {
        "noise": "gaussian sigma uniform in [0, 55]/255 per patch, clipped, 8-bit",
        "training_photos": list(TRAIN_PHOTOS + SKLEARN_PHOTOS),
    }
    if args.train_info and os.path.isfile(args.train_info):
        with open(args.train_info) as f:
            trained = json.load(f)
        info["checkpoint"] = {k: trained[k] for k in ("step", "seconds", "val25") if k in trained}
    print(f"packaging {args.package_model} into keras_ae/pretrained/photo-gray/", flush=True)
    meta = pretrained.package(args.package_model, representative=representative_crops(), info=info)
    return meta


# ---------------------------------------------------------------------------------------------------- budgets
BUDGETS_START, BUDGETS_END = "<!-- photo-budgets:start -->", "<!-- photo-budgets:end -->"


def budget_rows(args) -> list[dict]:
    """The three from-scratch rows (one-sigma, blind, Noise2Void) trained at each of --budgets CPU minutes
    (cached like the table's rows) and measured at sigma 25 on the test images: the floors that compare
    methods at equal training budgets, as training goes on, in one run of one command."""
    import copy

    clean, noisy = sigma25_images(args.images, tempfile.mkdtemp(prefix="photo-budgets-"))
    table = []
    for minutes in args.budgets:
        budget_args = copy.copy(args)
        budget_args.train_minutes = minutes
        row = {"minutes": minutes}
        for method in (ONE_SIGMA, BLIND_SAME_BUDGET, N2V):
            model, note = trained_model(budget_args, method)
            scores = sigma25_scores(model, clean, noisy)
            row[method] = {"mean25": float(np.mean(scores)), "steps": note.split(" steps")[0]}
            if args.self_ensemble and method != BLIND_SAME_BUDGET:
                scores = [psnr(self_ensemble(model, noisy[n]), clean[n]) for n in args.images]
                row[method]["ensemble25"] = float(np.mean(scores))
        print(budget_line(row), flush=True)
        table.append(row)
    return table


def sigma25_images(names, work: str) -> tuple[dict, dict]:
    """(clean, noisy) test images for the equal-budget comparisons: sigma 25, each noisy 8-bit PNG drawn once
    (seed 25,000 + image index), saved under `work` and read back."""
    clean = test_images(names)
    noisy = {
        name: save_and_read_png(noisy_8bit(image, 25, 25_000 + TEST.index(name)), os.path.join(work, f"{name}.png"))
        for name, image in clean.items()
    }
    return clean, noisy


def sigma25_scores(model, clean: dict, noisy: dict) -> list[float]:
    """PSNR of the model's output on each of `sigma25_images`, in their order."""
    from keras_ae.models import photo

    return [psnr(photo.denoise(model, noisy[n][..., None])[..., 0], clean[n]) for n in clean]


def self_ensemble(model, image: np.ndarray) -> np.ndarray:
    """The mean of the model's outputs over the 8 flips and 90-degree turns of a (H, W) image, each turned back:
    test-time self-ensembling, 8 times the time of one pass."""
    from keras_ae.models import photo

    outputs = []
    for turns in range(4):
        for flip in (False, True):
            view = np.rot90(image, turns)
            view = np.ascontiguousarray(view[:, ::-1] if flip else view)
            out = photo.denoise(model, view[..., None])[..., 0]
            outputs.append(np.rot90(out[:, ::-1] if flip else out, -turns))
    return np.mean(outputs, axis=0)


def budget_line(row) -> str:
    one, blind, n2v = (row[m]["mean25"] for m in (ONE_SIGMA, BLIND_SAME_BUDGET, N2V))
    counts = [int(row[m]["steps"].replace(",", "")) for m in (ONE_SIGMA, BLIND_SAME_BUDGET, N2V)]
    steps = f"{min(counts):,}-{max(counts):,}"
    line = (
        f"| {row['minutes']:g} ({steps} steps) | {one:.2f} | {blind:.2f} | {blind - one:+.2f} | "
        f"{n2v:.2f} | {n2v - one:+.2f} |"
    )
    if "ensemble25" in row[N2V]:
        one_x8, n2v_x8 = row[ONE_SIGMA]["ensemble25"], row[N2V]["ensemble25"]
        line += f" {one_x8:.2f} | {n2v_x8:.2f} | {n2v_x8 - one_x8:+.2f} |"
    return line


def budgets_section(table, args) -> str:
    command = "python bench/photo_denoise.py " + " ".join(sys.argv[1:])
    head = (
        "| CPU minutes each | one-sigma | blind (σ 0-55) | blind - one-sigma (floor >= -0.3) | Noise2Void | "
        "Noise2Void - one-sigma (floor >= -1.5) |"
    )
    rule = "|---|---|---|---|---|---|"
    if args.self_ensemble:
        head += " one-sigma, x8 | Noise2Void, x8 | difference, x8 |"
        rule += "---|---|---|"
    return "\n".join(
        [
            BUDGETS_START,
            f"`{command}` ({datetime.date.today().isoformat()}; {MACHINE}; Python {platform.python_version()}):",
            "",
            "σ25 mean PSNR (dB) over " + ", ".join(args.images) + ", each noisy 8-bit PNG drawn once (seed 25,000 + "
            "image index); each model trained from scratch for that many CPU minutes of its own process "
            "(`trained_model`: batch 16 of 64x64, Adam 1e-3 on a cosine over the budget), so every budget is a "
            "run of its own, not a checkpoint of a longer one."
            + (
                " x8: test-time self-ensembling (`self_ensemble`: the mean over the 8 flips and 90-degree turns)."
                if args.self_ensemble
                else ""
            ),
            "",
            head,
            rule,
            *[budget_line(row) for row in table],
            BUDGETS_END,
        ]
    )


def write_budgets(table, args) -> None:
    path = os.path.join(ROOT, "docs", "benchmarks.md")
    if docs_block.replace_block(path, BUDGETS_START, BUDGETS_END, budgets_section(table, args)):
        print(f"wrote the budgets table into {os.path.relpath(path, ROOT)}")
    else:
        print("docs/benchmarks.md has no photo-budgets block; not updated")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--package-model", help="rebuild keras_ae/pretrained/photo-gray/ from this .keras first")
    parser.add_argument("--train-info", help="the training run's best.json (step, seconds) for the model card")
    parser.add_argument("--training-note", default=None, help="one line on training time and CPU for the card")
    parser.add_argument("--images", default=",".join(TEST))
    parser.add_argument("--sigmas", default="15,25,50")
    parser.add_argument("--train-minutes", type=float, default=10.0, help="CPU minutes for each trained row")
    parser.add_argument("--digit-epochs", type=int, default=3)
    parser.add_argument("--skip-digits", action="store_true")
    parser.add_argument("--curve", help="training curve.csv to plot into docs/photo_curve.png")
    parser.add_argument("--curve-only", action="store_true", help="only plot the curve")
    parser.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "keras-ae-photo-bench"))
    parser.add_argument("--no-docs", action="store_true", help="print only; do not write docs or the card")
    parser.add_argument(
        "--reuse-last", action="store_true", help="write docs and the card from the last measured run (in --cache)"
    )
    parser.add_argument(
        "--budgets",
        help="only the equal-budget table: train the one-sigma, blind and Noise2Void rows at each of these CPU "
        "minutes (e.g. 10,20,40) and write it into docs/benchmarks.md",
    )
    parser.add_argument(
        "--self-ensemble", action="store_true", help="with --budgets: also the one-sigma and Noise2Void rows x8"
    )
    args = parser.parse_args()
    args.images = tuple(args.images.split(","))
    args.sigmas = tuple(int(s) for s in args.sigmas.split(","))
    os.makedirs(args.cache, exist_ok=True)  # a new --cache folder starts empty
    if args.budgets:
        args.budgets = [float(m) for m in args.budgets.split(",")]
        table = budget_rows(args)
        if not args.no_docs:
            write_budgets(table, args)
        return
    meta = package(args) if args.package_model else None
    result = None
    if args.reuse_last:
        from keras_ae import pretrained

        with open(os.path.join(args.cache, "last-result.json")) as f:
            result = json.load(f)
        result["sizes"] = pretrained.sizes()
        print(tables(result))
    elif not args.curve_only:
        result = measure(args)
        print()
        print(tables(result))
        result_path = os.path.join(args.cache, "last-result.json")
        with open(result_path, "w") as f:
            json.dump(result, f, indent=1)
    if args.curve:
        bm3d, last = None, os.path.join(args.cache, "last-result.json")
        if result is None and os.path.isfile(last):  # --curve-only: BM3D's lines from the last measuring run
            with open(last) as f:
                result_for_lines = json.load(f)
            rows = result_for_lines["rows"].get("BM3D (known sigma)")
            if rows:
                bm3d = {s: mean_psnr(rows, s, result_for_lines["images"]) for s in result_for_lines["sigmas"]}
        if result and "BM3D (known sigma)" in result["rows"]:
            bm3d = {s: mean_psnr(result["rows"]["BM3D (known sigma)"], s, result["images"]) for s in result["sigmas"]}
        plot_curve(args.curve, os.path.join(ROOT, "docs", "photo_curve.png"), bm3d)
    if result and not args.no_docs:
        write_docs(result)
        write_readme(result)
        from keras_ae import pretrained

        with open(os.path.join(pretrained.path(), "metadata.json")) as f:
            meta = meta or json.load(f)
        info = {"parameters": f"{meta.get('parameters', 0):,}"}
        checkpoint = meta.get("info", {}).get("checkpoint")
        if checkpoint:
            info["checkpoint"] = (
                f": step {int(checkpoint['step']):,}, {checkpoint['seconds'] / 60:.0f} min into training"
            )
        if args.training_note:
            info["training"] = args.training_note
        elif checkpoint:
            info["training"] = (
                f"Training: {int(checkpoint['step']):,} steps of 16 patches, {checkpoint['seconds'] / 3600:.2f} h "
                "on 2 AMD EPYC cores (AVX2 only) shared with other jobs"
            )
            if args.curve and os.path.isfile(args.curve) and read_curve(args.curve):
                curve = read_curve(args.curve)
                last = curve[-1]
                later = [r for r in curve if r["step"] > checkpoint["step"]]
                if later and max(r["val25"] for r in later) <= checkpoint.get("val25", float("inf")):
                    info["training"] += (
                        f"; the run went on to step {int(last['step']):,} ({last['seconds'] / 3600:.2f} h) "
                        "without beating this checkpoint on validation"
                    )
                elif later:
                    info["training"] += (
                        f"; the run went on (step {int(last['step']):,}, {last['seconds'] / 3600:.2f} h) and a "
                        "later checkpoint scores higher on validation: this folder is not the run's best yet"
                    )
            info["training"] += "."
        write_card(result, info)


if __name__ == "__main__":
    main()
