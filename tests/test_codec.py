"""The `.kae` archiver: quantization, entropy coding and the container, then the commands end to end and one
clean error for every kind of bad input (including a fuzz test that flips random bytes)."""

from __future__ import annotations

import hashlib
import os
import struct
import zlib

import keras
import numpy as np
import pytest
from conftest import assert_one_line_error
from PIL import Image

import keras_ae.data
from keras_ae import codec
from keras_ae.codec import container, entropy, rate
from keras_ae.errors import UserError
from keras_ae.models import build, load


# -- the parts --------------------------------------------------------------------------------------------------
def test_quantizer_rounds_within_half_a_step_and_keeps_the_range():
    codes = np.random.default_rng(0).normal(size=(500, 6)).astype(np.float32) * [1, 2, 3, 0.1, 10, 1]
    q = codec.Quantizer.fit(codes, bits=4)
    symbols = q.quantize(codes)
    assert symbols.min() == 0 and symbols.max() == 15 and q.levels == 16 and q.bits == 4
    assert np.all(np.abs(q.dequantize(symbols) - codes) <= q.step / 2 + 1e-5)
    finer = codec.Quantizer.fit(codes, step=0.1)  # a tenth of a standard deviation
    assert np.allclose(finer.step, 0.1 * codes.std(axis=0), rtol=1e-4)
    assert np.abs(finer.dequantize(finer.quantize(codes)) - codes).mean() < np.abs(q.dequantize(symbols) - codes).mean()
    with pytest.raises(UserError, match="--bits"):
        codec.Quantizer.fit(codes, bits=12)
    with pytest.raises(UserError, match="--step"):
        codec.Quantizer.fit(codes, step=1e-7)


@pytest.mark.parametrize("coder", entropy.CODERS)
def test_every_coder_round_trips_exactly_and_refuses_a_cut_stream(coder):
    rng = np.random.default_rng(1)
    symbols = np.clip(rng.normal(8, 2.5, size=(300, 10)).round(), 0, 15).astype(np.int32)
    model = entropy.CodeModel.fit(symbols, 16)
    data = entropy.encode(symbols, 16, model, coder)
    assert np.array_equal(entropy.decode(data, 300, 10, 16, model, coder), symbols)
    with pytest.raises(entropy.CorruptData):
        entropy.decode(data[: len(data) // 2], 300, 10, 16, model, coder)


def test_ans_costs_the_cross_entropy_and_beats_fixed_length():
    rng = np.random.default_rng(2)
    symbols = np.clip(rng.normal(8, 2, size=(2000, 16)).round(), 0, 15).astype(np.int32)
    model = entropy.CodeModel.fit(symbols, 16)
    ans = len(entropy.encode(symbols, 16, model, "ans"))
    ideal = model.bits_per_value(symbols) * symbols.size / 8
    assert ideal <= ans <= ideal * 1.01 + 8
    assert ans < 0.8 * len(entropy.encode(symbols, 16, None, "raw"))
    table = model.to_bytes()
    assert np.array_equal(entropy.CodeModel.from_bytes(table, 16, 16).counts, model.counts)
    assert len(table) < 0.05 * ans


def test_a_gaussian_model_costs_less_than_a_histogram_on_bell_shaped_symbols_and_round_trips():
    rng = np.random.default_rng(4)
    bell = np.clip(rng.normal(40, 6, size=(2000, 16)).round(), 0, 79).astype(np.int32)
    flat = rng.integers(0, 16, size=(2000, 16)).astype(np.int32)
    best = entropy.CodeModel.fit_best(bell, 80)
    assert best.kind == "gaussian" and len(best.to_bytes()) == 16 * 4
    histogram = entropy.CodeModel.fit(bell, 80)
    assert len(best.to_bytes()) + len(entropy.encode(bell, 80, best, "ans")) < len(histogram.to_bytes()) + len(
        entropy.encode(bell, 80, histogram, "ans")
    )
    back = entropy.CodeModel.from_bytes(best.to_bytes(), 16, 80, "gaussian")
    assert np.array_equal(back.counts, best.counts)
    assert np.array_equal(entropy.decode(entropy.encode(bell, 80, best, "ans"), 2000, 16, 80, back, "ans"), bell)
    assert entropy.CodeModel.fit_best(flat, 16).kind == "histogram"  # uniform symbols: the table pays
    with pytest.raises(entropy.CorruptData):
        entropy.CodeModel.from_bytes(np.array([[1, 0]] * 16, "<f2").tobytes(), 16, 80, "gaussian")  # std 0


def test_container_round_trips_and_names_numbered_files_in_a_few_bytes():
    header = container.Header("ab" * 32, (8, 8, 1), [f"scan_{i:04d}.png" for i in range(3, 503)], "raw", 16,
                              np.zeros(4, np.float32), np.ones(4, np.float32), b"")  # fmt: skip
    data = container.pack(header, b"payload")
    back, payload = container.unpack(data)
    assert payload == b"payload" and back.names == header.names and back.shape == (8, 8, 1)
    assert back.fingerprint == header.fingerprint and back.levels == 16 and back.coder == "raw"
    assert len(data) < 150
    header.names = ["b.png", "a b.png", "ü.png"]
    assert container.unpack(container.pack(header, b""))[0].names == ["b.png", "a b.png", "ü.png"]


def linear_decoder(seed=0, size=8, pixels=50):
    """A decoder whose metric is known exactly: pixels = codes @ W, so G = W W^T / pixels."""
    weights = np.random.default_rng(seed).normal(size=(size, pixels)) * np.linspace(0.2, 2, size)[:, None]
    return weights, lambda codes: np.asarray(codes, np.float64) @ weights


def correlated_codes(count=2000, size=8, seed=1):
    """Gaussian codes whose variance sits in a few directions that are not the axes (a random rotation)."""
    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.normal(size=(size, size)))
    return ((rng.normal(size=(count, size)) * np.geomspace(2, 0.05, size)) @ rotation).astype(np.float32)


def test_decoder_metric_and_transform_decorrelate_and_invert():
    from keras_ae.codec.transform import Transform, decoder_metric

    weights, decode = linear_decoder()
    codes = correlated_codes()
    metric = decoder_metric(decode, codes)
    assert np.allclose(metric, weights @ weights.T / weights.shape[1], rtol=1e-3, atol=1e-6)
    transform = Transform.fit(codes, metric)
    values = transform.forward(codes)
    covariance = np.cov(values, rowvar=False)
    assert np.all(np.diff(np.diag(covariance)) <= 1e-6)  # largest variance first
    off = covariance - np.diag(np.diag(covariance))
    assert np.abs(off).max() < 0.02 * covariance[0, 0]  # decorrelated (up to the 8-bit stored matrix)
    assert np.allclose(transform.inverse(values), codes, atol=1e-3 * np.abs(codes).max())
    # whitened by the metric: a unit move of any value moves the decoded pixels by 1 RMS
    moves = decode(transform.inverse(np.eye(8, dtype=np.float32))) - decode(transform.mean[None])
    assert np.allclose(np.sqrt((moves**2).mean(axis=1)), 1, atol=0.02)
    back = Transform.from_bytes(transform.to_bytes(), 8, 8)
    assert len(transform.to_bytes()) == Transform.nbytes(8, 8) == 8 * 4 + 8 * 4 + 64
    assert np.array_equal(back.synthesis, transform.synthesis) and np.array_equal(back.mean, transform.mean)


def test_transform_coding_costs_fewer_bytes_than_per_dimension_steps_at_the_same_error():
    from keras_ae.codec.quantize import decoder_sensitivity
    from keras_ae.codec.transform import decoder_metric

    _, decode = linear_decoder()
    codes = correlated_codes()
    names = [f"{i:05d}.png" for i in range(len(codes))]

    def cost(codebook):
        data, _ = codec.archive_bytes("ab" * 32, (5, 10, 1), names, codes, codebook)
        error = decode(codebook.round_trip(codes)) - decode(codes)
        return len(data), float(np.sqrt((error**2).mean()))

    per_dimension = codec.Codebook.fit(codes, step=0.1, sensitivity=decoder_sensitivity(decode, codes))
    transformed = codec.Codebook.fit(codes, step=0.1, metric=decoder_metric(decode, codes))
    (plain_bytes, plain_error), (klt_bytes, klt_error) = cost(per_dimension), cost(transformed)
    assert klt_error < 1.05 * plain_error and klt_bytes < 0.85 * plain_bytes
    assert abs(klt_error - 0.1 * np.sqrt(8 / 12)) < 0.005  # one step, 8 values, the metric's promise
    coarse = codec.Codebook.fit(codes, step=40.0, metric=decoder_metric(decode, codes))
    assert 0 < coarse.transform.size < 8  # components that round to zero everywhere are left out


# -- the commands, on a small fixed-seed model and real 8x8 digits ------------------------------------------------
@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A tiny conv autoencoder for 8x8 digits (untrained, fixed seed: the format does not care about quality),
    a second one with other weights, and 40 digit PNGs."""
    from sklearn.datasets import load_digits

    root = tmp_path_factory.mktemp("codec")
    keras.utils.set_random_seed(0)
    ae = build("conv", (8, 8, 1), 6, filters=(8,), dense_units=16)
    ae.save(str(root / "model.keras"))
    keras.utils.set_random_seed(1)
    build("conv", (8, 8, 1), 6, filters=(8,), dense_units=16).save(str(root / "other.keras"))
    images = (load_digits().images[:40] / 16.0).astype(np.float32)
    folder = root / "digits"
    folder.mkdir()
    for i, image in enumerate(images):
        Image.fromarray((image * 255).round().astype(np.uint8)).save(folder / f"d{i:02d}.png")
    return root, ae, images


def digest(folder) -> dict:
    return {n: hashlib.sha256((folder / n).read_bytes()).hexdigest() for n in sorted(os.listdir(folder))}


def test_compress_decompress_keeps_names_order_and_decodes_what_the_model_reconstructs(cli, setup, tmp_path):
    root, ae, images = setup
    before = digest(root / "digits")
    files = [root / "digits" / n for n in ("d07.png", "d03.png", "d31.png")]  # an order that is not sorted
    code, out, err = cli("compress", "--model", root / "model.keras", *files, root / "digits", "-o",
                         tmp_path / "a.kae", "--bits", "8")  # fmt: skip
    assert code == 2 and "share the file name" in err  # d07 twice: refused before anything is written
    assert not os.path.exists(tmp_path / "a.kae")
    code, out, err = cli("compress", "--model", root / "model.keras", *files, "-o", tmp_path / "a.kae", "--bits", "8")
    assert code == 0, err
    assert "3 images" in out
    header, codes = codec.read_archive(str(tmp_path / "a.kae"))
    assert header.names == ["d07.png", "d03.png", "d31.png"] and header.fingerprint == ae.fingerprint()
    code, out, err = cli("decompress", "--model", root / "model.keras", tmp_path / "a.kae", "-o", tmp_path / "out")
    assert code == 0, err
    assert sorted(os.listdir(tmp_path / "out")) == ["d03.png", "d07.png", "d31.png"]
    restored = np.asarray(Image.open(tmp_path / "out" / "d31.png"), np.float32) / 255
    pixels = np.asarray(Image.open(files[2]), np.float32)[None, ..., None] / 255
    assert np.abs(restored - ae.reconstruct(pixels)[0, ..., 0]).max() < 0.03  # 8-bit codes, 8-bit pixels
    assert digest(root / "digits") == before  # inputs untouched


@pytest.fixture(scope="module")
def archive(setup, tmp_path_factory):
    """A folder of 40 digits at 5 bits with ANS, made through the library."""
    root, ae, _ = setup
    path = tmp_path_factory.mktemp("archive") / "digits.kae"
    files = sorted(str(root / "digits" / n) for n in os.listdir(root / "digits"))
    summary = codec.compress(ae, files, str(path), bits=5, coder="ans")
    assert summary.bytes == os.path.getsize(path) and summary.images == 40
    return path


@pytest.fixture(scope="module")
def transformed(setup, tmp_path_factory):
    """The same 40 digits, transform-coded (--step, the default of `keras-ae compress`)."""
    root, ae, _ = setup
    path = tmp_path_factory.mktemp("transformed") / "digits.kae"
    files = sorted(str(root / "digits" / n) for n in os.listdir(root / "digits"))
    codec.compress(ae, files, str(path), step=0.005)
    return path


@pytest.mark.slow
def test_a_transformed_archive_is_version_2_and_decodes_what_its_codebook_promises(cli, setup, archive, transformed,
                                                                                   tmp_path):  # fmt: skip
    from keras_ae.codec.transform import decoder_metric

    root, ae, _ = setup
    files = sorted(str(root / "digits" / n) for n in os.listdir(root / "digits"))
    codec.compress(ae, files, str(tmp_path / "v1.kae"), bits=5, coder="lzma")  # no model kind, no transform
    assert (tmp_path / "v1.kae").read_bytes()[8] == 1 and transformed.read_bytes()[8] == 2
    assert np.array_equal(codec.read_archive(str(tmp_path / "v1.kae"))[1], codec.read_archive(str(archive))[1])
    codes = codec.encode_files(ae, files)
    header, decoded = codec.read_archive(str(transformed), ae.fingerprint())
    assert header.transform is not None and header.code_size == 6 and 0 < header.size <= 6
    codebook = codec.Codebook.fit(codes, step=0.005, metric=decoder_metric(ae.decode, codes))
    assert np.allclose(decoded, codebook.round_trip(codes), atol=1e-5)
    assert np.allclose(decoded, codes, atol=0.05 * np.abs(codes).max())
    code, _, err = cli("decompress", "--model", root / "model.keras", transformed, "-o", tmp_path / "out")
    assert code == 0, err
    assert len(os.listdir(tmp_path / "out")) == 40
    code, _, err = cli("decompress", "--model", root / "other.keras", transformed, "-o", tmp_path / "other")
    assert_one_line_error(code, err, ae.fingerprint()[:16], "not by --model")
    assert not os.path.exists(tmp_path / "other")
    relabelled = copy_with(transformed, tmp_path, lambda d: (d.__setitem__(8, 1), reseal(d)))  # v2 read as v1
    code, _, err = cli("decompress", "--model", root / "model.keras", relabelled, "-o", tmp_path / "v1")
    assert_one_line_error(code, err, "changed.kae")
    for version in (0, 4):
        newer = copy_with(transformed, tmp_path, lambda d, v=version: (d.__setitem__(8, v), reseal(d)))
        code, _, err = cli("decompress", "--model", root / "model.keras", newer, "-o", tmp_path / "v4")
        assert_one_line_error(code, err, f"version {version}", "reads versions 1, 2, 3")
    assert not os.path.exists(tmp_path / "v1") and not os.path.exists(tmp_path / "v4")


@pytest.mark.parametrize("coder", ["lzma", "raw"])
def test_other_coders_and_step_quantization_give_the_same_images(setup, tmp_path, archive, coder):
    root, ae, _ = setup
    files = sorted(str(root / "digits" / n) for n in os.listdir(root / "digits"))
    codec.compress(ae, files, str(tmp_path / "b.kae"), bits=5, coder=coder)
    assert np.array_equal(codec.read_archive(str(tmp_path / "b.kae"))[1], codec.read_archive(str(archive))[1])
    codec.compress(ae, files, str(tmp_path / "s.kae"), step=0.02, coder="ans", transform=False)
    header, codes = codec.read_archive(str(tmp_path / "s.kae"))
    assert np.abs(codes - codec.encode_files(ae, files)).max() <= header.step.max() / 2 + 1e-5


def test_encode_and_decode_raw_codes(cli, setup, tmp_path):
    root, ae, _ = setup
    code, _, err = cli("encode", "--model", root / "model.keras", root / "digits", "-o", tmp_path / "codes.npy")
    assert code == 0, err
    codes = np.load(tmp_path / "codes.npy")
    assert codes.shape == (40, 6) and codes.dtype == np.float32
    code, _, err = cli("decode", "--model", root / "model.keras", tmp_path / "codes.npy", "-o", tmp_path / "img")
    assert code == 0, err
    assert (
        sorted(os.listdir(tmp_path / "img"))[:2] == ["00000.png", "00001.png"]
        and len(os.listdir(tmp_path / "img")) == 40
    )
    np.save(tmp_path / "bad.npy", np.zeros((3, 5)))
    code, _, err = cli("decode", "--model", root / "model.keras", tmp_path / "bad.npy", "-o", tmp_path / "img2")
    assert_one_line_error(code, err, "bad.npy", "(N, 6)")
    assert not os.path.exists(tmp_path / "img2")


# -- bad input: one line, exit 2, nothing written, no input modified -------------------------------------------
def copy_with(archive, tmp_path, change) -> str:
    data = bytearray(archive.read_bytes())
    change(data)
    path = tmp_path / "changed.kae"
    path.write_bytes(bytes(data))
    return path


def reseal(data: bytearray) -> None:
    """Recompute the checksum, as a forger would."""
    data[-4:] = struct.pack("<I", zlib.crc32(bytes(data[:-4])))


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.__delitem__(slice(len(d) - 10, None)), "checksum"),
        (lambda d: d.__delitem__(slice(12, None)), "truncated"),
        (lambda d: d.__setitem__(0, ord("P")), "not a .kae archive"),
        (lambda d: d.__setitem__(8, 7), "version 7"),
        (lambda d: d.__setitem__(len(d) // 2, d[len(d) // 2] ^ 0x10), "checksum"),
        (lambda d: (d.__setitem__(slice(45, 49), struct.pack("<I", 2**30)), reseal(d)), "claims"),
        (lambda d: (d.__setitem__(slice(49, 53), struct.pack("<HH", 60000, 60000)), reseal(d)), "absurd image shape"),
        (lambda d: d.extend(b"tail"), "checksum"),
    ],
    ids=["truncated-end", "truncated-header", "magic", "version", "flipped", "absurd-count", "absurd-shape", "tail"],
)
def test_damaged_archives_give_one_line_errors_and_write_nothing(cli, setup, archive, tmp_path, change, message):
    root, _, _ = setup
    bad = copy_with(archive, tmp_path, change)
    before = bad.read_bytes()
    code, _, err = cli("decompress", "--model", root / "model.keras", bad, "-o", tmp_path / "out")
    assert_one_line_error(code, err, "changed.kae", message)
    assert not os.path.exists(tmp_path / "out") and bad.read_bytes() == before


@pytest.mark.parametrize("which", ["archive", "transformed"])
def test_fuzz_flipped_bytes_give_clean_errors_or_the_right_codes(setup, archive, transformed, tmp_path, which):
    _, ae, _ = setup
    archive = {"archive": archive, "transformed": transformed}[which]
    good = codec.read_archive(str(archive))[1]
    data = archive.read_bytes()
    rng = np.random.default_rng(0)
    outcomes, fingerprint = set(), ae.fingerprint()
    for trial in range(300 if which == "archive" else 150):
        damaged = bytearray(data)
        for _ in range(rng.integers(1, 4)):
            damaged[rng.integers(len(damaged))] ^= int(rng.integers(1, 256))
        if trial % 3 == 0:  # a forger who also fixes the checksum: the bounds and decoders must still hold
            reseal(damaged)
        path = tmp_path / "fuzz.kae"
        path.write_bytes(bytes(damaged))
        try:
            header, codes = codec.read_archive(str(path), fingerprint)
        except UserError as error:
            assert "\n" not in str(error) and "fuzz.kae" in str(error)
            outcomes.add("error")
            continue
        outcomes.add("decoded")
        assert header.count == 40 and codes.shape == good.shape and np.all(np.isfinite(codes))
    assert "error" in outcomes


def test_an_archive_from_another_model_is_refused_naming_both(cli, setup, archive, tmp_path):
    root, ae, _ = setup
    code, _, err = cli("decompress", "--model", root / "other.keras", archive, "-o", tmp_path / "out")
    assert_one_line_error(code, err, ae.fingerprint()[:16], "not by --model")
    assert not os.path.exists(tmp_path / "out")


def test_images_of_the_wrong_size_or_mode_are_refused(cli, setup, tmp_path):
    root, _, _ = setup
    Image.new("L", (9, 8)).save(tmp_path / "wide.png")
    Image.new("RGB", (8, 8), (255, 0, 0)).save(tmp_path / "red.png")
    for name, fragment in (("wide.png", "9x8"), ("red.png", "colour mode")):
        code, _, err = cli("compress", "--model", root / "model.keras", tmp_path / name, "-o", tmp_path / "x.kae")
        assert_one_line_error(code, err, name, fragment)
        assert not os.path.exists(tmp_path / "x.kae")
    assert [n for n in os.listdir(tmp_path) if "partial" in n] == []


def test_existing_outputs_are_refused_unless_overwrite(cli, setup, archive, tmp_path):
    root, _, _ = setup
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "d05.png").write_bytes(b"mine")
    (tmp_path / "out" / "keep.txt").write_bytes(b"other file")
    args = ("decompress", "--model", root / "model.keras", archive, "-o", tmp_path / "out")
    code, _, err = cli(*args)
    assert_one_line_error(code, err, "d05.png", "--overwrite")
    assert sorted(os.listdir(tmp_path / "out")) == ["d05.png", "keep.txt"]
    code, _, err = cli(*args, "--overwrite")
    assert code == 0, err
    assert len(os.listdir(tmp_path / "out")) == 41 and (tmp_path / "out" / "d05.png").read_bytes() != b"mine"
    before = archive.read_bytes()
    code, _, err = cli("compress", "--model", root / "model.keras", root / "digits", "-o", archive)
    assert_one_line_error(code, err, "already exists", "--overwrite")
    assert archive.read_bytes() == before


def test_rate_distortion_rows_count_whole_files_and_curves_interpolate(setup):
    from keras_ae.codec import rate

    _, ae, images = setup
    x = images[..., None]
    rows = rate.archive_rows("AE", ae.embed, ae.decode, ae.fingerprint(), x, settings=[("bits", 2), ("bits", 6)],
                             coders=("ans", "raw"))  # fmt: skip
    small, large = rows[0], rows[2]
    assert small["bytes"] < large["bytes"] and small["psnr"] <= large["psnr"] and small["header"] > 0
    one = codec.Codebook.fit(ae.embed(x), bits=6, coder="raw")
    data, _ = codec.archive_bytes(ae.fingerprint(), x.shape[1:], rate.numbered_names(40), ae.embed(x), one)
    assert rows[3]["bytes"] == len(data) / 40
    curve = [(10.0, 20.0), (20.0, 24.0)]
    assert rate.psnr_at(curve, 15) == 22.0 and np.isnan(rate.psnr_at(curve, 5)) and rate.psnr_at(curve, 99) == 24
    assert rate.bytes_for(curve, 23.0) == 17.5 and np.isnan(rate.bytes_for(curve, 25))
    assert rate.frontier([{"method": "m", "coder": "ans", "bytes": b, "psnr": p} for b, p in
                          [(5, 20), (6, 19), (7, 21)]], "m") == [(5, 20), (7, 21)]  # fmt: skip


@pytest.fixture(scope="module")
def compress_run(tmp_path_factory):
    """`keras-ae recipe compress` with its default coding (transform codes) on digits, training a conv
    autoencoder with an 8-number code for 2 epochs: the run folder. The recipe tests share it (a run costs
    about 20 CPU-s, most of it tracing the training and the rate-distortion sweep)."""
    from keras_ae.cli import main

    out = tmp_path_factory.mktemp("compress") / "run"
    with pytest.raises(SystemExit) as exit_info:
        main(["recipe", "compress", "--dataset", "digits", "--bottleneck", "8", "--epochs", "2", "--out", str(out)])
    assert exit_info.value.code == 0
    return out


@pytest.mark.slow
def test_compress_recipe_writes_an_archive_its_model_decompresses(cli, compress_run, tmp_path):
    # the model trained by the shared run (`--model`): this run quantizes its codes at 4 bits per value
    code, out, err = cli("recipe", "compress", "--dataset", "digits", "--model", compress_run, "--bits", "4",
                         "--out", tmp_path / "run")  # fmt: skip
    assert code == 0, err
    assert {"model.keras", "validation.kae", "rate_distortion.png", "reconstructions.png", "metrics.json"} <= set(
        os.listdir(tmp_path / "run")
    )
    import json

    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["bytes_per_image"] == os.path.getsize(tmp_path / "run" / "validation.kae") / metrics["images"]
    assert 4 < metrics["fixed_length_bytes_per_image"] < 6  # 8 values x 4 bits, and the header over 180 images
    assert metrics["bytes_per_image"] < 8 and 10 < metrics["psnr"] < 40
    code, _, err = cli("decompress", "--model", tmp_path / "run", tmp_path / "run" / "validation.kae", "-o",
                       tmp_path / "restored")  # fmt: skip
    assert code == 0, err
    assert len(os.listdir(tmp_path / "restored")) == metrics["images"]
    assert load(str(tmp_path / "run")).fingerprint() == load(str(compress_run)).fingerprint()  # the model it took


@pytest.mark.slow
def test_compress_recipe_transform_codes_by_default_and_beats_fixed_length_codes(cli, compress_run, tmp_path):
    import json

    metrics = json.loads((compress_run / "metrics.json").read_text())
    assert metrics["transform"] and metrics["step"] == 0.01 and metrics["bits"] is None
    # 180 tiny images: the transform's matrix (1.8 B per image here, against 0.85 B for a fixed-length archive's
    # header) costs about what entropy coding saves, so the codes themselves are compared, at the same PSNR:
    # 4.1 B per image against 4.9 B for fixed-length codes (2 epochs, seed 0)
    raw_header = {r["header"] for r in metrics["rate_distortion"] if r.get("coder") == "raw" and r["method"] == "AE"}
    assert len(raw_header) == 1
    payload = metrics["bytes_per_image"] - metrics["header_bytes"] / metrics["images"]
    fixed_payload = metrics["fixed_length_bytes_per_image"] - raw_header.pop()
    assert 0 < payload < 0.95 * fixed_payload, (payload, fixed_payload)
    assert metrics["bytes_per_image"] < 1.1 * metrics["fixed_length_bytes_per_image"]  # whole files: about even
    ae = load(str(compress_run))
    _, codes = codec.read_archive(str(compress_run / "validation.kae"), ae.fingerprint())
    x_val, _ = keras_ae.data.load("digits").arrays("validation")
    assert codes.shape == (len(x_val), 8) == (metrics["images"], 8)
    assert abs(rate.quality(x_val, ae.decode(codes))[0] - metrics["psnr"]) < 1e-3  # the archive is what was measured
    code, _, err = cli("recipe", "compress", "--dataset", "digits", "--bits", "4", "--step", "0.01",
                       "--out", tmp_path / "both")  # fmt: skip
    assert code == 2 and "not both" in err and not os.path.exists(tmp_path / "both")


def test_more_images_than_an_archive_holds_is_refused_before_reading_them(setup, tmp_path, monkeypatch):
    root, ae, _ = setup
    monkeypatch.setattr(container, "MAX_IMAGES", 3)
    files = sorted(str(root / "digits" / n) for n in os.listdir(root / "digits"))
    with pytest.raises(UserError, match="more than one archive holds"):
        codec.compress(ae, files, str(tmp_path / "big.kae"), bits=4)
    assert not os.path.exists(tmp_path / "big.kae")


def test_quantization_noise_is_uniform_in_training_and_the_identity_at_inference():
    from keras_ae.codec.rounding import QuantizationNoise

    codes = np.random.default_rng(3).normal(size=(4000, 8)).astype(np.float32) * 5
    layer = QuantizationNoise(width=0.5, rate_weight=0.01, seed=0)
    assert np.array_equal(keras.ops.convert_to_numpy(layer(codes)), codes)  # inference: exactly the codes
    assert not layer.losses
    noisy = keras.ops.convert_to_numpy(layer(codes, training=True))
    error = noisy - codes
    assert 0.2 < np.abs(error).max() <= 0.25 + 1e-5  # the width of one step
    assert abs(error.mean()) < 0.01 and abs(error.std() - 0.5 / np.sqrt(12)) < 0.01  # uniform, not rounding
    assert len(layer.losses) == 1
    assert np.isclose(float(layer.losses[0]), 0.01 * np.abs(codes).mean() / 0.5, rtol=1e-4)
    with pytest.raises(UserError, match="width"):
        QuantizationNoise(width=0)
    # saving, safe-mode loading, SavedModel, TFLite and mixed precision: test_builders.TestQuantizationNoise
