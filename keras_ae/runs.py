"""Output folders that appear whole or not at all, that are keras-ae's own, and that one process writes at a time.

A command writes into `<out>.partial/` next to `<out>`, and only when everything is written moves it to
`<out>`. A crash leaves the previous `<out>` untouched; the `.partial` folder it leaves behind is where
training resumes from (`BackupAndRestore`). What an existing `<out>` may lose (docs/reliability.md):

- A folder keras-ae made holds a marker file, `.keras-ae-run`, listing the files keras-ae wrote there. A
  new run replaces those files; anything else in the folder (a user's notes) is kept.
- An existing folder without the marker is not keras-ae's: it is refused (one line, exit 2), unless the
  user passes `--overwrite` (`overwriting()`); then keras-ae's files are written into it, replacing files
  of the same names, and every other file stays. An empty folder counts as keras-ae's.
- A folder that holds one of the command's inputs is always refused; so is a folder that holds the current
  working folder unless it is written file by file (`-o .` with `--overwrite`).
- While a process works on `<out>` it holds an exclusive `flock` on `<out>.lock` (its pid written inside):
  a second process is refused in one line naming that pid. The kernel drops the lock when its holder dies
  (even by `kill -9`), so the next run takes a stale lock over without asking.
"""

from __future__ import annotations

import contextlib
import contextvars
import fcntl
import json
import os
import shutil
import tempfile

import numpy as np

from keras_ae.errors import UserError

MARKER = ".keras-ae-run"
OUT_HELP = (
    "An existing folder keras-ae made is replaced (files you added there are kept); a folder keras-ae did not "
    "make is refused unless --overwrite."
)
OVERWRITE_HELP = (
    "Write into an existing folder keras-ae did not make: its files of the names keras-ae writes are replaced, "
    "every other file is kept."
)
_OVERWRITE = contextvars.ContextVar("keras_ae_overwrite", default=False)
_HELD: dict[str, int] = {}  # lock file -> its open descriptor, for the locks this process holds


# -- ownership ------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def overwriting(allowed: bool = True):
    """`with overwriting():` folders keras-ae did not make may be written into (what `--overwrite` asks)."""
    token = _OVERWRITE.set(allowed)
    try:
        yield
    finally:
        _OVERWRITE.reset(token)


def allow_overwrite(allowed: bool = True):
    """Set the `--overwrite` permission for the rest of this context; returns a token for `reset_overwrite`."""
    return _OVERWRITE.set(allowed)


def reset_overwrite(token) -> None:
    _OVERWRITE.reset(token)


def is_ours(out: str) -> bool:
    """True for a folder keras-ae made (it holds the marker)."""
    return os.path.isfile(os.path.join(out, MARKER))


def written_files(out: str) -> list[str]:
    """The names keras-ae wrote in `out` (from its marker); [] for a folder keras-ae did not make."""
    try:
        with open(os.path.join(out, MARKER)) as f:
            files = json.load(f).get("files", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [name for name in files if isinstance(name, str) and os.path.basename(name) == name]


def check_target(out: str, flag: str = "--out", inputs=(), ours=None) -> None:
    """Refuse (one line) an `out` that is a file, holds an input, or is a folder keras-ae did not make
    (unless `--overwrite`). `ours(out)`, for outputs that list their own files (an export's metadata.json),
    replaces the marker: the names such an output wrote in `out` (empty if `out` is not one); the caller
    then refuses what is not its own."""
    absolute = os.path.abspath(out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise UserError(f"{flag} {out}: exists and is not a folder")
    for item in map(os.fspath, inputs):
        if _inside(os.path.abspath(item), absolute):
            raise UserError(f"{flag} {out}: holds the input {item}; write the results to another folder")
    if ours is not None or not os.path.isdir(out) or is_ours(out) or not os.listdir(out) or _OVERWRITE.get():
        return
    raise UserError(
        f"{flag} {out}: exists and keras-ae did not make it (no {MARKER} file); choose a new folder, or pass "
        "--overwrite to add keras-ae's files to it (nothing else there is touched)"
    )


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


# -- locks ----------------------------------------------------------------------------------------------------
def lock_path(out: str) -> str:
    return os.path.abspath(out).rstrip(os.sep) + ".lock"


def lock(out: str, flag: str = "--out") -> None:
    """Hold `<out>.lock` for this process (until `release`, or the process ends); refuse if another holds it."""
    path = lock_path(out)
    if path in _HELD:
        return
    while True:
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as error:
            raise UserError(f"{flag} {out}: cannot write there ({error.strerror or error})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise UserError(
                f"{flag} {out}: another keras-ae (process {holder}) is writing there; wait for it to end, or "
                "choose another folder"
            ) from None
        with contextlib.suppress(FileNotFoundError):  # the holder before us may have removed it meanwhile
            if os.path.samestat(os.fstat(fd), os.stat(path)):
                break
        os.close(fd)
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    _HELD[path] = fd


def release(out: str) -> None:
    """Give up the lock on `out` (removing its file first, so no one waits on a stale one)."""
    path = lock_path(out)
    fd = _HELD.pop(path, None)
    if fd is not None:
        with contextlib.suppress(OSError):
            os.remove(path)
        os.close(fd)


def release_all() -> None:
    for path in list(_HELD):
        release(path.removesuffix(".lock"))


@contextlib.contextmanager
def locked(out: str, flag: str = "--out"):
    """`with locked(out):` hold the lock on `out` for the block (taken over at once if its holder died)."""
    held = lock_path(out) in _HELD
    lock(out, flag)
    try:
        yield
    finally:
        if not held:
            release(out)


# -- run folders ----------------------------------------------------------------------------------------------
def partial_path(out: str) -> str:
    return os.path.abspath(out).rstrip(os.sep) + ".partial"


def own_path(out: str) -> str:
    """`out` itself, except on a worker other than the chief of a multi-worker run: there every recipe's
    folders go to a private copy (`keras_ae.distribute.worker_path`), so only the chief writes the user's."""
    import sys

    if "tensorflow" not in sys.modules:  # no strategy can be in force before TensorFlow is imported
        return out
    from keras_ae import distribute

    return distribute.worker_path(out)


def prepare(out: str, flag: str = "--out", inputs=(), ours=None) -> str:
    """Check that `out` may be written (see the module's docstring), lock it, and return its `.partial`
    working folder (created if missing)."""
    out = os.path.normpath(own_path(out))
    check_target(out, flag, inputs, ours)
    lock(out, flag)
    work = partial_path(out)
    try:
        os.makedirs(work, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=work, prefix=".probe-"):
            pass
    except OSError as error:
        release(out)
        raise UserError(f"{flag} {out}: cannot write there ({error.strerror or error})") from None
    return work


def commit(work: str, out: str, ours=None) -> str:
    """Move the finished `work` folder to `out` (see the module's docstring for what `out` may lose), mark
    it as keras-ae's, and release the lock. With `ours` (see `check_target`), the files `ours(out)` names
    are replaced the same way, and no marker is written."""
    out = os.path.normpath(own_path(out))
    try:
        files = sorted(name for name in os.listdir(work) if name != MARKER)
        owned = ours(out) if ours is not None else None
        here = _inside(os.getcwd(), os.path.abspath(out))  # never rename the folder a user stands in
        if ours is not None and here and os.path.exists(out):
            _merge(work, out, files, owned, mark=False)
        elif ours is not None and (not os.path.exists(out) or owned or not os.listdir(out)):
            _swap(work, out, None, owned)
        elif not os.path.exists(out):
            _mark(work, files)
            os.rename(work, out)
        elif is_ours(out) and not here:
            _swap(work, out, files)
        else:
            _merge(work, out, files)
    finally:
        release(out)
    return out


def _mark(folder: str, files) -> None:
    from keras_ae import __version__

    text = json.dumps({"keras-ae": __version__, "files": sorted(files)}, indent=1) + "\n"
    with open(os.path.join(folder, MARKER), "w") as f:
        f.write(text)


def _swap(work: str, out: str, files, owned=None) -> None:
    """Replace keras-ae's folder whole (one rename), then bring back what the user had added to it: every
    name but those keras-ae wrote there (`owned`, by default the marker's list). `files`: the names the new
    folder's marker lists; None for outputs that list their own (no marker is written)."""
    ours = set(written_files(out) if owned is None else owned) | {MARKER}
    if files is not None:
        _mark(work, files)
    if not os.path.exists(out):
        os.rename(work, out)
        return
    old = tempfile.mkdtemp(prefix=os.path.basename(out) + ".old-", dir=os.path.dirname(os.path.abspath(out)))
    os.rmdir(old)
    os.rename(out, old)
    os.rename(work, out)
    for name in os.listdir(old):
        if name not in ours and not os.path.lexists(os.path.join(out, name)):
            os.rename(os.path.join(old, name), os.path.join(out, name))
    shutil.rmtree(old, ignore_errors=True)


def _merge(work: str, out: str, files, owned=None, mark: bool = True) -> None:
    """Write into a folder file by file (one the user let us into with --overwrite, or one holding the
    working folder): keras-ae's names are replaced, its stale files removed, nothing else touched.
    `owned`/`mark`: as in `_swap`, for outputs that list their own files."""
    stale = set(written_files(out) if owned is None else owned) - set(files)
    for name in files:
        target = os.path.join(out, name)
        if os.path.isdir(target) and not os.path.islink(target) and os.path.isdir(os.path.join(work, name)):
            shutil.rmtree(target)
        os.replace(os.path.join(work, name), target)
    for name in stale:
        path = os.path.join(out, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.remove(path)
    if mark:
        _mark(out, files)
    shutil.rmtree(work, ignore_errors=True)


def resume_or_start(out: str, config: dict, echo=print, flag: str = "--out", inputs=(), sources=()) -> str:
    """The working folder of a resumable run: kept if it holds an interrupted run of the same `config` on the
    same `sources` (training then resumes from its backups), emptied if either differs. `sources`: the files
    and folders the run learns from (a data spec that names no path is skipped); a folder whose files changed
    since the interruption would otherwise resume a model trained on other images. `config.json` is written,
    with the sources' `fingerprint` where there are any.
    The folder is locked until `commit` (or the process's end)."""
    work = prepare(out, flag, inputs)
    stamp = fingerprint(sources)
    record = {**config, "inputs_fingerprint": stamp} if stamp else config
    previous = read_json(os.path.join(work, "config.json"))
    if previous not in (None, json_roundtrip(record)):
        settings = dict(previous) if isinstance(previous, dict) else {}
        settings.pop("inputs_fingerprint", None)
        same_settings = settings == json_roundtrip(config)
        why = "other input files" if same_settings else "other settings"
        echo(f"{work} holds an interrupted run with {why}; starting afresh")
        shutil.rmtree(work)
        work = prepare(out, flag, inputs)
    write_json(os.path.join(work, "config.json"), record)
    return work


def fingerprint(sources) -> str | None:
    """A digest of the names, sizes and modification times of every file in `sources` (files or folders,
    walked recursively); None when no source is an existing path. Cheap (no file is read), so it can guard a
    resume on 50,000 images; a changed, added or removed file changes it."""
    import hashlib

    entries = []
    for source in sources:
        if not isinstance(source, (str, os.PathLike)) or not os.path.exists(source):
            continue
        root = os.path.abspath(source)
        walk = [(root, [], [""])] if os.path.isfile(root) else os.walk(root)
        for folder, subfolders, names in walk:
            subfolders.sort()
            for name in sorted(names):
                path = os.path.join(folder, name) if name else folder
                with contextlib.suppress(OSError):
                    stat = os.stat(path)
                    entries.append(
                        f"{os.path.relpath(path, os.path.dirname(root))}\0{stat.st_size}\0{stat.st_mtime_ns}"
                    )
    if not entries:
        return None
    return hashlib.sha256("\n".join(entries).encode()).hexdigest()[:16]


@contextlib.contextmanager
def run_folder(out: str, flag: str = "--out", inputs=(), ours=None):
    """`with run_folder(out) as work:` write into `work`; it becomes `out` only if the block succeeds,
    and disappears if it fails (for work that cannot be resumed). `inputs` and `ours`: see `check_target`.
    What a killed earlier run left in the working folder is removed first (under the lock), never mixed in."""
    work = prepare(out, flag, inputs, ours)
    shutil.rmtree(work)
    os.makedirs(work)
    try:
        yield work
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        release(os.path.normpath(own_path(out)))
        raise
    commit(work, out, ours)


def _to_json(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_json(path: str, data) -> None:
    """Write JSON atomically (`keras_ae.io.write_file`), so a reader never sees half a file."""
    from keras_ae import io

    io.write_file(path, json.dumps(data, indent=2, sort_keys=True, default=_to_json) + "\n")


def read_json(path: str, default=None):
    if not os.path.exists(path):
        return default
    with open(path) as f:
        return json.load(f)


def json_roundtrip(data):
    """`data` as it reads back from JSON (tuples become lists), to compare configurations."""
    return json.loads(json.dumps(data, default=_to_json))
