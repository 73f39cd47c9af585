"""Vectors: CSV and (N, D) arrays load raw; the model carries the training statistics and round-trips."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_one_line_error

from keras_ae import data
from keras_ae.errors import UserError


def _write_csv(path, header, rows):
    with open(path, "w") as f:
        f.write(",".join(header) + "\n")
        for row in rows:
            f.write(",".join(str(v) for v in row) + "\n")
    return str(path)


def test_npy_vectors_load_raw(tmp_path):
    x = np.random.default_rng(0).normal(100.0, 20.0, size=(50, 6)).astype(np.float32)
    np.save(tmp_path / "v.npy", x)
    d = data.load(str(tmp_path / "v.npy"))
    assert d.kind == "vectors" and d.shape == (6,)
    train, _ = d.arrays("train")
    assert train.max() > 1.0  # not squeezed into [0, 1] like pixels


def test_csv_with_label_column(tmp_path):
    path = _write_csv(tmp_path / "t.csv", ["a", "b", "kind"], [[1, 2.5, "x"], [3, 4, "y"], [5, 6, "x"]] * 4)
    d = data.load(path, label_column="kind")
    assert d.shape == (2,) and d.class_names == ["0", "1"]


@pytest.mark.parametrize(
    "header,rows,message",
    [
        (["a", "name", "c"], [[1, "bob", 2], [2, "al", 3]], "non-numeric columns: name"),
        (["a", "b"], [[1, ""], [2, 3]], "missing values in columns 'b' (line 2)"),
        (["a", "b"], [[1, "nan"], [2, 3]], "missing values"),
    ],
)
def test_bad_csv_is_refused_by_name(tmp_path, header, rows, message):
    path = _write_csv(tmp_path / "bad.csv", header, rows)
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        data.load(path)


def test_bad_csv_is_one_line_on_the_cli(cli, tmp_path):
    path = _write_csv(tmp_path / "bad.csv", ["a", "colour"], [[1, "red"], [2, "blue"]])
    code, _, err = cli("train", "--dataset", path, "--arch", "dense", "--out", tmp_path / "r")
    assert_one_line_error(code, err, "non-numeric columns: colour")


def test_conv_refuses_vectors(cli, tmp_path):
    np.save(tmp_path / "v.npy", np.zeros((20, 5), np.float32))
    code, _, err = cli("train", "--dataset", tmp_path / "v.npy", "--arch", "conv", "--out", tmp_path / "r")
    assert_one_line_error(code, err, "--arch conv needs images")


def test_standardised_model_round_trips_raw_values(tmp_path):
    import keras

    from keras_ae.data.vectors import standardization
    from keras_ae.models import build, load

    rng = np.random.default_rng(0)
    x = (rng.normal(size=(64, 5)) * [1, 10, 100, 0.1, 1000] + [0, 5, -50, 1, 3000]).astype(np.float32)
    ae = build("dense", (5,), 2, hidden=(8,), standardize=standardization(x))
    path = str(tmp_path / "v.keras")
    ae.save(path)
    loaded = load(path)
    np.testing.assert_allclose(loaded.reconstruct(x), ae.reconstruct(x), rtol=1e-5, atol=1e-3)
    layer = loaded.encoder.get_layer("standardize")
    np.testing.assert_allclose(np.ravel(layer.mean), x.mean(axis=0), rtol=1e-5)
    # raw values in, raw values out: the output lives on the data's scale, not the standardised one
    assert abs(float(np.mean(loaded.reconstruct(x)[:, 4])) - 3000) < 1000
    assert isinstance(keras.saving.load_model(path, safe_mode=True), keras.Model)


def test_train_dense_on_csv_and_score_wrong_width(cli, tmp_path):
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(60, 4)) * [1, 100, 0.01, 5]
    path = _write_csv(tmp_path / "t.csv", ["a", "b", "c", "d"], rows.round(5).tolist())
    code, out, err = cli(
        "train", "--dataset", path, "--arch", "dense", "--hidden", "8", "--bottleneck", "2", "--epochs", "1",
        "--out", tmp_path / "run",
    )  # fmt: skip
    assert code == 0, err
    narrow = _write_csv(tmp_path / "n.csv", ["a", "b"], [[1, 2], [3, 4]])
    code, _, err = cli("score", "--model", tmp_path / "run", narrow, "--threshold", "1", "-o", tmp_path / "s.csv")
    assert_one_line_error(code, err, "width 2", "width 4")


@pytest.mark.parametrize("spec,arch", [("breast-cancer", "dense"), ("signals", "conv1d")])
def test_embed_measures_codes_of_vectors_and_signals(spec, arch, tmp_path):
    """The foundation's embedding and k-NN metrics, unchanged, on a table and on signals."""
    from keras_ae.recipes import embed

    from keras_ae import data
    from keras_ae.data.vectors import standardization
    from keras_ae.models import build

    d = data.load(spec)
    ae = build(arch, d.shape, 4, standardize=standardization(d.arrays("train")[0]))
    ae.save(str(tmp_path / "m.keras"))
    metrics = embed.run(model=str(tmp_path / "m.keras"), dataset=spec, out=str(tmp_path / "e"), echo=lambda *a: None)
    assert np.load(tmp_path / "e" / "embeddings.npy").shape == (d.num_train + d.num_validation, 4)
    assert 0.5 < metrics["knn_accuracy_embedding"] <= 1.0 and 0.5 < metrics["knn_accuracy_pixels"] <= 1.0
    assert (tmp_path / "e" / "latent_map.png").stat().st_size > 1000
