"""Generate by editing codes: perturb, interpolate, and add an attribute ("add a smile"), measured by a judge.

The seed's fourth use. An autoencoder's decoder turns any code into an image, so changing e(X) and decoding
makes new images: e(X) + e' with e' random (perturbation), a·e(A) + (1 − a)·e(B) (interpolation), and
e(X) + strength·S where S = centre of the codes of images with an attribute − centre of those without it
(attribute vectors). This recipe trains three conv autoencoders of one shape on the same data: a plain one,
the same trained with ACAI's critic (`keras_ae.models.acai`: a critic guesses how two codes were mixed from
the decoded mix, and the autoencoder learns to leave it nothing to guess, so a mix decodes to a face rather
than a blend of two) and a variational twin. It fits S on the training faces and measures every edit with
a judge: a classifier trained apart from the models, with blur and noise augmentation so that it reads decoded
images fairly (its agreement with the true attributes on plain reconstructions is reported first; nothing
else it says counts if that is low).

- `attribute.success`: held-out faces without the attribute that the judge calls "with" after + S;
- `attribute.preserved`: those whose other attributes (glasses, eyes, position) it judges unchanged, compared
  with the plain reconstruction;
- the strength is chosen on validation faces (the weakest one whose success reaches 0.9 while `preserved`
  stays >= 0.9) and only then measured on test faces; the whole curve is reported for both;
- `interpolation.plausibility`: judge confidence on decoded midpoints / that on plain reconstructions,
  where confidence is the mean over the judge's yes/no heads of the probability of its own verdict; beside it
  the same on pairs alike in every yes/no attribute, per head, and (smileys) on faces drawn half-way.

Data: the built-in `smileys` (attribute `smile`), or any data set with attributes (`celeba:/path`, `Smiling`).
Runtime: the default run (6,000 smileys, 32x32, a judge and three models of 20 epochs; the ACAI one costs 2.7
times the plain one per step) took 7 min 16 s on 2 free cores (`/usr/bin/time`: 701 s user + 47 s system).
Writes into `--out`: attribute.png, interpolation.png, perturbation.png, latent_attribute.png, metrics.json,
config.json, history.json, judge.keras (+ .json: its heads), and per model `{ae,acai,vae}.keras` with its
fitted vector `{ae,acai,vae}_<attribute>.npz`.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import keras
import numpy as np

from keras_ae import data as datasets
from keras_ae import runs, training
from keras_ae.config import TrainingSettings, as_dict, configure, setting
from keras_ae.data import smileys
from keras_ae.errors import UserError
from keras_ae.generate import judge as judges
from keras_ae.generate import latent
from keras_ae.generate.latent import check_attribute
from keras_ae.measure import plots
from keras_ae.models import build
from keras_ae.models.acai import AdversarialInterpolation, interpolation_critic

STRENGTHS = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0)
POSITION = ("face_x", "face_y")  # continuous attributes the judge reads and + S must keep
POSITION_TOLERANCE = 0.03  # of the image's width: one pixel at 32x32
PRESERVED_FLOOR = 0.9
SUCCESS_GOAL = 0.9  # the strength is the weakest that reaches it on validation (see judge.choose_strength)


def binary_attributes(data) -> list[str]:
    """Attributes that are 0 or 1 for every training example: the ones a judge can call."""
    return [n for n, v in data.attributes["train"].items() if set(np.unique(v)) <= {0, 1}]


@dataclass(kw_only=True)
class Config(TrainingSettings):
    dataset: str | datasets.ImageData = setting("smileys", "A data set with attributes.")
    attribute: str = setting("smile", "The attribute to add.")
    balance_by: str | None = setting(None, "Fit S within each group of this attribute (or `label`).")
    bottleneck: int = setting(32)
    filters: tuple[int, ...] = setting((16, 32), "Channels per conv stage.", metavar="16,32")
    kl_weight: float = setting(0.05, "Weight of the VAE's KL term.")
    critic_weight: float = setting(
        0.1, "Also train an ACAI autoencoder: weight of its critic's verdict on decoded mixes (0: none)."
    )
    variational: bool = setting(True, "Also train the VAE.")
    epochs: int = setting(20)
    judge_epochs: int = setting(6)
    batch_size: int = setting(32)
    learning_rate: float = setting(1e-3)
    seed: int = setting(0)
    out: str = setting("runs/generate", "Run folder.")


def run(config: Config | None = None, *, echo=print, verbose="auto", **settings) -> dict:
    c = configure(Config, config, settings)
    started = time.perf_counter()
    training.check_settings(c.epochs, "mse", c.learning_rate)
    if c.judge_epochs < 1:
        raise UserError(f"--judge-epochs must be at least 1, got {c.judge_epochs}")
    if not 0 <= c.critic_weight < float("inf"):
        raise UserError(f"--critic-weight must be 0 (no ACAI model) or a positive number, got {c.critic_weight}")

    # 1. Data with attributes; the validation split is halved into validation (to choose the strength)
    #    and test (to measure at that strength).
    keras.utils.set_random_seed(c.seed)
    data = c.dataset if isinstance(c.dataset, datasets.ImageData) else datasets.load(c.dataset, seed=c.seed)
    check_attribute(data, c.attribute)
    if c.balance_by is not None and c.balance_by != "label":
        check_attribute(data, c.balance_by, "--balance-by")
    x_train, labels_train = data.arrays("train")
    x_held, _ = data.arrays("validation")
    truth_train, truth_held = data.attributes["train"], data.attributes["validation"]
    arrays = (x_train, labels_train, truth_train, x_held, truth_held)
    half = len(x_held) // 2
    val, test = slice(0, half), slice(half, None)
    binary = binary_attributes(data)
    others = [n for n in binary if n != c.attribute]
    position = [n for n in POSITION if n in truth_train]
    echo(
        f"data: {data.name}, {len(x_train)} train / {half} validation / {len(x_held) - half} test images of "
        f"{data.shape}; attribute '{c.attribute}', kept: {', '.join(others + position) or 'nothing else'}"
    )

    # 2. The judge, trained on the training images with blur and noise, never on anything decoded.
    echo(f"training the judge ({c.judge_epochs} epochs)")
    judge = judges.Judge.train(
        x_train, truth_train, binary=binary, continuous=position, epochs=c.judge_epochs, seed=c.seed
    )
    on_test = {n: v[test] for n, v in truth_held.items()}
    metrics = {"judge": {"accuracy_on_test_images": judge.agreement(x_held[test], on_test)}}
    if data.name == "smileys":
        # The most interpolation.plausibility can be: faces drawn half-way between the same random pairs
        # of test faces the models interpolate (a sad and a smiling face meet at a flat mouth), over the
        # test faces themselves.
        first, second = _pairs(len(x_held) - half, c.seed)
        middle = smileys.drawn_midpoints(
            {n: v[first] for n, v in on_test.items()}, {n: v[second] for n, v in on_test.items()}, data.shape[0], c.seed
        )
        metrics["judge"]["drawn_midpoints_plausibility"] = judges.plausibility(judge, middle, x_held[test])

    def kept(reference: dict, each: bool = False):
        """Per image: every other attribute judged as on the plain reconstruction, the face within a pixel
        (with `each`, that answer per attribute)."""

        def check(images):
            verdicts = judge.decide(images)
            same = {name: verdicts[name] == reference[name] for name in others}
            same |= {name: np.abs(verdicts[name] - reference[name]) <= POSITION_TOLERANCE for name in position}
            return same if each else np.all(list(same.values()) or [np.ones(len(images), bool)], axis=0)

        return check

    # 3. The models: a plain conv autoencoder, (with --critic-weight) the same trained with ACAI's critic on
    #    its decoded mixes, and (with --variational) its VAE twin, all trained alike.
    work = runs.resume_or_start(c.out, as_dict(c), echo, sources=(c.dataset,))
    judge.save(os.path.join(work, "judge.keras"))
    kinds = {"ae": {}}
    if c.critic_weight:
        kinds["acai"] = {}
    if c.variational:
        kinds["vae"] = {"variational": True, "kl_weight": c.kl_weight}
    histories, pictures = {}, {}
    for name, options in kinds.items():
        ae = build("conv", data.shape, c.bottleneck, filters=c.filters, **options)
        echo(f"training the {name.upper()} ({ae.autoencoder.count_params():,} parameters, {c.epochs} epochs)")
        model = ae.autoencoder
        if name == "acai":
            model = AdversarialInterpolation(ae, interpolation_critic(data.shape), weight=c.critic_weight, seed=c.seed)
        histories[name] = training.fit_data(
            model,
            data,
            c.batch_size,
            os.path.join(work, name),
            c.seed,
            epochs=c.epochs,
            learning_rate=c.learning_rate,
            jit_compile=c.jit_compile,
            verbose=verbose,
        )
        report, pictures[name] = _measure(ae, judge, arrays, c.attribute, c.balance_by, kept, (val, test), c.seed)
        metrics[name] = report
        ae.save(os.path.join(work, f"{name}.keras"))
        pictures[name]["vector"].save(os.path.join(work, f"{name}_{c.attribute}.npz"))
        a, i = report["attribute"], report["interpolation"]
        echo(
            f"{name}: judge agreement {report['judge']['agreement']:.3f}; + S at strength {a['strength']:g}: "
            f"success {a['success']:.3f}, preserved {a['preserved']:.3f}; "
            f"interpolation plausibility {i['plausibility']:.3f} ({i['plausibility_same_attributes'] or 0:.3f} on "
            f"{i['pairs_same_attributes']} pairs alike in every yes/no attribute)"
        )

    # 4. The pictures, every model in one figure each.
    sad = pictures["ae"]["faces"]
    rows = {"original": sad, "AE reconstruction": pictures["ae"]["reconstruction"]}
    for name in kinds:
        rows[f"{name.upper()} + S ({metrics[name]['attribute']['strength']:g})"] = pictures[name]["edited"]
    plots.image_rows(rows, os.path.join(work, "attribute.png"), title=f"adding '{c.attribute}' to held-out faces")
    strips = {f"{n.upper()} {k + 1}": s for n in kinds for k, s in enumerate(pictures[n]["strips"][:3])}
    plots.image_rows(strips, os.path.join(work, "interpolation.png"), title="decoded (1 - t) e(A) + t e(B)")
    shaken = {}
    for n in kinds:
        for k, (face, variants) in enumerate(zip(sad[:3], pictures[n]["perturbed"][:3], strict=True)):
            shaken[f"{n.upper()} {k + 1}"] = np.concatenate([face[None], variants])
    plots.image_rows(
        shaken, os.path.join(work, "perturbation.png"), title="original, then decoded e(x) + e', e' ~ N(0, (0.5 sd)^2)"
    )
    plots.attribute_clouds(
        {f"{n.upper()} codes": pictures[n]["clouds"] for n in kinds},
        os.path.join(work, "latent_attribute.png"),
        names=(c.attribute, f"not {c.attribute}"),
    )
    metrics["attribute"] = c.attribute
    metrics["balance_by"] = c.balance_by
    metrics["epochs"] = c.epochs
    metrics["seconds"] = time.perf_counter() - started
    runs.write_json(os.path.join(work, "history.json"), histories)
    runs.write_json(os.path.join(work, "metrics.json"), metrics)
    runs.commit(work, c.out)
    echo(f"wrote {c.out}/ in {metrics['seconds']:.0f} s")
    return metrics


def _pairs(count: int, seed: int):
    """Random pairs of test images to interpolate between: two permutations."""
    rng = np.random.default_rng(seed)
    return rng.permutation(count), rng.permutation(count)


def _measure(ae, judge, arrays, attribute, balance_by, kept, splits, seed):
    """Every number for one model, and the images its pictures need."""
    x_train, labels_train, truth_train, x_held, truth_held = arrays
    val, test = splits
    report = {}

    # Judge agreement with the truth on plain reconstructions of test images.
    recon = ae.reconstruct(x_held)
    agreement = judge.agreement(recon[test], {n: v[test] for n, v in truth_held.items()})
    report["judge"] = {"agreement": min(agreement.values()), "per_attribute": agreement}

    # S from the training codes (balanced within groups with --balance-by).
    has = truth_train[attribute] == 1
    groups = None
    if balance_by:
        group = labels_train if balance_by == "label" else truth_train[balance_by]
        groups = (group[has], group[~has])
    vector = latent.AttributeVector.fit(
        ae, x_train[has], x_train[~has], name=attribute, groups=groups, balance_by=balance_by or ""
    )

    # The strength curve on validation faces without the attribute; the chosen strength, then on test faces.
    def curve(part):
        chosen = np.flatnonzero(truth_held[attribute][part] == 0)
        faces = x_held[part][chosen]
        reference = judge.decide(recon[part][chosen])
        return (
            judges.strength_curve(
                lambda s: vector.apply(ae, faces, s),
                STRENGTHS,
                success=lambda images: judge.decide(images)[attribute] == 1,
                preserved=kept(reference),
            ),
            faces,
            reference,
        )

    validation_curve, _, _ = curve(val)
    strength = judges.choose_strength(validation_curve, PRESERVED_FLOOR, SUCCESS_GOAL)
    test_curve, faces, reference = curve(test)
    at = next(p for p in test_curve if p["strength"] == strength)
    each = kept(reference, each=True)(vector.apply(ae, faces, strength))
    report["attribute"] = {
        "strength": strength,
        "success": at["success"],
        "preserved": at["preserved"],
        "preserved_each": {name: float(np.mean(same)) for name, same in each.items()},
        "faces": len(faces),
        "validation_curve": validation_curve,
        "test_curve": test_curve,
        "vector_norm": float(np.linalg.norm(vector.vector)),
    }

    # Interpolation: midpoints between random pairs of test images, against their plain reconstructions.
    x_test = x_held[test]
    first, second = _pairs(len(x_test), seed)
    strips = latent.interpolate(ae, x_test[first], x_test[second], steps=7)
    midpoints = strips[:, 3]
    # Most random pairs differ in some yes/no attribute (glasses or not), and no face lies half-way
    # between those: the same ratio on pairs that agree in every one is reported beside the floor's number,
    # and each head's confidence, to show where the doubt is.
    alike = np.all([truth_held[n][test][first] == truth_held[n][test][second] for n in judge.binary], axis=0)
    on_midpoints, on_reconstructions = judge.confidences(midpoints), judge.confidences(recon[test])
    report["interpolation"] = {
        "plausibility": judges.plausibility(judge, midpoints, recon[test]),
        "pairs": len(x_test),
        "plausibility_same_attributes": (
            judges.plausibility(judge, midpoints[alike], recon[test]) if alike.any() else None
        ),
        "pairs_same_attributes": int(alike.sum()),
        "confidence_by_head": {
            n: {"midpoints": float(on_midpoints[n].mean()), "reconstructions": float(on_reconstructions[n].mean())}
            for n in on_midpoints
        },
    }

    # Perturbation: e' of half the codes' spread per dimension; plausibility as for interpolation.
    spread = ae.embed(x_train).std(axis=0)
    perturbed = latent.perturb(ae, faces[:8], 0.5 * spread, count=8, seed=seed)
    shaken = latent.perturb(ae, x_test, 0.5 * spread, count=1, seed=seed)[:, 0]
    report["perturbation"] = {"scale": "0.5 x the codes' standard deviation per dimension"}
    report["perturbation"]["plausibility"] = judges.plausibility(judge, shaken, recon[test])

    # The 2-D picture of the codes with and without the attribute, and of S between their centres.
    codes = ae.embed(x_train[:2000])
    basis = latent.projection(codes, vector.vector)
    flat = codes @ basis.T
    chosen = has[:2000]
    pictures = {
        "vector": vector,
        "faces": faces[:10],
        "reconstruction": ae.reconstruct(faces[:10]),
        "edited": vector.apply(ae, faces[:10], strength),
        "strips": strips[:3],
        "perturbed": perturbed,
        "clouds": (flat[chosen], flat[~chosen]),
    }
    return report, pictures
