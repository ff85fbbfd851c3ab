"""Atomic folders: written under a ``.tmp-*`` name, marked ``COMPLETE`` with a manifest, then renamed.

A crash leaves a ``.tmp-*`` folder (or a ``.old-*`` one mid-replace), never a half-written target; the
checkpoint code removes or repairs those (:func:`reasoning_irl.trainers.checkpoint.clean_incomplete`).
``COMPLETE`` holds the size of every file of the folder when it was written, checked by :func:`damage`.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from reasoning_irl.io import fsync_dir

COMPLETE = "COMPLETE"
TMP_PREFIX = ".tmp-"
OLD_PREFIX = ".old-"


def is_complete(directory: str | os.PathLike) -> bool:
    """Whether ``directory`` is a finished checkpoint (its ``COMPLETE`` marker exists)."""
    return (Path(directory) / COMPLETE).is_file()


def damage(directory: str | os.PathLike) -> str | None:
    """What is wrong with a complete checkpoint's files, or None when they are as written.

    ``COMPLETE`` holds the size of every file of the folder when it was written (a manifest); a file that
    is missing or has another size (truncated, partly copied) is reported. An empty marker (checkpoints
    written before the manifest) verifies nothing.
    """
    directory = Path(directory)
    try:
        text = (directory / COMPLETE).read_text()
        manifest = json.loads(text)["files"] if text.strip() else {}
    except (OSError, ValueError, KeyError, TypeError) as err:
        return f"its {COMPLETE} marker is unreadable ({err})"
    for name, size in manifest.items():
        file = directory / name
        if not file.is_file():
            return f"{name} is missing"
        if file.stat().st_size != size:
            return f"{name} has {file.stat().st_size} bytes, {size} were written"
    return None


def _fsync_tree(directory: Path) -> None:
    """Flush every file under ``directory``, and the folders themselves, to disk."""
    for root, _, files in os.walk(directory):
        for name in files:
            with open(os.path.join(root, name), "rb") as handle:
                os.fsync(handle.fileno())
        fsync_dir(Path(root))


def temp_dir_for(target: str | os.PathLike) -> Path:
    """A fresh staging folder ``.tmp-<name>-<pid>`` beside ``target`` (see :func:`clean_incomplete`)."""
    target = Path(target)
    tmp = target.parent / f"{TMP_PREFIX}{target.name}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    return tmp


def commit_dir(tmp: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Mark ``tmp`` complete, flush it, and give it the name ``target`` (replacing an old one atomically).

    An existing ``target`` is first renamed to ``.old-<name>-<pid>`` and deleted after the new folder is in
    place; a crash between the two renames is repaired by :func:`clean_incomplete`.
    """
    tmp, target = Path(tmp), Path(target)
    files = sorted(p for p in tmp.rglob("*") if p.is_file() and p.name != COMPLETE)
    manifest = {str(p.relative_to(tmp)): p.stat().st_size for p in files}  # checked by damage() on resume
    (tmp / COMPLETE).write_text(json.dumps({"files": manifest}, indent=0) + "\n")
    _fsync_tree(tmp)
    old = None
    if target.exists():
        old = target.parent / f"{OLD_PREFIX}{target.name}-{os.getpid()}"
        if old.exists():
            shutil.rmtree(old)
        os.replace(target, old)
    os.replace(tmp, target)
    fsync_dir(target.parent)
    if old is not None:
        shutil.rmtree(old)
    return target


def copy_dir(source: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Atomically make ``target`` a copy of the folder ``source`` (files hard-linked when possible)."""
    source, target = Path(source), Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_dir_for(target)
    shutil.rmtree(tmp)

    def link_or_copy(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, tmp, copy_function=link_or_copy)
    return commit_dir(tmp, target)
