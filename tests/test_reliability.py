"""Issue 17: never lose a user's files. One small test per case a hostile tester tried (docs/reliability.md
lists the promises and which test checks each): foreign output folders, 16-bit images, hostile files,
concurrent runs, `import keras_ae` + `keras.saving.load_model`, and archives that claim more than they hold."""

from __future__ import annotations

import dataclasses
import json
import os
import struct
import subprocess
import sys
import time
import zlib

import keras
import numpy as np
import pytest
from conftest import assert_one_line_error, run_python
from PIL import Image

from keras_ae import io, runs
from keras_ae.codec import container
from keras_ae.errors import UserError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(path, side=50_000):
    """A 74-byte PNG whose header declares side x side grey pixels."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    stream = zlib.compress(b"\0" * 1000)
    path.write_bytes(PNG_SIGNATURE + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", stream) + png_chunk(b"IEND", b""))


def broken_stream_png(path):
    """An 8x8 grey PNG with correct chunk checksums around a zlib stream that does not decode."""
    header = struct.pack(">IIBBBBB", 8, 8, 8, 0, 0, 0, 0)
    good = zlib.compress(b"".join(b"\0" + bytes(range(8 * i, 8 * i + 8)) for i in range(8)))
    bad = good[:2] + bytes(b ^ 0x5A for b in good[2:-4]) + good[-4:]
    path.write_bytes(PNG_SIGNATURE + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", bad) + png_chunk(b"IEND", b""))


def gradient16(height=8, width=8):
    return np.linspace(0, 65535, height * width).round().reshape(height, width).astype(np.uint16)


def listing(folder) -> dict:
    """Every entry of a folder (hidden ones too) with its bytes, to show a folder is exactly as it was."""
    return {name: (folder / name).read_bytes() if (folder / name).is_file() else None for name in os.listdir(folder)}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A tiny keras-ae conv autoencoder for 8x8 grey images (untrained: these tests are about files, not
    quality), an identity image-to-image model, an autoencoder whose code is the image itself (`flat.keras`:
    what an archive gives back differs from the input by its quantization alone), and 12 digit PNGs."""
    from sklearn.datasets import load_digits

    from keras_ae.models import Autoencoder, build

    root = tmp_path_factory.mktemp("reliability")
    keras.utils.set_random_seed(0)
    build("conv", (8, 8, 1), 4, filters=(8,), dense_units=16).save(str(root / "ae.keras"))
    inputs = keras.Input((8, 8, 1))
    keras.Model(inputs, keras.layers.Identity()(inputs)).save(str(root / "identity.keras"))
    encoder = keras.Model(inputs, keras.layers.Flatten()(inputs), name="encoder")
    codes = keras.Input((64,))
    decoder = keras.Model(codes, keras.layers.Reshape((8, 8, 1))(codes), name="decoder")
    Autoencoder(encoder, decoder).save(str(root / "flat.keras"))
    digits = root / "digits"
    digits.mkdir()
    for i, image in enumerate(load_digits().images[:12]):
        Image.fromarray((image * 255 / 16).round().astype(np.uint8)).save(digits / f"img{i}.png")
    return root


# -- 1. output folders ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "command",
    [
        ("train", "--dataset", "digits", "--epochs", "1", "--out"),
        ("embed", "--model", "{root}/ae.keras", "--dataset", "digits", "--out"),
        ("denoise", "--model", "{root}/identity.keras", "{root}/digits/img0.png", "-o"),
    ],
    ids=["train", "embed", "denoise"],
)
def test_a_folder_keras_ae_did_not_make_is_refused_and_kept(cli, models, tmp_path, command):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes")
    before = listing(mine)
    code, _, err = cli(*(part.format(root=models) for part in command), mine)
    assert_one_line_error(code, err, str(mine), "--overwrite")
    assert listing(mine) == before and sorted(os.listdir(tmp_path)) == ["mine"]


@pytest.mark.parametrize("recipe", ["denoise", "classify", "anomaly"])
def test_a_recipe_refuses_a_foreign_export_folder_before_training(cli, tmp_path, recipe):
    """The export comes last: a folder it would refuse is refused first, not after minutes of training."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes")
    code, _, err = cli("recipe", recipe, "--export-dir", mine, "--out", tmp_path / "run")
    assert_one_line_error(code, err, "--export-dir", str(mine))
    assert sorted(os.listdir(tmp_path)) == ["mine"]  # no run folder: nothing was trained


def test_overwrite_writes_keras_ae_files_into_a_foreign_folder_and_keeps_the_others(cli, models, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes")
    (mine / "img1.png").write_bytes(b"an older picture of the same name")
    code, _, err = cli("denoise", "--model", models / "identity.keras", models / "digits", "-o", mine, "--overwrite")
    assert code == 0, err
    assert (mine / "notes.txt").read_text() == "my notes"
    assert {f"img{i}.png" for i in range(12)} <= set(os.listdir(mine))
    assert io.read_image(str(mine / "img1.png"))[0].shape == (8, 8, 1)  # the user asked for this one to go
    assert sorted(os.listdir(tmp_path)) == ["mine"]  # no .partial, no lock file left


def test_a_rerun_replaces_its_own_files_and_keeps_what_the_user_added(cli, models, tmp_path):
    out = tmp_path / "clean"
    code, _, err = cli("denoise", "--model", models / "identity.keras", models / "digits", "-o", out)
    assert code == 0, err
    assert os.path.isfile(out / runs.MARKER)
    (out / "notes.txt").write_text("added by the user")
    code, _, err = cli("denoise", "--model", models / "identity.keras", models / "digits" / "img3.png", "-o", out)
    assert code == 0, err
    assert (out / "notes.txt").read_text() == "added by the user"
    assert sorted(os.listdir(out)) == sorted([runs.MARKER, "img3.png", "notes.txt"])  # its old outputs went


def test_writing_into_an_input_folder_is_refused_even_with_overwrite(cli, models, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("img0.png", "img1.png"):
        (photos / name).write_bytes((models / "digits" / name).read_bytes())
    (photos / "captions.txt").write_text("a caption")
    before = listing(photos)
    for extra in ((), ("--overwrite",)):
        code, _, err = cli("denoise", "--model", models / "identity.keras", photos, "-o", photos, *extra)
        assert_one_line_error(code, err, str(photos))
        code, _, err = cli("denoise", "--model", models / "identity.keras", photos / "img0.png", "-o", tmp_path, *extra)
        assert_one_line_error(code, err, str(tmp_path))  # -o holds an input
    assert listing(photos) == before and sorted(os.listdir(tmp_path)) == ["photos"]


def test_out_dot_is_refused_in_a_users_folder(cli, models, tmp_path, monkeypatch):
    here = tmp_path / "here"
    here.mkdir()
    (here / "img0.png").write_bytes((models / "digits" / "img0.png").read_bytes())
    (here / "captions.txt").write_text("a caption")
    before = listing(here)
    monkeypatch.chdir(here)
    model = models / "identity.keras"
    assert_one_line_error(*cli("denoise", "--model", model, "img0.png", "-o", ".")[::2], "holds the input")
    assert_one_line_error(
        *cli("denoise", "--model", model, models / "digits" / "img1.png", "-o", ".")[::2], "--overwrite"
    )
    assert listing(here) == before and sorted(os.listdir(tmp_path)) == ["here"]


def test_a_re_export_replaces_its_own_files_and_keeps_what_the_user_added(cli, models, tmp_path):
    out = tmp_path / "exported"
    code, _, err = cli("export", models / "flat.keras", "-o", out, "--format", "saved_model")
    assert code == 0, err
    (out / "notes.txt").write_text("my notes")
    code, _, err = cli("export", models / "flat.keras", "-o", out, "--format", "tflite", "--quantize", "float32")
    assert code == 0, err
    assert sorted(os.listdir(out)) == ["metadata.json", "model_float32.tflite", "notes.txt"]  # saved_model/ went
    assert (out / "notes.txt").read_text() == "my notes"
    assert sorted(json.loads((out / "metadata.json").read_text())["files"]) == ["model_float32.tflite"]
    assert sorted(os.listdir(tmp_path)) == ["exported"]


def test_a_re_export_into_the_folder_the_user_stands_in_keeps_that_folder(cli, models, tmp_path, monkeypatch):
    """`-o .` inside an earlier export: its files are replaced one by one, the folder itself is never renamed
    (the user's shell would be left in a deleted folder)."""
    out = tmp_path / "exported"
    code, _, err = cli("export", models / "flat.keras", "-o", out, "--format", "tflite", "--quantize", "float32")
    assert code == 0, err
    (out / "notes.txt").write_text("my notes")
    inode = os.stat(out).st_ino
    monkeypatch.chdir(out)
    code, _, err = cli("export", models / "flat.keras", "-o", ".", "--format", "saved_model")
    assert code == 0, err
    assert os.stat(out).st_ino == inode and os.path.samefile(os.getcwd(), out)
    assert sorted(os.listdir(out)) == ["metadata.json", "notes.txt", "saved_model"]  # the old .tflite went


SINGLE_FILE_COMMANDS = {  # each command's arguments but --model and -o
    "score": "{tmp}/scores.npy",
    "classify": "{image}",
    "perturb": "{image}",
    "interpolate": "{image} {image}",
    "attribute fit": "--positive {digits} --negative {digits}",
    "attribute apply": "--vector {tmp}/v.npz {image}",
    "compress": "{digits}",
    "encode": "{digits}",
}


@pytest.mark.parametrize("name", SINGLE_FILE_COMMANDS)
def test_an_existing_output_file_is_refused_before_any_work_unless_overwrite(cli, models, tmp_path, name):
    from keras_ae.cli.options import FILE_OUT_HELP

    places = {"tmp": tmp_path, "image": models / "digits" / "img0.png", "digits": models / "digits"}
    args = [part.format(**places) for part in SINGLE_FILE_COMMANDS[name].split()]
    args = [*name.split(), "--model", tmp_path / "missing.keras", *args]  # refused before it would be loaded
    taken = tmp_path / "taken.out"
    taken.write_text("the user's file")
    code, _, err = cli(*args, "-o", taken)
    assert_one_line_error(code, err, f"-o {taken}", "already exists", "--overwrite")
    assert taken.read_text() == "the user's file"
    code, _, err = cli(*args, "-o", taken, "--overwrite")  # now it gets as far as the missing model
    assert code == 2 and "already exists" not in err and taken.read_text() == "the user's file"
    code, out, _ = cli(*name.split(), "--help")
    assert code == 0 and FILE_OUT_HELP in " ".join(out.split())


def test_help_says_what_happens_to_an_existing_folder(cli):
    for command in (("train",), ("embed",), ("denoise",), ("recipe", "denoise")):
        code, out, _ = cli(*command, "--help")
        assert code == 0 and "--overwrite" in out, command
        assert "keras-ae did not make" in " ".join(out.split()), command


# -- 2. 16-bit images ---------------------------------------------------------------------------------------------
def test_sixteen_bit_gradient_keeps_its_precision_through_read_and_write(tmp_path):
    gradient = gradient16()
    Image.fromarray(gradient).save(tmp_path / "grey16.png")
    pixels, bits = io.read_image(str(tmp_path / "grey16.png"))
    assert bits == 16 and pixels.dtype == np.float32 and pixels.shape == (8, 8, 1)
    assert np.array_equal((pixels[..., 0] * 65535).round().astype(np.uint16), gradient)  # was 0, 1, 1, 1 ...
    rgb = np.stack([gradient, gradient[::-1], 65535 - gradient], axis=-1)
    io.write_image(str(tmp_path / "rgb16.png"), rgb.astype(np.float32) / 65535, bits=16)
    back, bits = io.read_image(str(tmp_path / "rgb16.png"))
    assert bits == 16 and np.array_equal((back * 65535).round().astype(np.uint16), rgb)
    Image.fromarray(gradient).save(tmp_path / "grey16.tif")
    assert np.array_equal(io.read_image(str(tmp_path / "grey16.tif"))[0], pixels)
    eight, bits = io.read_image(str(tmp_path / "grey16.png"), channels=3)
    assert bits == 16 and eight.shape == (8, 8, 3) and np.allclose(eight[..., 1], pixels[..., 0])


def test_denoise_writes_sixteen_bit_where_the_input_was(cli, models, tmp_path):
    Image.fromarray(gradient16()).save(tmp_path / "scan.png")
    code, _, err = cli("denoise", "--model", models / "identity.keras", tmp_path / "scan.png", "-o", tmp_path / "out")
    assert code == 0, err
    with Image.open(tmp_path / "out" / "scan.png") as image:
        assert np.array_equal(np.asarray(image).astype(np.uint16), gradient16())  # the identity model, 16 bits kept


def test_archives_give_back_sixteen_bit_pngs_where_the_inputs_were_and_old_archives_eight_bit(cli, models, tmp_path):
    pictures = tmp_path / "in"
    pictures.mkdir()
    Image.fromarray(gradient16()).save(pictures / "scan.png")
    Image.fromarray(gradient16()[::-1]).save(pictures / "scan2.png")
    (pictures / "digit.png").write_bytes((models / "digits" / "img0.png").read_bytes())  # 8-bit, same archive
    flat = models / "flat.keras"
    code, _, err = cli("compress", "--model", flat, pictures, "-o", tmp_path / "a.kae", "--bits", "8")
    assert code == 0, err
    data = (tmp_path / "a.kae").read_bytes()
    header, payload = container.unpack(data)
    assert data[8] == 3 and header.depths == [8, 16, 16]  # digit.png, scan.png, scan2.png
    code, _, err = cli("decompress", "--model", flat, tmp_path / "a.kae", "-o", tmp_path / "out")
    assert code == 0, err
    with Image.open(tmp_path / "out" / "scan.png") as image:
        back = np.asarray(image)
    assert back.dtype == np.uint16 and len(np.unique(back)) == 64 and np.any(back % 257)  # not 8-bit steps
    assert np.abs(back.astype(int) - gradient16()).max() <= header.step.max() / 2 * 65535 + 1  # the archive's error
    with Image.open(tmp_path / "out" / "digit.png") as image:
        assert image.mode == "L"
    old = tmp_path / "old.kae"  # what keras-ae wrote before version 3: no bit depths
    old.write_bytes(container.pack(dataclasses.replace(header, bits=None), payload))
    assert old.read_bytes()[8] in (1, 2)
    code, _, err = cli("decompress", "--model", flat, old, "-o", tmp_path / "old")
    assert code == 0, err
    with Image.open(tmp_path / "old" / "scan.png") as image:
        eight = np.asarray(image)
    assert eight.dtype == np.uint8 and np.abs(eight.astype(int) * 257 - gradient16()).max() <= 257


def test_codes_of_sixteen_bit_images_decode_to_sixteen_bit_pngs_when_asked(cli, models, tmp_path):
    Image.fromarray(gradient16()).save(tmp_path / "scan.png")
    flat = models / "flat.keras"
    code, _, err = cli("encode", "--model", flat, tmp_path / "scan.png", "-o", tmp_path / "codes.npy")
    assert code == 0, err
    code, _, err = cli("decode", "--model", flat, tmp_path / "codes.npy", "-o", tmp_path / "out", "--bits", "16")
    assert code == 0, err
    with Image.open(tmp_path / "out" / "00000.png") as image:
        assert np.array_equal(np.asarray(image), gradient16())  # the code is the image: all 16 bits come back


def test_training_and_inference_read_a_sixteen_bit_folder_alike(tmp_path):
    import keras_ae.data

    for i in range(10):
        Image.fromarray(np.roll(gradient16(), i)).save(tmp_path / f"s{i}.png")
    data = keras_ae.data.load(str(tmp_path))
    images, _ = data.arrays("train")
    read = {tuple(io.read_image(str(tmp_path / f"s{i}.png"))[0].ravel()) for i in range(10)}
    assert all(tuple(image.ravel()) in read for image in images)


# -- 3. hostile files ---------------------------------------------------------------------------------------------
def test_a_decompression_bomb_is_one_line_everywhere(cli, models, tmp_path):
    bomb_png(tmp_path / "bomb.png")
    code, _, err = cli("denoise", "--model", models / "identity.keras", tmp_path / "bomb.png", "-o", tmp_path / "o")
    assert_one_line_error(code, err, "bomb.png", "50000x50000", io.MAX_PIXELS_ENV)
    folder = tmp_path / "train"
    folder.mkdir()
    for i in range(4):
        (folder / f"img{i}.png").write_bytes((models / "digits" / f"img{i}.png").read_bytes())
    bomb_png(folder / "z.png")
    code, _, err = cli("train", "--dataset", folder, "--epochs", "1", "--out", tmp_path / "run")
    assert_one_line_error(code, err, "z.png", "50000x50000")
    assert sorted(os.listdir(tmp_path)) == ["bomb.png", "train"]


def test_the_pixel_limit_can_be_raised(tmp_path, monkeypatch):
    Image.new("L", (40, 30)).save(tmp_path / "big.png")
    monkeypatch.setenv(io.MAX_PIXELS_ENV, "1000")
    with pytest.raises(UserError, match="big.png.*40x30"):
        io.read_image(str(tmp_path / "big.png"))
    monkeypatch.setenv(io.MAX_PIXELS_ENV, "1200")
    assert io.read_image(str(tmp_path / "big.png"))[0].shape == (30, 40, 1)


def test_a_broken_image_stream_is_found_before_training_starts(cli, models, tmp_path):
    folder = tmp_path / "train"
    folder.mkdir()
    for i in range(6):
        (folder / f"img{i}.png").write_bytes((models / "digits" / f"img{i}.png").read_bytes())
    broken_stream_png(folder / "broken.png")
    code, out, err = cli("train", "--dataset", folder, "--epochs", "1", "--out", tmp_path / "run")
    assert_one_line_error(code, err, "broken.png")
    assert "Epoch" not in out + err and not os.path.exists(tmp_path / "run")


@pytest.mark.parametrize("suffix", [".npz", ".npy"])
def test_object_arrays_are_one_line(cli, models, tmp_path, suffix):
    objects = np.array([np.zeros((8, 8)), np.zeros((4, 4))], dtype=object)
    path = tmp_path / f"objects{suffix}"
    np.savez(path, images=objects) if suffix == ".npz" else np.save(path, objects)
    code, _, err = cli("train", "--dataset", path, "--epochs", "1", "--out", tmp_path / "run")
    assert_one_line_error(code, err, path.name)
    code, _, err = cli("embed", "--model", models / "ae.keras", "--dataset", path, "--out", tmp_path / "emb")
    assert_one_line_error(code, err, path.name)


@pytest.fixture(scope="module")
def archive(models, tmp_path_factory):
    from keras_ae import codec
    from keras_ae.models import load

    path = tmp_path_factory.mktemp("archive") / "digits.kae"
    files = sorted(str(models / "digits" / name) for name in os.listdir(models / "digits"))
    codec.compress(load(str(models / "ae.keras")), files, str(path), bits=5, coder="ans")
    return path


def forge(archive, out, **changes):
    """A copy of `archive` with header fields changed and a correct checksum (what a hostile file looks like)."""
    header, payload = container.unpack(archive.read_bytes())
    out.write_bytes(container.pack(dataclasses.replace(header, **changes), payload))
    return out


@pytest.mark.parametrize(
    "first, second",
    [("a" * 300 + ".png", "b.png"), ("...", "b.png"), ("img0.png", "img0.jpg")],
    ids=["300-bytes", "dots", "same-stem"],
)
def test_archive_names_the_file_system_cannot_hold_are_refused(cli, models, archive, tmp_path, first, second):
    names = [first, second] + [f"x{i}.png" for i in range(10)]
    forged = forge(archive, tmp_path / "forged.kae", names=names)
    out = tmp_path / "restored"
    out.mkdir()
    (out / "user.txt").write_text("keep")
    code, _, err = cli("decompress", "--model", models / "ae.keras", forged, "-o", out)
    assert_one_line_error(code, err, "forged.kae")
    assert listing(out) == {"user.txt": b"keep"}


def test_compress_refuses_names_that_would_not_decompress(cli, models, tmp_path):
    (tmp_path / "...").write_bytes((models / "digits" / "img0.png").read_bytes())
    code, _, err = cli("compress", "--model", models / "ae.keras", tmp_path / "...", models / "digits" / "img1.png",
                       "-o", tmp_path / "a.kae")  # fmt: skip
    assert_one_line_error(code, err, "...")
    assert not os.path.exists(tmp_path / "a.kae")


# -- 4. locks ------------------------------------------------------------------------------------------------------
HOLD = """
import sys, time
from keras_ae import runs
with runs.locked(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(120)
"""


def test_a_second_process_is_refused_while_a_run_folder_is_locked_and_a_dead_holder_is_taken_over(cli, tmp_path):
    out = tmp_path / "same"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        code, _, err = cli("train", "--dataset", "digits", "--epochs", "1", "--out", out)
        assert_one_line_error(code, err, str(out), f"process {holder.pid}")
        assert not os.path.exists(runs.partial_path(str(out)))  # refused before touching anything
    finally:
        holder.kill()  # like kill -9: flock dies with the process
        holder.wait()
    with runs.locked(str(out)):  # taken over at once
        pass
    assert sorted(os.listdir(tmp_path)) == []


def test_an_interrupted_run_resumes_only_on_the_same_settings_and_the_same_input_files(tmp_path, monkeypatch):
    """A folder changed between a killed run and its rerun must not resume a model trained on other images."""
    monkeypatch.chdir(tmp_path)  # `mnist-5k` names no path here: a spec, skipped
    images, out, said = tmp_path / "images", str(tmp_path / "run"), []
    images.mkdir()
    (images / "a.png").write_bytes(b"first")

    def start(config=None):
        runs.release_all()  # as a new process would
        work = runs.resume_or_start(out, config or {"epochs": 2}, said.append, sources=(str(images), "mnist-5k"))
        return os.path.join(work, "backup")  # what an interrupted training leaves behind

    os.makedirs(start())
    assert os.path.isdir(start()) and said == []  # same settings, same files: it resumes
    (images / "b.png").write_bytes(b"second")
    assert not os.path.exists(start()) and "other input files; starting afresh" in said[-1]
    os.makedirs(start())
    (images / "a.png").write_bytes(b"changed!")  # same name, new content
    assert not os.path.exists(start()) and "other input files" in said[-1]
    os.makedirs(start())
    assert not os.path.exists(start({"epochs": 3})) and "other settings; starting afresh" in said[-1]
    assert runs.fingerprint(["mnist-5k"]) is None
    assert json.loads((tmp_path / "run.partial" / "config.json").read_text())["inputs_fingerprint"] == (
        runs.fingerprint([str(images)])
    )
    runs.release_all()


# -- 5. the README's load_model -----------------------------------------------------------------------------------
@pytest.mark.slow  # a fresh process with TensorFlow
def test_import_keras_ae_is_enough_for_keras_load_model(models, tmp_path):
    output = run_python(
        f"""
        import keras_ae
        import keras
        model = keras.saving.load_model({str(models / "ae.keras")!r}, safe_mode=True)
        print(type(model).__name__, model.input_shape)
        """,
        cwd=tmp_path,
    )
    assert "(None, 8, 8, 1)" in output


def test_every_module_that_registers_a_layer_is_imported_when_keras_is():
    import pathlib

    import keras_ae

    root = pathlib.Path(keras_ae.__file__).parent
    registering = {
        ".".join(path.relative_to(root.parent).with_suffix("").parts)
        for path in root.rglob("*.py")
        if "register_keras_serializable" in path.read_text()
    }
    keras_ae.register_layers()
    assert registering and registering <= set(sys.modules), registering - set(sys.modules)


# -- 6. archives: refuse before work, bounded, umask, leftovers ----------------------------------------------------
def test_an_archive_for_another_shape_is_refused_before_decoding(cli, models, archive, tmp_path, monkeypatch):
    from keras_ae.codec import entropy

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded before checking the header")

    monkeypatch.setattr(entropy, "decode", no_decoding)
    forged = forge(archive, tmp_path / "shape.kae", shape=(28, 28, 1))
    code, _, err = cli("decompress", "--model", models / "ae.keras", forged, "-o", tmp_path / "out")
    assert_one_line_error(code, err, "shape.kae", "28x28x1")


def test_an_archive_claiming_more_codes_than_its_bytes_hold_is_refused_at_once(cli, models, archive, tmp_path):
    forged = forge(archive, tmp_path / "many.kae", names=[f"f{i:07d}.png" for i in range(200_000)])
    assert os.path.getsize(forged) < 5000
    start = time.perf_counter()
    code, _, err = cli("decompress", "--model", models / "ae.keras", forged, "-o", tmp_path / "out")
    assert_one_line_error(code, err, "many.kae")
    assert time.perf_counter() - start < 10 and not os.path.exists(tmp_path / "out")


def test_archives_respect_the_umask_and_leftovers_of_a_killed_run_are_cleaned(cli, models, archive, tmp_path):
    old = os.umask(0o022)
    try:
        code, _, err = cli("compress", "--model", models / "ae.keras", models / "digits", "-o", tmp_path / "a.kae")
    finally:
        os.umask(old)
    assert code == 0, err
    assert os.stat(tmp_path / "a.kae").st_mode & 0o777 == 0o644
    out = tmp_path / "restored"
    (out / ".kae-partial-killed").mkdir(parents=True)
    (out / ".kae-partial-killed" / "img0.png").write_bytes(b"half")
    code, _, err = cli("decompress", "--model", models / "ae.keras", archive, "-o", out)
    assert code == 0, err
    assert sorted(os.listdir(out)) == sorted(f"img{i}.png" for i in range(12))
