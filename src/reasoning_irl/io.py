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
        raise DataFileError(f"data file {path} does not exist; set {DATA_ENV} or task.data_dir to the folder holding {relative!r}")
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
                raise DataFileError(f"{path}:{lineno}: not valid UTF-8 ({err.reason}); re-encode the file as UTF-8") from None
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataFileError(f"{path}:{lineno}: invalid JSON ({err.msg} at column {err.colno}); fix or remove that line") from None
            if not isinstance(row, dict):
                raise DataFileError(f"{path}:{lineno}: expected a JSON object per line, got {type(row).__name__}")
            yield lineno, row


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader sees either the old file or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp creates 0600; results should be readable like any file
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


def atomic_write_jsonl(path: str | os.PathLike, rows: list[dict[str, Any]]) -> None:
    """Atomically write rows as JSONL (one object per line)."""
    atomic_write_text(path, "".join(json.dumps(r, allow_nan=False) + "\n" for r in rows))
