"""Resuming a run: which checkpoint to continue from, which to keep, and ``best/`` made consistent."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reasoning_irl.io import atomic_write_json
from reasoning_irl.trainers.atomic_dirs import COMPLETE, copy_dir, damage, is_complete
from reasoning_irl.trainers.checkpoint import (
    CHECKPOINTS,
    complete_checkpoints,
    latest_complete_checkpoint,
    step_dir,
)
from reasoning_irl.trainers.selected import SELECTION_JSON, read_selection, record_selection


def resolve_resume(resume: str, run_dir: str | os.PathLike) -> Path | None:
    """The checkpoint to continue from, per ``training.resume``.

    ``auto``: the latest complete checkpoint of the run folder, or None for a fresh start. ``never``:
    None, but a run folder that already holds complete checkpoints is an error (it would be mixed with a
    second, unrelated training). Anything else: the path of a complete checkpoint folder.
    """
    if resume == "auto":
        return latest_complete_checkpoint(run_dir)
    if resume == "never":
        if complete_checkpoints(run_dir):
            raise FileExistsError(
                f"training.resume=never but {Path(run_dir) / CHECKPOINTS} already holds checkpoints; "
                "use another run_name, delete the folder, or set training.resume=auto to continue it"
            )
        return None
    path = Path(resume).expanduser()
    if not is_complete(path):
        raise FileNotFoundError(
            f"training.resume={resume!r} is not a complete checkpoint folder "
            f"(no {COMPLETE} marker); use auto, never, or a checkpoints/step-N path"
        )
    problem = damage(path)
    if problem is not None:
        raise FileNotFoundError(f"training.resume={resume!r} is damaged ({problem}); give another checkpoint "
                                "or training.resume=auto (the newest intact one)")
    return path


def prune_checkpoints(run_dir: str | os.PathLike, keep: int | None) -> list[Path]:
    """Delete all but the newest ``keep`` complete checkpoints (None: keep all); return the removed ones."""
    if keep is None:
        return []
    found = complete_checkpoints(run_dir)
    removed = [path for _, path in found[:-keep]] if len(found) > keep else []
    for path in removed:
        (
            path / COMPLETE
        ).unlink()  # first, so a crash mid-delete leaves an incomplete folder, not a broken one
        shutil.rmtree(path)
    return removed


def restore_best_on_resume(run_dir: str | os.PathLike, step: int, recorded: Mapping[str, Any] | None) -> None:
    """Make ``best/policy`` agree with a resume from ``step``.

    A ``best/policy`` selected after ``step`` came from the abandoned continuation: it is replaced by the
    best recorded in the checkpoint (``recorded``: ``{"step", "metric", "value"}``) when that checkpoint
    still exists, else removed. A best selected at or before ``step`` is kept.
    """
    selection = read_selection(run_dir).get("policy")
    if selection is None or selection["step"] <= step:
        return
    root = Path(run_dir) / "best"
    source = step_dir(run_dir, recorded["step"]) if recorded else None
    if source is not None and is_complete(source) and (source / "policy").is_dir():
        copy_dir(source / "policy", root / "policy")
        record_selection(root, "policy", dict(recorded))
    else:
        shutil.rmtree(root / "policy", ignore_errors=True)
        remaining = {k: v for k, v in read_selection(run_dir).items() if k != "policy"}
        atomic_write_json(root / SELECTION_JSON, remaining)
