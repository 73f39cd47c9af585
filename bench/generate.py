"""Attribute vectors on MNIST: make thin digits thicker, with and without balancing by class.

Stroke thickness is measured by ink mass (mean pixel value): "thick" digits are the top quartile of the
training set, "thin" ones the bottom quartile. The thick cloud is full of 0s and 8s, the thin one of 1s, so
a plain S = centre(thick) - centre(thin) also says "become a 0"; S fitted within each class and averaged
(`balance_by=label`) should not. For thin test digits and each strength: the fraction that gets more ink
than its plain reconstruction ("thicker"), the fraction that reaches the training set's median ink
(">= median"), and the fraction a digit classifier (trained apart, with blur and noise) still reads as the
true class ("class kept"). Also interpolation plausibility for AE and VAE: classifier confidence on decoded
midpoints of random test pairs / that on plain reconstructions.

    python bench/generate.py                       # mnist-5k; 640 s on 2 cores shared with other jobs
    python bench/generate.py --dataset ../shared/data/mnist/t10k-images-idx3-ubyte.gz --epochs 15
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_ae import data as datasets  # noqa: E402
from keras_ae import judge as judges  # noqa: E402
from keras_ae import latent, training  # noqa: E402
from keras_ae.models import build  # noqa: E402

STRENGTHS = (0.25, 0.5, 1.0, 1.5, 2.0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist-5k")
    parser.add_argument("--bottleneck", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--judge-epochs", type=int, default=5)
    parser.add_argument("--kl-weight", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    keras.utils.set_random_seed(args.seed)
    data = datasets.load(args.dataset, seed=args.seed)
    x, y = data.arrays("train")
    x_test, y_test = data.arrays("validation")
    ink, ink_test = x.mean(axis=(1, 2, 3)), x_test.mean(axis=(1, 2, 3))
    low, median, high = np.quantile(ink, [0.25, 0.5, 0.75])
    thick, thin = ink >= high, ink <= low
    thin_test = np.flatnonzero(ink_test <= low)
    print(f"{data.name}: {len(x)} train / {len(x_test)} test digits; {len(thin_test)} thin test digits")
    print("classes among thick:", np.bincount(y[thick], minlength=10), " thin:", np.bincount(y[thin], minlength=10))

    classifier = judges.Judge.train(
        x, {"label": y}, classes={"label": data.class_names}, epochs=args.judge_epochs, seed=args.seed
    )
    print(f"classifier accuracy on test digits: {classifier.agreement(x_test, {'label': y_test})['label']:.3f}")

    rows = []
    for name, variational in (("AE", False), ("VAE", True)):
        ae = build("conv", data.shape, args.bottleneck, variational=variational, kl_weight=args.kl_weight)
        training.compile_model(ae.autoencoder, decay_steps=args.epochs * training.steps(len(x), 32))
        ae.autoencoder.fit(x, x, batch_size=32, epochs=args.epochs, shuffle=True, verbose=0)
        recon = ae.reconstruct(x_test)
        agreement = classifier.agreement(recon, {"label": y_test})["label"]
        rng = np.random.default_rng(args.seed)
        a, b = rng.permutation(len(x_test)), rng.permutation(len(x_test))
        midpoints = latent.interpolate(ae, x_test[a], x_test[b], steps=3)[:, 1]
        confidence_mid = float(classifier.confidence(midpoints).mean())
        confidence_recon = float(classifier.confidence(recon).mean())
        print(
            f"{name}: classifier on reconstructions {agreement:.3f}; interpolation midpoints confidence "
            f"{confidence_mid:.3f} vs {confidence_recon:.3f} (plausibility {confidence_mid / confidence_recon:.3f})"
        )
        faces, labels = x_test[thin_test], y_test[thin_test]
        base_ink = recon[thin_test].mean(axis=(1, 2, 3))
        for balance in ("none", "label"):
            groups = (y[thick], y[thin]) if balance == "label" else None
            vector = latent.AttributeVector.fit(ae, x[thick], x[thin], name="thick", groups=groups)
            for strength in STRENGTHS:
                edited = vector.apply(ae, faces, strength)
                edited_ink = edited.mean(axis=(1, 2, 3))
                thicker = float(np.mean(edited_ink > base_ink))
                past_median = float(np.mean(edited_ink >= median))
                kept = float(np.mean(classifier.decide(edited)["label"] == labels))
                rows.append((name, balance, strength, thicker, past_median, kept))
    print(f"\n{'model':5s} {'balance-by':10s} {'strength':>8s} {'thicker':>8s} {'>= median':>9s} {'class kept':>10s}")
    for name, balance, strength, thicker, past_median, kept in rows:
        print(f"{name:5s} {balance:10s} {strength:8.2f} {thicker:8.3f} {past_median:9.3f} {kept:10.3f}")
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
