"""Files: locating the shared data folder, reading JSONL with line numbers, atomic writes."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DATA_ENV = "REASONING_IRL_DATA"


class DataFileError(ValueError):
    """A data file is missing or malformed; the message names the file (and line) and what to do."""


def data_root() -> Path | None:
    """The folder with the offline public data: ``$REASONING_IRL_DATA``, else ``../shared/data``.

    ``../shared/data`` is looked up relative to the project root (the folder holding ``src/``).
    Returns None when neither exists.
    """
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    candidate = Path(__file__).resolve().parents[2].parent / "shared" / "data"
    return candidate if candidate.is_dir() else None


def resolve_data_file(relative: str, data_dir: str | None = None) -> Path:
    """Find ``relative`` under ``data_dir`` (or :func:`data_root`), with a clear error if absent."""
    root = Path(data_dir).expanduser() if data_dir else data_root()
    if root is None:
        raise DataFileError(
            f"no data folder for {relative!r}: set {DATA_ENV}=/path/to/data or task.data_dir=..., "
            "or place the shared data at ../shared/data"
        )
    path = root / relative
    if not path.is_file():
        raise DataFileError(
            f"data file {path} does not exist; set {DATA_ENV} or task.data_dir to the folder holding {relative!r}"
        )
    return path


def read_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, row)`` for each non-blank line; a malformed line is an error naming it."""
    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"JSONL file {path} does not exist")
    with path.open("rb") as handle:
        for lineno, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise DataFileError(
                    f"{path}:{lineno}: not valid UTF-8 ({err.reason}); re-encode the file as UTF-8"
                ) from None
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataFileError(
                    f"{path}:{lineno}: invalid JSON ({err.msg} at column {err.colno}); fix or remove that line"
                ) from None
            except ValueError as err:  # e.g. an integer of more than 4300 digits
                raise DataFileError(
                    f"{path}:{lineno}: invalid JSON ({str(err).split(':')[0]}); fix or remove that line"
                ) from None
            if not isinstance(row, dict):
                raise DataFileError(f"{path}:{lineno}: expected a JSON object per line, got {type(row).__name__}")
            yield lineno, row


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def temp_file_beside(path: Path, prefix: str) -> tuple[int, str]:
    """A new ``<prefix>…tmp`` file in ``path``'s folder (its descriptor and name), to be renamed onto
    ``path``; readable like any file (mkstemp creates 0600)."""
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
    except BaseException:
        os.close(fd)
        Path(tmp).unlink(missing_ok=True)
        raise
    return fd, tmp


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader sees either the old file or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temp_file_beside(path, f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    """Atomically write ``obj`` as indented JSON (NaN is refused: it is not JSON)."""
    atomic_write_text(path, json.dumps(obj, indent=2, allow_nan=False, sort_keys=False) + "\n")


# --------------------------------------------------------------------------------------------------
# A whole output folder replaced at once (evaluation outputs)

#: Files an evaluation writes into its output folder; anything else there is not its to replace.
OUTPUT_FILES = ("samples.jsonl", "metrics.json", "run_info.json", "calibration.json")
#: Hydra's folder of an evaluation run with ``eval.output_dir`` set (its config and log, beside the outputs
#: they describe); an evaluation's own, so it is carried over when the output folder is swapped.
HYDRA_LOG_DIR = ".hydra_eval"


def _pid_of(name: str, prefix: str) -> int | None:
    pid = name[len(prefix):].split(".", 1)[0]
    return int(pid) if pid.isdigit() else None


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (on this machine)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def discard_stale_staging(target: str | os.PathLike) -> None:
    """Remove the staging folders of killed writers of ``target``; restore a folder a killed swap moved aside.

    Staging folders are ``.<name>.<pid>.<random>.tmp`` beside ``target``; a swap without an atomic exchange
    moves the previous folder to ``.<name>.<pid>.old`` for an instant. Folders of a live process are left alone.
    """
    import shutil

    target = Path(target)
    prefix = f".{target.name}."
    for entry in sorted(target.parent.glob(f"{prefix}*")):
        pid = _pid_of(entry.name, prefix)
        if pid is None or not entry.is_dir() or (pid != os.getpid() and process_alive(pid)):
            continue
        if entry.name.endswith(".old") and not target.exists():
            os.rename(entry, target)  # the kill fell between the two renames of a swap: the previous folder is back
        elif entry.name.endswith((".tmp", ".old")):
            shutil.rmtree(entry, ignore_errors=True)


def _is_output(name: str) -> bool:
    """An evaluation's output file, or a temporary one of an earlier (killed) writer of it."""
    return (name in OUTPUT_FILES or name == HYDRA_LOG_DIR
            or name.endswith(".tmp") and any(name.startswith(f".{f}.") for f in OUTPUT_FILES))


def check_output_folder(target: str | os.PathLike, key: str) -> None:
    """Refuse, before any work, a folder that cannot be replaced: not writable, or holding foreign files."""
    import tempfile

    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent):
            pass
        if target.exists() and not target.is_dir():
            raise NotADirectoryError(20, "it is a file, not a folder")
    except OSError as err:
        raise OSError(
            f"{key}={str(target)!r} cannot be written ({err.strerror or err}); set {key} to a writable folder"
        ) from None
    foreign = sorted(p.name for p in target.iterdir() if not _is_output(p.name)) if target.is_dir() else []
    if foreign:
        shown = ", ".join(foreign[:5]) + (", …" if len(foreign) > 5 else "")
        raise OSError(
            f"{key}={str(target)!r} holds files that are not an evaluation's ({shown}); an evaluation replaces "
            f"its whole folder, so set {key} to a new folder or to an earlier evaluation's"
        )


def make_staging(target: str | os.PathLike) -> Path:
    """A fresh empty folder ``.<name>.<pid>.<random>.tmp`` beside ``target`` (see :func:`swap_in`)."""
    import tempfile

    target = Path(target)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent))
    os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes 0700 folders; outputs are meant to be shared
    return staging


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``); False where it is not supported."""
    import ctypes
    import errno

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, f"cannot swap {a} and {b}: {os.strerror(err)}")


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (renames, new files) to disk."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def swap_in(staging: Path, target: str | os.PathLike) -> None:
    """Replace ``target`` by the finished ``staging`` folder in one step, then delete the previous contents.

    A reader (or a kill) sees the previous folder or the new one, never a mix: an atomic exchange where the
    file system has one; elsewhere two renames, and a kill between them leaves the previous folder as
    ``.<name>.<pid>.old``, which the next writer puts back (:func:`discard_stale_staging`).
    """
    import shutil

    target = Path(target)
    if (target / HYDRA_LOG_DIR).is_dir() and not (staging / HYDRA_LOG_DIR).exists():
        # This run's Hydra log (written while it ran) moves with the outputs; an open log file follows it.
        os.rename(target / HYDRA_LOG_DIR, staging / HYDRA_LOG_DIR)
    for entry in staging.iterdir():
        if entry.is_file():
            with entry.open("rb") as handle:
                os.fsync(handle.fileno())
    fsync_dir(staging)
    if not target.exists():
        os.rename(staging, target)
    elif _exchange(staging, target):
        shutil.rmtree(staging)  # now holds the previous contents
    else:
        old = target.with_name(f".{target.name}.{os.getpid()}.old")
        os.rename(target, old)
        os.rename(staging, target)
        shutil.rmtree(old)
    fsync_dir(target.parent)
