"""Few-label classification of the user's own folders (`recipe classify --labels`): reading the labels (class
subfolders or a CSV, each image once), the sure threshold and the files to label next on known inputs, the
recipe end to end on tiny real digits (predictions.csv, to_label.csv, a rerun that reuses the autoencoder), and
a one-line error for every kind of bad input, before anything trains."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil

import numpy as np
import pytest
from conftest import assert_one_line_error
from PIL import Image

from keras_ae.classify import labels, predictions
from keras_ae.errors import UserError

CLASSES = {0: "zero", 1: "one", 2: "two"}
LABELLED = 4  # per class
TINY = {
    "seeds": (0,),
    "validation_per_class": 2,
    "bottleneck": 8,
    "filters": (8,),
    "epochs": 1,
    "batch_size": 32,
    "head_steps": 10,
    "finetune_steps": 10,
    "scratch_steps": 10,
    "rounds": 1,
    "round_epochs": 1,
    "to_label": 5,
    "export_dir": None,
}


def _digits(count=60):
    """The first `count` 8x8 digits of the classes 0, 1, 2 (scikit-learn), as uint8 images and labels."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    keep = np.flatnonzero(np.isin(bunch.target, list(CLASSES)))[:count]
    return (bunch.images[keep] * 255 / 16).astype(np.uint8), bunch.target[keep]


def _save(path, image):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(image).save(path)


def _folders(root, count=60):
    """`images/` (every digit, unlabeled), `labelled/CLASS/` (copies of the first LABELLED per class: half
    under their own name, half renamed, so the same bytes must find them), `labels.csv` (the same labels, by
    path relative to images/) and `truth.csv` (every file's class)."""
    images, targets = _digits(count)
    names = [f"img{i:03d}.png" for i in range(len(images))]
    for name, image in zip(names, images, strict=True):
        _save(os.path.join(root, "images", name), image)
    rows = []
    for c, class_name in CLASSES.items():
        for n, i in enumerate(np.flatnonzero(targets == c)[:LABELLED]):
            copy = names[i] if n % 2 else f"copy_{names[i]}"
            shutil.copy(os.path.join(root, "images", names[i]), os.path.join(_mkdir(root, class_name), copy))
            rows.append(f"{names[i]},{class_name}\n")
    with open(os.path.join(root, "labels.csv"), "w") as f:
        f.write("file,label\n" + "".join(rows))
    with open(os.path.join(root, "truth.csv"), "w") as f:
        f.write("file,label\n" + "".join(f"{n},{CLASSES[t]}\n" for n, t in zip(names, targets, strict=True)))
    return names, targets


def _mkdir(root, class_name):
    folder = os.path.join(root, "labelled", class_name)
    os.makedirs(folder, exist_ok=True)
    return folder


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# -- reading the labels -----------------------------------------------------------------------------------------
def test_folder_and_csv_labels_read_the_same_images_each_once(tmp_path):
    names, targets = _folders(tmp_path)
    by_folder = labels.read_user_images(str(tmp_path / "images"), str(tmp_path / "labelled"))
    by_csv = labels.read_user_images(str(tmp_path / "images"), str(tmp_path / "labels.csv"))
    for read in (by_folder, by_csv):
        assert read.class_names == ["one", "two", "zero"]
        assert len(read.files) == read.unlabeled == len(names)  # the labelled copies are not counted twice
        assert read.images.shape == (len(names), 8, 8, 1) and read.images.min() >= 0 and read.images.max() <= 1
        assert len(read.given) == 3 * LABELLED
        assert [read.class_names[k] for k in read.labels[read.given]] == [CLASSES[t] for t in targets[read.given]]
    assert by_folder.duplicates == 3 * LABELLED and by_csv.duplicates == 0
    np.testing.assert_array_equal(by_folder.labels, by_csv.labels)
    np.testing.assert_array_equal(by_folder.images, by_csv.images)
    assert by_folder.fingerprint == by_csv.fingerprint


def test_label_images_found_nowhere_else_join_the_pool_and_truth_is_read(tmp_path):
    names, targets = _folders(tmp_path)
    extra, _ = _digits(70)
    _save(str(tmp_path / "labelled" / "two" / "new.png"), extra[-1])
    read = labels.read_user_images(
        str(tmp_path / "images"), str(tmp_path / "labelled"), truth=str(tmp_path / "truth.csv")
    )
    assert len(read.files) == len(names) + 1 and read.unlabeled == len(names)
    assert read.files[-1].endswith("new.png") and read.class_names[read.labels[-1]] == "two"
    assert [read.class_names[t] for t in read.truth[: len(names)]] == [CLASSES[t] for t in targets]
    assert read.truth[-1] == labels.UNLABELED
    data = read.image_data()
    assert data.num_train == len(read.files) and data.shape == (8, 8, 1)


def test_different_sizes_need_resize_and_then_read(tmp_path):
    _folders(tmp_path)
    _save(str(tmp_path / "labelled" / "one" / "big.png"), np.zeros((16, 16), np.uint8))
    with pytest.raises(
        UserError, match=r"--labels .*big.png is 16x16, the images of --dataset .* are 8x8; pass --resize"
    ):
        labels.read_user_images(str(tmp_path / "images"), str(tmp_path / "labelled"))
    read = labels.read_user_images(str(tmp_path / "images"), str(tmp_path / "labelled"), resize=(8, 8))
    assert read.images.shape[1:] == (8, 8, 1) and len(read.files) == 61


def test_one_image_with_two_labels_is_refused(tmp_path):
    _folders(tmp_path)
    first = sorted(os.listdir(tmp_path / "labelled" / "one"))[0]
    shutil.copy(tmp_path / "labelled" / "one" / first, tmp_path / "labelled" / "two" / "other_name.png")
    with pytest.raises(UserError, match="are the same image, labelled 'one' and 'two'|labelled 'two' and 'one'"):
        labels.read_user_images(str(tmp_path / "images"), str(tmp_path / "labelled"))


def test_split_given_holds_out_at_most_half_of_a_class():
    given = np.array([-1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, -1])
    training, validation = labels.split_given(given, 2, seed=0)
    assert not set(training) & set(validation) and set(training) | set(validation) == set(range(1, 11))
    assert np.bincount(given[validation], minlength=3).tolist() == [2, 1, 0]  # 6 -> 2, 3 -> 1, 1 -> 0
    assert labels.split_given(given, 10, seed=0)[1].size == 3 + 1


# -- the sure threshold and the files to label next ---------------------------------------------------------------
def _one_hot_like(confidence, right):
    """Two-class probabilities with the given top probability, right (class 0) or wrong (class 1 on top)."""
    confidence = np.asarray(confidence, float)
    p = np.stack([confidence, 1 - confidence], axis=1)
    return np.where(np.asarray(right)[:, None], p, p[:, ::-1]), np.zeros(len(confidence), int)


def test_sure_threshold_needs_the_held_out_labels_to_vouch_for_it():
    few = _one_hot_like([0.9] * 50, [True] * 50)
    assert predictions.sure_threshold(*few) == {
        "held_out": 50,
        "precision": 0.99,
        "confidence": predictions.SURE_CONFIDENCE,
        "threshold": predictions.FALLBACK_THRESHOLD,
        "rule": "fixed",
        "held_out_needed": 161,
    }
    # 400 held out, the 250 surest right: at 99% and 80% confidence 161 right in a row vouch, 120 do not
    confidence = np.linspace(0.9989, 0.5, 400)
    chosen = predictions.sure_threshold(*_one_hot_like(confidence, np.arange(400) < 250))
    assert chosen["rule"] == "validation" and chosen["held_out_sure"] == 250 and chosen["held_out_sure_accuracy"] == 1
    assert chosen["threshold"] == pytest.approx(confidence[249])
    assert predictions.sure_threshold(*_one_hot_like(confidence, np.arange(400) < 120))["rule"] == "fixed"
    # an error among the surest: 200 more right ones do not make up for it (one error needs 299)
    right = np.ones(400, bool)
    right[0] = False
    assert predictions.sure_threshold(*_one_hot_like(confidence[:200], right[:200]))["rule"] == "fixed"
    assert predictions.sure_threshold(*_one_hot_like(confidence, right))["rule"] == "validation"
    # the held-out predictions contradict the fallback: 2 of 50 at 0.9995 wrong, nothing is sure
    assert predictions.sure_threshold(*_one_hot_like([0.9995] * 50, np.arange(50) >= 2))["rule"] == "none"
    assert not predictions.is_sure(np.array([[0.9, 0.1]]), None).any()
    assert predictions.error_bound(0, 161) <= 0.01 < predictions.error_bound(0, 160)
    assert predictions.held_out_to_vouch() == 161 and predictions.held_out_to_vouch(0.95, 0.8) == 32


def test_an_image_held_out_by_several_splits_vouches_once():
    # three splits hold out the same 100 images, all right: 300 predictions would vouch, 100 images do not
    confidence = np.linspace(0.99, 0.6, 100)
    split = (*_one_hot_like(confidence, np.ones(100, bool)), np.arange(100))
    assert predictions.sure_threshold(*split[:2])["rule"] == "fixed"
    pooled = np.concatenate([split[0]] * 3), np.concatenate([split[1]] * 3)
    assert predictions.sure_threshold(*pooled)["rule"] == "validation"
    probabilities, true = predictions.one_per_image([split] * 3)
    assert len(true) == 100 and predictions.sure_threshold(probabilities, true)["rule"] == "fixed"
    # an image right in one split and wrong in another counts as wrong, at its surest wrong prediction; a right
    # one counts at its least sure prediction
    a = _one_hot_like([0.9, 0.8], [True, True])
    b = _one_hot_like([0.7, 0.95], [False, True])
    probabilities, true = predictions.one_per_image([(*a, np.array([5, 6])), (*b, np.array([5, 6]))])
    assert (probabilities.argmax(axis=1) != true).tolist() == [True, False]
    assert probabilities.max(axis=1).tolist() == pytest.approx([0.7, 0.8])


def test_the_sure_threshold_carries_over_as_a_share_of_the_files():
    split = [np.array([0.9, 0.95, 0.99, 0.999])] * 2  # 3 of 4 files at 0.95 or above
    assert predictions.transfer_threshold(0.95, split, np.array([0.99, 0.995, 0.999, 0.9999])) == (0.995, 0.75)
    assert predictions.transfer_threshold(0.95, split, np.array([0.5, 0.6, 0.7, 0.8])) == (0.95, 0.75)  # never lower
    assert predictions.transfer_threshold(None, split, np.array([0.99] * 4)) == (None, None)


def test_to_label_takes_the_least_sure_spread_over_the_codes():
    rng = np.random.default_rng(0)
    codes = np.concatenate([rng.normal([5, 0], 0.1, (50, 2)), rng.normal([0, 5], 0.1, (50, 2))])
    top = np.r_[np.linspace(0.5, 0.6, 50), np.linspace(0.62, 0.99, 50)]  # the first cluster is least sure
    probabilities = np.stack([top, 1 - top], axis=1)
    chosen = predictions.choose_to_label(probabilities, codes, np.arange(100), count=2, pool_factor=30)
    assert sorted(chosen.tolist()) == [0, 50]  # one per cluster, each its least sure
    assert predictions.choose_to_label(probabilities, codes, np.arange(100), count=2, pool_factor=1).tolist() == [0, 1]
    assert predictions.choose_to_label(probabilities, codes, [7, 3], count=5).tolist() == [3, 7]


# -- the recipe end to end ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def folder_run(tmp_path_factory):
    from keras_ae.recipes import classify

    root = tmp_path_factory.mktemp("folders")
    names, targets = _folders(str(root))
    printed = []
    metrics = classify.run(
        dataset=str(root / "images"),
        labels=str(root / "labelled"),
        truth=str(root / "truth.csv"),
        out=str(root / "run"),
        echo=printed.append,
        verbose=0,
        **TINY,
    )
    return root, names, targets, metrics, printed


@pytest.mark.slow
def test_predictions_cover_every_file_once_and_to_label_suggests_new_ones(folder_run):
    root, names, targets, metrics, printed = folder_run
    rows = _rows(root / "run" / "predictions.csv")
    assert [r["file"] for r in rows] == names  # every file of --dataset, once, in order
    assert {r["label"] for r in rows} <= set(CLASSES.values()) and {r["sure"] for r in rows} <= {"0", "1"}
    labelled = {n for c in CLASSES.values() for n in os.listdir(root / "labelled" / c)}
    for row, target in zip(rows, targets, strict=True):
        assert 0 < float(row["probability"]) <= 1
        if row["file"] in labelled:  # a labelled file keeps its label
            assert row["label"] == CLASSES[target] and row["sure"] == "1"
    suggested = _rows(root / "run" / "to_label.csv")
    files = [r["file"] for r in suggested]
    assert len(files) == len(set(files)) == TINY["to_label"] and set(files) <= set(names) and not set(files) & labelled
    assert {r["predicted"] for r in suggested} <= set(CLASSES.values())
    saved = json.loads((root / "run" / "metrics.json").read_text())
    assert saved["sure"]["rule"] == "fixed" and saved["sure"]["split_threshold"] == predictions.FALLBACK_THRESHOLD
    assert saved["sure"]["threshold"] >= predictions.FALLBACK_THRESHOLD  # carried over as a share of the files
    sure = [float(r["probability"]) for r, t in zip(rows, targets, strict=True) if r["sure"] == "1"]
    assert all(p >= saved["sure"]["threshold"] for p in sure if p < 1)
    assert saved["truth"]["files"] == len(names) - 3 * LABELLED and 0 <= saved["truth"]["accuracy"] <= 1
    assert saved["labels_per_class"] == {"one": LABELLED, "two": LABELLED, "zero": LABELLED}
    assert saved["accuracy"]["logreg_pixels"]["mean"] > 0.5  # measured on the --truth files
    assert os.path.isfile(root / "run" / "classifier.keras") and os.path.isfile(root / "run" / "autoencoder.json")
    assert any(line.startswith("predictions.csv: 60 files") for line in printed)


@pytest.mark.slow
def test_a_rerun_with_more_labels_reuses_the_autoencoder_and_other_images_retrain_it(folder_run):
    from keras_ae.recipes import classify

    root, _, targets, _, _ = folder_run
    before = _sha(root / "run" / "autoencoder.keras")
    for row in _rows(root / "run" / "to_label.csv"):  # label what the run asked for
        target = CLASSES[int(targets[int(row["file"][3:6])])]
        shutil.copy(root / "images" / row["file"], root / "labelled" / target / row["file"])
    quicker = {**TINY, "rounds": 0, "finetune": False}
    printed = []
    classify.run(
        dataset=str(root / "images"),
        labels=str(root / "labelled"),
        out=str(root / "run"),
        echo=printed.append,
        **quicker,
    )
    assert any(line.startswith("reusing the autoencoder of") for line in printed), printed
    assert not any("pretraining" in line for line in printed)
    assert _sha(root / "run" / "autoencoder.keras") == before
    assert sum(r["sure"] == "1" for r in _rows(root / "run" / "predictions.csv")) >= 3 * LABELLED + TINY["to_label"]

    extra, _ = _digits(61)
    _save(str(root / "images" / "img999.png"), extra[-1])  # one more image: not the same set
    printed = []
    classify.run(
        dataset=str(root / "images"),
        labels=str(root / "labelled"),
        out=str(root / "run"),
        echo=printed.append,
        **quicker,
    )
    assert any("not reusing the autoencoder" in line and "the images differ" in line for line in printed), printed
    assert any(line.startswith("pretraining a masked autoencoder") for line in printed)
    assert _sha(root / "run" / "autoencoder.keras") != before
    assert len(_rows(root / "run" / "predictions.csv")) == 61


# -- bad input: one line, exit 2, nothing trained -----------------------------------------------------------------
def test_bad_folders_and_labels_are_one_line_errors_before_training(cli, tmp_path):
    _folders(tmp_path)
    images, out = tmp_path / "images", tmp_path / "run"
    args = ("recipe", "classify", "--dataset", images, "--out", out, "--no-export", "--epochs", "1", "--seeds", "0")

    def refused(label_source, *fragments, extra=()):
        assert_one_line_error(*cli(*args, "--labels", label_source, *extra)[::2], *fragments)

    bad = tmp_path / "bad.csv"
    bad.write_text("file,label\nimg000.png,zero\nmissing.png,one\n")
    refused(bad, f"--labels {bad}: row 3 names missing.png, found neither beside the CSV nor in --dataset")
    bad.write_text("file,class\nimg000.png,zero\n")
    refused(bad, f"--labels {bad}: unknown column 'class'; the columns are file,label")
    bad.write_text("img000.png,zero\nimg001.png,\n")
    refused(bad, f"--labels {bad}: row 2 (img001.png) gives no label")
    os.makedirs(tmp_path / "labelled" / "three")
    refused(tmp_path / "labelled", "class folder 'three' holds no images")
    os.rmdir(tmp_path / "labelled" / "three")
    _save(str(tmp_path / "labelled" / "one" / "big.png"), np.zeros((16, 16), np.uint8))
    refused(tmp_path / "labelled", "big.png is 16x16", "pass --resize HxW")
    os.remove(tmp_path / "labelled" / "one" / "big.png")
    refused(tmp_path / "nowhere", "--labels", "no such folder or file")
    bad.write_text("file,label\nimg000.png,seven\n")
    refused(tmp_path / "labelled", f"--truth {bad} row 2: unknown class name 'seven'", extra=("--truth", bad))
    assert_one_line_error(
        *cli("recipe", "classify", "--dataset", "digits", "--labels", tmp_path / "labelled", "--out", out)[::2],
        "--dataset digits: with --labels, --dataset must be the folder",
    )
    assert_one_line_error(*cli("recipe", "classify", "--truth", bad, "--out", out)[::2], "--truth is for a run")
    assert not os.path.exists(out)


@pytest.mark.slow
def test_a_baseline_that_wins_on_validation_trains_again_on_all_labels():
    """On your folders the best network labels the files, a baseline too: it must train again as the seeds
    trained it, from random weights, on every label."""
    import keras
    from keras_ae.recipes import classify

    from keras_ae.classify.augment import ShiftRotate
    from keras_ae.models import build

    keras.utils.set_random_seed(0)  # the weights are drawn as the recipe draws them, seeded
    images, targets = _digits(60)
    pool = images[..., None].astype(np.float32) / 255
    given = np.full(len(pool), labels.UNLABELED)
    given[:15] = targets[:15]
    ae = build("conv", (8, 8, 1), 8, filters=(8,))
    # Enough steps that both stages fit 15 labels under shift-and-rotate (at 100 and 40 steps the round learned
    # 53-80% of them, depending on the draw: a flaky test, seen on CI).
    settings = classify.Config(**{**TINY, "scratch_steps": 300, "round_epochs": 60})
    model = classify._refit(  # scratch, then a self-training round on its own guesses
        "scratch_self_training",
        ae,
        pool,
        given,
        ae.embed(pool),
        {},
        settings,
        0,
        list(CLASSES.values()),
        ShiftRotate(seed=0),
        0,
    )
    probabilities = np.asarray(model.predict(pool, verbose=0))
    assert probabilities.shape == (60, 3)
    assert np.mean(probabilities[:15].argmax(axis=1) == targets[:15]) >= 0.8  # it learned the labels
    kernel = model.trainable_weights[0].numpy()
    assert kernel.shape == ae.encoder.trainable_weights[0].shape
    assert not np.allclose(kernel, ae.encoder.trainable_weights[0].numpy())  # not the autoencoder's weights
