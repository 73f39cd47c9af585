"""Output folders that appear whole or not at all.

A command writes into `<out>.partial/` next to `<out>`, and only when everything is written renames it to
`<out>` (replacing an older run of the same name). A crash leaves the previous `<out>` untouched; the
`.partial` folder it leaves behind is where training resumes from (`BackupAndRestore`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile

import numpy as np

from keras_ae.errors import UserError


def partial_path(out: str) -> str:
    return os.path.normpath(out) + ".partial"


def own_path(out: str) -> str:
    """`out` itself, except on a worker other than the chief of a multi-worker run: there every recipe's
    folders go to a private copy (`keras_ae.distribute.worker_path`), so only the chief writes the user's."""
    import sys

    if "tensorflow" not in sys.modules:  # no strategy can be in force before TensorFlow is imported
        return out
    from keras_ae import distribute

    return distribute.worker_path(out)


def prepare(out: str, flag: str = "--out") -> str:
    """Check that `out` can be written and return its `.partial` working folder (created if missing)."""
    out = os.path.normpath(own_path(out))
    if os.path.exists(out) and not os.path.isdir(out):
        raise UserError(f"{flag} {out}: exists and is not a folder")
    work = partial_path(out)
    try:
        os.makedirs(work, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=work, prefix=".probe-"):
            pass
    except OSError as error:
        raise UserError(f"{flag} {out}: cannot write there ({error.strerror or error})") from None
    return work


def commit(work: str, out: str) -> str:
    """Atomically replace `out` by the finished `work` folder."""
    out = os.path.normpath(own_path(out))
    old = None
    if os.path.exists(out):
        old = tempfile.mkdtemp(prefix=os.path.basename(out) + ".old-", dir=os.path.dirname(out) or ".")
        os.rmdir(old)
        os.rename(out, old)
    os.rename(work, out)
    if old:
        shutil.rmtree(old, ignore_errors=True)
    return out


def resume_or_start(out: str, config: dict, echo=print, flag: str = "--out") -> str:
    """The working folder of a resumable run: kept if it holds an interrupted run of the same `config`
    (training then resumes from its backups), emptied if the settings differ. `config.json` is written."""
    work = prepare(out, flag)
    if read_json(os.path.join(work, "config.json")) not in (None, json_roundtrip(config)):
        echo(f"{work} holds an interrupted run with other settings; starting afresh")
        shutil.rmtree(work)
        work = prepare(out, flag)
    write_json(os.path.join(work, "config.json"), config)
    return work


@contextlib.contextmanager
def run_folder(out: str, flag: str = "--out"):
    """`with run_folder(out) as work:` write into `work`; it becomes `out` only if the block succeeds,
    and disappears if it fails (for work that cannot be resumed)."""
    work = prepare(out, flag)
    try:
        yield work
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    commit(work, out)


def _to_json(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_json(path: str, data) -> None:
    """Write JSON through a temporary file and a rename, so a reader never sees half a file."""
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True, default=_to_json)
        f.write("\n")
    os.replace(tmp, path)


def read_json(path: str, default=None):
    if not os.path.exists(path):
        return default
    with open(path) as f:
        return json.load(f)


def json_roundtrip(data):
    """`data` as it reads back from JSON (tuples become lists), to compare configurations."""
    return json.loads(json.dumps(data, default=_to_json))
