"""Generation by editing codes: the VAE, perturb/interpolate/attribute vectors, the CLI, the recipe, CelebA."""

from __future__ import annotations

import json
import os

import keras
import numpy as np
import pytest
from conftest import assert_one_line_error
from PIL import Image

from keras_ae import training
from keras_ae.data.smileys import smileys
from keras_ae.errors import UserError
from keras_ae.generate import latent
from keras_ae.generate.latent import AttributeVector, fit_vector
from keras_ae.models import build, load


@pytest.fixture(scope="module")
def faces():
    return smileys(seed=0, count=600)


@pytest.fixture(scope="module")
def trained(faces, tmp_path_factory):
    """A small conv AE on 540 faces, saved, and a folder of face PNGs split by smile."""
    keras.utils.set_random_seed(0)
    x, y = faces.arrays("train")
    ae = build("conv", faces.shape, 8, filters=(8, 16), dense_units=32)
    training.compile_model(ae.autoencoder)
    ae.autoencoder.fit(x, x, epochs=2, batch_size=32, verbose=0)
    root = tmp_path_factory.mktemp("generate")
    ae.save(root / "model.keras")
    for name, chosen in (("smiling", y == 1), ("sad", y == 0)):
        os.makedirs(root / name)
        for i, image in enumerate(x[chosen][:20]):
            Image.fromarray((image * 255).astype(np.uint8)).save(root / name / f"{i}.png")
    return load(root / "model.keras"), root, x, y


# -- the VAE ---------------------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("arch", ["dense", "conv"])
def test_vae_trains_adds_its_kl_term_and_loads_safely(arch, faces, tmp_path):
    x, _ = faces.arrays("train", limit=256)
    keras.utils.set_random_seed(0)
    options = {"filters": (8,), "dense_units": 16} if arch == "conv" else {"hidden": (32,)}
    vae = build(arch, faces.shape, 4, variational=True, kl_weight=1.0, **options)
    training.compile_model(vae.autoencoder)
    history = vae.autoencoder.fit(x, x, epochs=3, batch_size=32, verbose=0).history["loss"]
    assert history[-1] < history[0]
    # a training call adds the KL term (and samples: two calls differ); inference adds nothing
    first = keras.ops.convert_to_numpy(vae.autoencoder(x[:32], training=True))
    (kl,) = vae.autoencoder.losses
    assert float(kl) > 0
    assert not np.allclose(first, keras.ops.convert_to_numpy(vae.autoencoder(x[:32], training=True)))
    vae.autoencoder(x[:32], training=False)
    assert not vae.autoencoder.losses
    # at inference e(x) is the mean: deterministic
    np.testing.assert_array_equal(vae.embed(x[:8]), vae.embed(x[:8]))
    vae.save(tmp_path / "vae.keras")
    again = load(tmp_path / "vae.keras")  # safe_mode=True: the sampling layer is registered
    np.testing.assert_allclose(again.reconstruct(x[:8]), vae.reconstruct(x[:8]), atol=1e-6)
    assert again.fingerprint() == vae.fingerprint()


def test_vae_refuses_a_bad_kl_weight():
    with pytest.raises(UserError, match="--kl-weight"):
        build("dense", (8, 8, 1), 4, hidden=(16,), variational=True, kl_weight=0.0)


# -- ACAI ------------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_acai_trains_the_autoencoder_and_its_critic_and_saves_a_plain_model(faces, tmp_path):
    import tensorflow as tf

    from keras_ae.models.acai import AdversarialInterpolation, interpolation_critic

    x, _ = faces.arrays("train", limit=256)
    keras.utils.set_random_seed(0)
    ae = build("conv", faces.shape, 8, filters=(8,), dense_units=16)
    critic = interpolation_critic(faces.shape, (8,))
    critic_before = [w.copy() for w in critic.get_weights()]
    wrapper = AdversarialInterpolation(ae, critic, weight=0.5, seed=0)
    batches = tf.data.Dataset.from_tensor_slices((x, x)).batch(32)
    history = training.fit(wrapper, batches, batches.take(2), epochs=3, workdir=str(tmp_path / "run"), verbose=0)
    assert history["loss"][-1] < history["loss"][0]
    assert history["critic_loss"][-1] > 0 and history["mix_realism"][-1] >= 0
    assert len(history["val_loss"]) == 3
    assert any(not np.array_equal(a, b) for a, b in zip(critic_before, critic.get_weights(), strict=True))
    # the wrapper trained the autoencoder's own weights: what it computes is what the saved model computes
    np.testing.assert_allclose(keras.ops.convert_to_numpy(wrapper(x[:8])), ae.reconstruct(x[:8]), atol=1e-6)
    ae.save(tmp_path / "acai.keras")
    again = load(tmp_path / "acai.keras")  # a plain keras-ae model: no critic, nothing custom to load
    np.testing.assert_allclose(again.reconstruct(x[:8]), ae.reconstruct(x[:8]), atol=1e-6)


def test_acai_refuses_a_bad_weight(faces):
    from keras_ae.models.acai import AdversarialInterpolation

    ae = build("conv", faces.shape, 8, filters=(8,), dense_units=16)
    for weight in (0.0, -1.0, float("nan")):
        with pytest.raises(UserError, match="--critic-weight"):
            AdversarialInterpolation(ae, weight=weight)


def test_choose_strength_takes_the_weakest_that_is_enough():
    from keras_ae.generate.judge import choose_strength

    def curve(*points):
        return [{"strength": s, "success": a, "preserved": b} for s, a, b in points]

    # success reaches the goal at 1.25 and keeps climbing until preserved falls off at 2.5: take 1.25
    cliff = curve((1.0, 0.65, 0.98), (1.25, 0.91, 0.96), (1.5, 0.95, 0.93), (2.0, 0.97, 0.90), (2.5, 1.0, 0.7))
    assert choose_strength(cliff) == 1.25
    # nothing reaches the goal while keeping the floor: the most successful that keeps it
    short = curve((1.0, 0.65, 0.93), (1.25, 0.88, 0.91), (1.5, 0.97, 0.85))
    assert choose_strength(short) == 1.25
    # nothing keeps the floor: the best sum
    assert choose_strength(curve((1.0, 0.5, 0.8), (2.0, 0.6, 0.6))) == 1.0


# -- latent operations -----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_perturb_and_interpolate(trained):
    ae, _, x, _ = trained
    moved = latent.perturb(ae, x[:3], 0.5, count=4, seed=1)
    assert moved.shape == (3, 4, *ae.input_shape)
    assert not np.allclose(moved[:, 0], moved[:, 1])
    np.testing.assert_allclose(latent.perturb(ae, x[:3], 0.0, count=2)[:, 1], ae.reconstruct(x[:3]), atol=1e-5)
    strip = latent.interpolate(ae, x[0], x[1], steps=5)
    assert strip.shape == (5, *ae.input_shape)
    np.testing.assert_allclose(strip[0], ae.reconstruct(x[:1])[0], atol=1e-5)
    np.testing.assert_allclose(strip[-1], ae.reconstruct(x[1:2])[0], atol=1e-5)
    assert latent.interpolate(ae, x[:4], x[4:8], steps=3).shape == (4, 3, *ae.input_shape)
    with pytest.raises(UserError, match="--steps"):
        latent.interpolate(ae, x[0], x[1], steps=1)


def test_balanced_vector_removes_what_goes_with_the_attribute():
    """Codes: dimension 0 is the attribute, dimension 1 the class. With the attribute mostly in class 1, the
    plain vector also moves along the class; the class-balanced one does not."""
    rng = np.random.default_rng(0)
    classes = rng.integers(0, 2, 4000)
    has = rng.random(4000) < np.where(classes == 1, 0.9, 0.1)
    codes = np.stack([has * 1.0, classes * 3.0], axis=1) + rng.normal(0, 0.1, (4000, 2))
    plain = fit_vector(codes[has], codes[~has])
    balanced = fit_vector(codes[has], codes[~has], classes[has], classes[~has])
    assert plain[1] > 1.5  # "become class 1" rides along
    assert abs(balanced[1]) < 0.1 and abs(balanced[0] - 1.0) < 0.1
    with pytest.raises(UserError, match="with and"):
        fit_vector(codes[:0], codes)
    with pytest.raises(UserError, match="--balance-by"):
        fit_vector(codes[:5], codes[5:10], np.zeros(5), np.ones(5))


@pytest.mark.slow
def test_vector_file_round_trip_and_fingerprint(trained, tmp_path, faces):
    ae, _, x, y = trained
    vector = AttributeVector.fit(ae, x[y == 1], x[y == 0], name="smile")
    vector.save(tmp_path / "smile.npz")
    again = AttributeVector.load(tmp_path / "smile.npz", ae)
    np.testing.assert_array_equal(again.vector, vector.vector)
    assert again.name == "smile" and again.positive == int((y == 1).sum())
    edited = again.apply(ae, x[:2], 1.0)
    np.testing.assert_allclose(edited, ae.decode(ae.embed(x[:2]) + vector.vector), atol=1e-5)
    other = build("conv", faces.shape, 8, filters=(8, 16), dense_units=32)
    with pytest.raises(UserError, match="another model"):
        AttributeVector.load(tmp_path / "smile.npz", other)


# -- the judge --------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_judge_learns_attributes_and_position_and_round_trips(tmp_path):
    from keras_ae.generate.judge import Judge, augment

    data = smileys(seed=1, count=1500, size=24)
    x, _ = data.arrays("train")
    x_val, _ = data.arrays("validation")
    truth, truth_val = data.attributes["train"], data.attributes["validation"]
    judge = Judge.train(x, truth, binary=["smile", "glasses"], continuous=["face_x"], epochs=6, batch_size=32)
    agreement = judge.agreement(x_val, truth_val)
    assert agreement["smile"] > 0.85 and agreement["glasses"] > 0.85, agreement
    error = np.abs(judge.predict(x_val)["face_x"] - truth_val["face_x"]).mean()
    assert error < 0.5 * np.abs(truth_val["face_x"] - truth["face_x"].mean()).mean()  # beats guessing the mean
    assert np.all((judge.confidence(x_val) >= 0.5) & (judge.confidence(x_val) <= 1))
    # confidence is the mean over the yes/no heads (not the regression one) of the verdict's probability
    each = judge.confidences(x_val[:16])
    assert set(each) == {"smile", "glasses"}
    p = judge.predict(x_val[:16])["smile"]
    np.testing.assert_allclose(each["smile"], np.maximum(p, 1 - p))
    np.testing.assert_allclose(judge.confidence(x_val[:16]), (each["smile"] + each["glasses"]) / 2, rtol=1e-6)
    judge.save(str(tmp_path / "judge.keras"))
    again = Judge.load(str(tmp_path / "judge.keras"))
    np.testing.assert_allclose(again.predict(x_val[:8])["face_x"], judge.predict(x_val[:8])["face_x"], atol=1e-5)
    blurred = keras.ops.convert_to_numpy(augment(x_val[:64]))
    assert blurred.shape == x_val[:64].shape and blurred.min() >= 0 and blurred.max() <= 1
    assert not np.allclose(blurred, x_val[:64])


# -- the CLI ---------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_cli_commands_write_their_pictures(cli, trained, tmp_path):
    _, root, _, _ = trained
    model, face_a, face_b = root / "model.keras", root / "sad" / "0.png", root / "smiling" / "0.png"
    code, _, err = cli("perturb", "--model", model, face_a, "--scale", "0.5", "--n", "4", "-o", tmp_path / "p.png")
    assert code == 0, err
    assert Image.open(tmp_path / "p.png").size == (32 * 5, 32)
    code, _, err = cli("interpolate", "--model", model, face_a, face_b, "--steps", "6", "-o", tmp_path / "s.png")
    assert code == 0, err
    assert Image.open(tmp_path / "s.png").size == (32 * 6, 32)
    vector = tmp_path / "smile.npz"
    code, out, err = cli(
        "attribute", "fit", "--model", model, "--positive", root / "smiling", "--negative", root / "sad", "-o", vector
    )
    assert code == 0, err
    assert "20 with / 20 without" in out
    code, _, err = cli(
        "attribute",
        "apply",
        "--model",
        model,
        "--vector",
        vector,
        face_a,
        "--strength",
        "1.5",
        "-o",
        tmp_path / "a.png",
    )
    assert code == 0, err
    assert Image.open(tmp_path / "a.png").size == (32, 32)  # the edited face alone, the model's size
    code, out, err = cli(
        "attribute", "fit", "--model", model, "--dataset", "smileys", "--attribute", "smile", "--balance-by", "glasses",
        "-o", tmp_path / "balanced.npz",
    )  # fmt: skip
    assert code == 0, err
    assert AttributeVector.load(tmp_path / "balanced.npz").balance_by == "glasses"


@pytest.mark.slow
def test_cli_bad_input_is_one_line(cli, trained, tmp_path, faces):
    _, root, _, _ = trained
    model, face = root / "model.keras", root / "sad" / "0.png"
    other = build("conv", faces.shape, 8, filters=(8, 16), dense_units=32)
    other.save(tmp_path / "other.keras")
    AttributeVector.fit(other, *faces.arrays("validation", limit=20)[:1] * 2).save(tmp_path / "other.npz")
    empty = tmp_path / "empty"
    empty.mkdir()
    small = tmp_path / "small"
    small.mkdir()
    Image.new("RGB", (16, 16)).save(small / "x.png")
    apply = ("attribute", "apply", "--model", model, face, "-o", tmp_path / "o.png")
    fit = ("attribute", "fit", "--model", model, "-o", tmp_path / "v.npz")
    cases = [
        ((*apply, "--vector", tmp_path / "other.npz"), ["other.npz", "another model"]),
        ((*fit, "--positive", empty, "--negative", root / "sad"), ["empty", "no image files"]),
        ((*fit, "--positive", small, "--negative", root / "sad"), ["x.png is 16x16", "32x32"]),
        ((*apply, "--vector", tmp_path / "other.npz", "--strength", "lots"), ["--strength", "lots"]),
        (("interpolate", "--model", model, face, face, "--steps", "1", "-o", tmp_path / "s.png"), ["--steps"]),
        ((*fit, "--dataset", "smileys", "--attribute", "beard"), ["beard", "smile, glasses, eyes_open"]),
        (("perturb", "--model", model, face, "--scale", "-1", "-o", tmp_path / "p.png"), ["--scale"]),
    ]
    for args, fragments in cases:
        code, _, err = cli(*args)
        assert_one_line_error(code, err, *fragments)
    assert not os.path.exists(tmp_path / "v.npz") and not os.path.exists(tmp_path / "o.png")


# -- the recipe ------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_recipe_writes_pictures_and_judged_numbers(faces, tmp_path, monkeypatch):
    from keras_ae.recipes import generate

    monkeypatch.setattr(generate, "STRENGTHS", (1.0, 2.0))  # two points keep the test short
    out = tmp_path / "run"
    # one epoch per model: what is checked here is what the recipe writes and how its numbers fit together;
    # that training lowers the loss is test_vae_trains_... and test_acai_trains_... (ACAI: the critic's too)
    metrics = generate.run(
        dataset=faces, bottleneck=8, filters=(8, 16), epochs=1, judge_epochs=1, critic_weight=0.1, out=str(out),
        echo=lambda *a: None, verbose=0,
    )  # fmt: skip
    names = set(os.listdir(out))
    assert {"attribute.png", "interpolation.png", "perturbation.png", "latent_attribute.png", "metrics.json"} <= names
    assert {"ae.keras", "acai.keras", "vae.keras", "ae_smile.npz", "vae_smile.npz", "config.json"} <= names
    saved = json.loads((out / "metrics.json").read_text())
    assert "critic_loss" in json.loads((out / "history.json").read_text())["acai"]
    for model in ("ae", "acai", "vae"):
        report = saved[model]
        assert 0 <= report["judge"]["agreement"] <= 1
        attribute = report["attribute"]
        curve = attribute["validation_curve"]
        assert [p["strength"] for p in curve] == list(generate.STRENGTHS)
        # the strength is the validation curve's choice, then measured on the test faces
        from keras_ae.generate.judge import choose_strength

        assert attribute["strength"] == choose_strength(curve, generate.PRESERVED_FLOOR, generate.SUCCESS_GOAL)
        at = next(p for p in attribute["test_curve"] if p["strength"] == attribute["strength"])
        assert (at["success"], at["preserved"]) == (attribute["success"], attribute["preserved"])
        interpolation = report["interpolation"]
        assert interpolation["plausibility"] > 0
        assert 0 <= interpolation["pairs_same_attributes"] <= interpolation["pairs"]
        assert set(interpolation["confidence_by_head"]) == {"smile", "glasses", "eyes_open"}
    assert metrics["ae"]["attribute"]["faces"] > 0
    assert set(saved["judge"]["accuracy_on_test_images"]) == {"smile", "glasses", "eyes_open"}
    assert 0 < saved["judge"]["drawn_midpoints_plausibility"] < 1.5
    vector = AttributeVector.load(out / "ae_smile.npz", load(out / "ae.keras"))
    assert vector.name == "smile"


def test_recipe_refuses_unknown_attributes(cli, tmp_path):
    code, _, err = cli("recipe", "generate", "--attribute", "beard", "--out", tmp_path / "run")
    assert_one_line_error(code, err, "--attribute beard", "smile, glasses")
    assert not os.path.exists(tmp_path / "run")
    code, _, err = cli("recipe", "generate", "--critic-weight", "-1", "--out", tmp_path / "run")
    assert_one_line_error(code, err, "--critic-weight", "-1")
    assert not os.path.exists(tmp_path / "run")


# -- CelebA ----------------------------------------------------------------------------------------------------
def _fake_celeba(root, count=6):
    os.makedirs(root / "img_align_celeba")
    names = ["Smiling", "Eyeglasses"]
    lines = [str(count), " ".join(names)]
    rng = np.random.default_rng(0)
    for i in range(count):
        name = f"{i + 1:06d}.jpg"
        Image.fromarray(rng.integers(0, 255, (218, 178, 3), dtype=np.uint8)).save(root / "img_align_celeba" / name)
        lines.append(f"{name}  {1 if i % 2 else -1} {-1 if i % 3 else 1}")
    (root / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")


def test_celeba_local_layout(tmp_path):
    from keras_ae import data as datasets

    _fake_celeba(tmp_path / "celeba")
    data = datasets.load(f"celeba:{tmp_path / 'celeba'}", resize=(32, 32))
    x, _ = data.arrays("train")
    assert data.shape == (32, 32, 3) and x.shape == (5, 32, 32, 3)
    smiling = np.concatenate([data.attributes["train"]["Smiling"], data.attributes["validation"]["Smiling"]])
    assert sorted(smiling.tolist()) == [0, 0, 0, 1, 1, 1]
    (tmp_path / "celeba" / "img_align_celeba" / "000003.jpg").unlink()
    with pytest.raises(UserError, match="000003.jpg"):
        datasets.load(f"celeba:{tmp_path / 'celeba'}")
    (tmp_path / "celeba" / "list_attr_celeba.txt").unlink()
    with pytest.raises(UserError, match="list_attr_celeba.txt"):
        datasets.load(f"celeba:{tmp_path / 'celeba'}")


def test_celeba_from_tfds_with_mock_data():
    tfds = pytest.importorskip("tensorflow_datasets")
    from keras_ae import data as datasets

    with tfds.testing.mock_data(num_examples=8):
        data = datasets.load("tfds:celeb_a", resize=(16, 16))
        x, _ = data.arrays("train")
    assert x.shape[1:] == (16, 16, 3) and 0 <= x.min() <= x.max() <= 1
    assert set(np.unique(data.attributes["train"]["Smiling"])) <= {0, 1}
    assert len(data.attributes["train"]["Smiling"]) == len(x)
