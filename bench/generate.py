"""Attribute vectors on MNIST: make thin digits thicker and keep their class; interpolation plausibility.

Stroke thickness is measured by ink mass (mean pixel value); "thin" digits are those below the training
set's first quartile. The thick cloud is full of 0s and 8s and the thin one of 1s, so a plain
S = centre(top quartile) - centre(bottom quartile) also says "become a 0". Three vectors are compared:

- `plain`: the quartiles of the whole training set;
- `label`: the same two quartiles, S fitted within each class and averaged (`balance_by=label`); a class
  with few members in one quartile (there is one thick 1) gives a noisy difference that counts as much as
  the others;
- `label, quartiles per class`: the thick and thin quartiles taken within each class, so every class
  contributes a difference of about 110 digits each side.

For thin digits and each strength: "thicker", the fraction with more ink than their plain reconstruction;
">= median", the fraction reaching the training set's median ink; "class kept", the fraction a digit
classifier (trained apart, with blur and noise) still reads as their true class, and "= recon", as the
class it reads on their plain reconstruction (strength 0 shows what the reconstruction alone loses).
The strength is chosen on validation digits (held out of every fit) by the generate recipe's rule,
`keras_ae.generate.judge.choose_strength` ("thicker" as success, "class kept" as preserved, both goals 0.9: the
weakest strength that reaches both), then measured on the test digits. Interpolation plausibility: classifier
confidence on decoded midpoints of random test pairs / that on plain reconstructions (and, beside it, on
pairs of the same class only, whose midpoint should still be that digit). With `--critic-weight` an ACAI
autoencoder (the plain one trained with a critic on its decoded mixes, `keras_ae.models.acai`) joins the
comparison.

    python bench/generate.py           # mnist-5k: 4,000 fit / 500 validation / 500 test digits; 968 CPU-s
    python bench/generate.py --dataset ../shared/data/mnist/t10k-images-idx3-ubyte.gz
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_ae import data as datasets  # noqa: E402
from keras_ae import training  # noqa: E402
from keras_ae.generate import judge as judges  # noqa: E402
from keras_ae.generate import latent  # noqa: E402
from keras_ae.measure.metrics import psnr  # noqa: E402
from keras_ae.models import build  # noqa: E402
from keras_ae.models.acai import AdversarialInterpolation, interpolation_critic  # noqa: E402

STRENGTHS = (0.0, 0.25, 0.5, 0.625, 0.75, 0.875, 1.0, 1.25, 1.5, 2.0)
FLOOR = 0.9


def quartiles(ink, labels=None):
    """Masks of the thick (top quartile) and thin (bottom quartile) digits, overall or within each class."""
    if labels is None:
        low, high = np.quantile(ink, [0.25, 0.75])
        return ink >= high, ink <= low
    thick, thin = np.zeros(len(ink), bool), np.zeros(len(ink), bool)
    for c in np.unique(labels):
        mine = labels == c
        low, high = np.quantile(ink[mine], [0.25, 0.75])
        thick |= mine & (ink >= high)
        thin |= mine & (ink <= low)
    return thick, thin


def edit_table(ae, vector, classifier, digits, labels, median):
    """Per strength: thicker, >= median, class kept (true label), class kept (= the reconstruction's)."""
    recon = ae.reconstruct(digits)
    base_ink = recon.mean(axis=(1, 2, 3))
    recon_class = classifier.decide(recon)["label"]
    rows = {}
    for strength in STRENGTHS:
        edited = vector.apply(ae, digits, strength)
        ink = edited.mean(axis=(1, 2, 3))
        read = classifier.decide(edited)["label"]
        rows[strength] = (
            float(np.mean(ink > base_ink)) if strength else 0.0,
            float(np.mean(ink >= median)),
            float(np.mean(read == labels)),
            float(np.mean(read == recon_class)),
        )
    return rows


def choose(rows) -> float:
    """The generate recipe's rule on this table: "thicker" is the success, "class kept" what is preserved."""
    curve = [{"strength": s, "success": row[0], "preserved": row[2]} for s, row in rows.items() if s]
    return judges.choose_strength(curve, preserved_floor=FLOOR, success_goal=FLOOR)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist-5k")
    parser.add_argument("--bottleneck", type=int, default=16)
    parser.add_argument("--filters", default="32,64")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--judge-epochs", type=int, default=5)
    parser.add_argument("--kl-weight", type=float, default=0.01)
    parser.add_argument("--critic-weight", type=float, default=0.1, help="also an ACAI autoencoder (0: none)")
    parser.add_argument("--validation", type=int, default=500, help="training digits held out to choose S's strength")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    keras.utils.set_random_seed(args.seed)
    data = datasets.load(args.dataset, seed=args.seed)
    x_all, y_all = data.arrays("train")
    x, y = x_all[: -args.validation], y_all[: -args.validation]
    x_val, y_val = x_all[-args.validation :], y_all[-args.validation :]
    x_test, y_test = data.arrays("validation")
    ink = x.mean(axis=(1, 2, 3))
    low, median = np.quantile(ink, [0.25, 0.5])
    thin_val = np.flatnonzero(x_val.mean(axis=(1, 2, 3)) <= low)
    thin_test = np.flatnonzero(x_test.mean(axis=(1, 2, 3)) <= low)
    thick, thin = quartiles(ink)
    print(
        f"{data.name}: {len(x)} fit / {len(x_val)} validation / {len(x_test)} test digits; "
        f"{len(thin_val)} thin validation and {len(thin_test)} thin test digits"
    )
    print("classes among thick:", np.bincount(y[thick], minlength=10), " thin:", np.bincount(y[thin], minlength=10))
    vectors = {
        "plain": (thick, thin, False),
        "label": (thick, thin, True),
        "label, quartiles per class": (*quartiles(ink, y), True),
    }

    classifier = judges.Judge.train(
        x, {"label": y}, classes={"label": data.class_names}, epochs=args.judge_epochs, seed=args.seed
    )
    print(f"classifier accuracy on test digits: {classifier.agreement(x_test, {'label': y_test})['label']:.3f}")

    filters = tuple(int(f) for f in args.filters.split(","))
    results, chosen = [], []
    models = {"AE": False, "ACAI": False, "VAE": True} if args.critic_weight else {"AE": False, "VAE": True}
    for name, variational in models.items():
        keras.utils.set_random_seed(args.seed)
        ae = build(
            "conv", data.shape, args.bottleneck, filters=filters, variational=variational, kl_weight=args.kl_weight
        )
        model = ae.autoencoder
        if name == "ACAI":
            critic = interpolation_critic(data.shape)
            model = AdversarialInterpolation(ae, critic, weight=args.critic_weight, seed=args.seed)
        pairs = tf.data.Dataset.from_tensor_slices((x, x)).shuffle(len(x), seed=args.seed).batch(32)
        with tempfile.TemporaryDirectory() as work:
            training.fit(model, pairs, None, args.epochs, work, steps_per_epoch=training.steps(len(x), 32), verbose=0)
        recon = ae.reconstruct(x_test)
        agreement = classifier.agreement(recon, {"label": y_test})["label"]
        rng = np.random.default_rng(args.seed)
        a, b = rng.permutation(len(x_test)), rng.permutation(len(x_test))
        midpoints = latent.interpolate(ae, x_test[a], x_test[b], steps=3)[:, 1]
        same = y_test[a] == y_test[b]
        same_a, same_b = _same_class_pairs(y_test, rng)
        same_mid = latent.interpolate(ae, x_test[same_a], x_test[same_b], steps=3)[:, 1]
        print(
            f"{name}: PSNR {psnr(x_test, recon):.2f} dB, classifier right on {agreement:.3f} of reconstructions; "
            f"plausibility {judges.plausibility(classifier, midpoints, recon):.3f} (random pairs, {same.mean():.0%} "
            f"of the same class); {judges.plausibility(classifier, same_mid, recon):.3f} on "
            f"{len(same_a)} same-class pairs"
        )
        for vector_name, (positive, negative, balanced) in vectors.items():
            groups = (y[positive], y[negative]) if balanced else None
            vector = latent.AttributeVector.fit(ae, x[positive], x[negative], name="thick", groups=groups)
            on_val = edit_table(ae, vector, classifier, x_val[thin_val], y_val[thin_val], median)
            on_test = edit_table(ae, vector, classifier, x_test[thin_test], y_test[thin_test], median)
            strength = choose(on_val)
            chosen.append((name, vector_name, strength, on_val.get(strength), on_test.get(strength)))
            results += [(name, vector_name, s, *on_test[s]) for s in STRENGTHS]

    print("\nthin test digits:")
    print(
        f"{'model':5s} {'vector':28s} {'strength':>8s} {'thicker':>8s} {'>= median':>9s} {'class kept':>10s} {'= recon':>8s}"
    )
    for name, vector_name, strength, *cells in results:
        print(
            f"{name:5s} {vector_name:28s} {strength:8.2f} "
            + " ".join(f"{c:{w}.3f}" for c, w in zip(cells, (8, 9, 10, 8), strict=True))
        )
    print("\nstrength chosen on validation (choose_strength: thicker and class kept >= 0.9), then on test:")
    for name, vector_name, strength, val, test in chosen:
        short = "" if val[0] >= FLOOR and val[2] >= FLOOR else " (short of a floor on validation)"
        print(
            f"{name:5s} {vector_name:28s} strength {strength:.2f}: validation thicker {val[0]:.3f} kept {val[2]:.3f}; "
            f"test thicker {test[0]:.3f}, >= median {test[1]:.3f}, class kept {test[2]:.3f} (= recon {test[3]:.3f})"
            + short
        )
    print(f"\n{time.perf_counter() - started:.0f} s")


def _same_class_pairs(labels, rng):
    """One random partner of the same class (not itself) for every digit."""
    first = np.arange(len(labels))
    second = np.array([rng.choice(np.flatnonzero((labels == labels[i]) & (first != i))) for i in first])
    return first, second


if __name__ == "__main__":
    main()
