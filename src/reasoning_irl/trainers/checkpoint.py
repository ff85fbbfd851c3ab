"""Atomic checkpoints of a run: ``checkpoints/step-N/``, ``best/`` and ``final/``
(docs/ARCHITECTURE.md (Runs and outputs)).

A checkpoint folder::

    checkpoints/step-N/
      policy/              Hugging Face folder (save_pretrained: safetensors, config, tokenizer)
      reward_model/        the same, when the run trains a reward model
      loop_state.json      our loop's state: the caller's ``state``, the optimizer's hyper-parameters,
                           the scheduler, the python/numpy RNG states (tensors replaced by references)
      loop_tensors.safetensors   every tensor of that state: optimizer moments, torch RNG state, ...
      trainer/             (TRL runs only) the Trainer's own state, read back with weights_only=True
      COMPLETE             written last, before the folder gets its final name

Everything is written into ``checkpoints/.tmp-step-N-<pid>/``, flushed to disk, marked ``COMPLETE``
and only then renamed to ``step-N``: a crash leaves a ``.tmp-*`` folder (ignored and removed by
:func:`clean_incomplete`), never a half-written ``step-N`` (:mod:`.atomic_dirs`). Nothing is pickled
(:mod:`.loop_state`). ``best/`` and ``final/`` hold the same sub-folders (:mod:`.selected`); resuming is
:mod:`.resume`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from reasoning_irl.faults import fault_point
from reasoning_irl.trainers.atomic_dirs import (
    COMPLETE,
    OLD_PREFIX,
    TMP_PREFIX,
    commit_dir,
    damage,
    is_complete,
    temp_dir_for,
)
from reasoning_irl.trainers.loop_state import STATE_JSON, read_state, rng_state, set_rng_state, write_state
from reasoning_irl.trainers.weights import load_weights, save_model

log = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
_STEP_DIR = re.compile(r"^step-(\d+)$")


# --------------------------------------------------------------------------------------------------
# Finding checkpoints


def step_dir(run_dir: str | os.PathLike, step: int) -> Path:
    """``<run_dir>/checkpoints/step-<step>``."""
    return Path(run_dir) / CHECKPOINTS / f"step-{step}"


def complete_checkpoints(run_dir: str | os.PathLike) -> list[tuple[int, Path]]:
    """``(step, path)`` of every complete ``checkpoints/step-N``, by increasing step."""
    root = Path(run_dir) / CHECKPOINTS
    found = []
    if root.is_dir():
        for child in root.iterdir():
            match = _STEP_DIR.match(child.name)
            if match and child.is_dir() and is_complete(child):
                found.append((int(match.group(1)), child))
    return sorted(found)


def latest_complete_checkpoint(run_dir: str | os.PathLike) -> Path | None:
    """The newest complete checkpoint whose files are as written, or None; never a half-written folder.

    A complete checkpoint whose files were damaged afterwards (:func:`damage`) is passed over with a
    warning, and the previous one is returned.
    """
    for _, path in reversed(complete_checkpoints(run_dir)):
        problem = damage(path)
        if problem is None:
            return path
        log.warning("checkpoint %s is damaged (%s): falling back to the previous complete checkpoint", path, problem)
    return None


def checkpoint_step(directory: str | os.PathLike) -> int:
    """The step of a ``step-N`` folder (or of any checkpoint folder, from its ``loop_state.json``)."""
    match = _STEP_DIR.match(Path(directory).name)
    if match:
        return int(match.group(1))
    state_file = Path(directory) / STATE_JSON
    if state_file.is_file():
        return int(json.loads(state_file.read_text())["step"])
    raise ValueError(f"{directory} is neither a step-N folder nor a checkpoint with {STATE_JSON}")


def clean_incomplete(run_dir: str | os.PathLike) -> list[Path]:
    """Remove what a crash left behind; return the removed paths.

    ``.tmp-*`` folders (a save that never finished) and ``step-N`` folders without ``COMPLETE`` are
    deleted. A ``.old-*`` folder (a replace of ``best/``/``final/`` interrupted between its two renames)
    is moved back when its target is missing, else deleted.
    """
    removed: list[Path] = []
    run_dir = Path(run_dir)
    for root in (run_dir, run_dir / CHECKPOINTS, run_dir / "best", run_dir / "final"):
        if not root.is_dir():
            continue
        for child in root.iterdir():
            if child.name.startswith(TMP_PREFIX) or (
                root.name == CHECKPOINTS and _STEP_DIR.match(child.name) and not is_complete(child)
            ):
                shutil.rmtree(child) if child.is_dir() else child.unlink()
                removed.append(child)
            elif child.name.startswith(OLD_PREFIX):
                target = root / child.name[len(OLD_PREFIX) :].rsplit("-", 1)[0]
                if target.exists():
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
                    removed.append(child)
                else:
                    os.replace(child, target)
    return removed


# --------------------------------------------------------------------------------------------------
# Saving and loading


@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` read back: the step, the caller's state, and the folder."""

    path: Path
    step: int
    state: dict[str, Any] = field(default_factory=dict)


def save_checkpoint(
    directory: str | os.PathLike,
    *,
    step: int,
    policy: Any = None,
    reward_model: Any = None,
    tokenizer: Any = None,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    state: Mapping[str, Any] | None = None,
    save_rng: bool = True,
) -> Path:
    """Write a complete checkpoint to ``directory`` atomically and return it.

    ``policy`` / ``reward_model`` are saved with ``save_pretrained`` (safetensors) into ``policy/`` and
    ``reward_model/`` (``tokenizer``, when given, beside each). ``optimizer.state_dict()``,
    ``scheduler.state_dict()``, the RNG states and ``state`` (JSON values, tensors, arrays) go to
    ``loop_state.json`` + ``loop_tensors.safetensors``. Call it on the main process only.
    """
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_dir_for(directory)
    for name, model in (("policy", policy), ("reward_model", reward_model)):
        if model is not None:
            save_model(model, tmp / name, tokenizer)
    loop: dict[str, Any] = {"step": int(step), "state": dict(state or {})}
    if optimizer is not None:
        loop["optimizer"] = optimizer.state_dict()
    if scheduler is not None:
        loop["scheduler"] = scheduler.state_dict()
    if save_rng:
        loop["rng"] = rng_state()
    fault_point("checkpoint_write")  # deterministic fault injection (reasoning_irl.faults); no-op when unset
    write_state(tmp, loop)
    return commit_dir(tmp, directory)


def load_checkpoint(
    directory: str | os.PathLike,
    *,
    policy: Any = None,
    reward_model: Any = None,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    restore_rng: bool = True,
) -> Checkpoint:
    """Restore a checkpoint written by :func:`save_checkpoint` into the given objects.

    Weights are loaded in place into ``policy`` / ``reward_model`` (full models or PEFT models) from the
    safetensors files of ``policy/`` / ``reward_model/``; optimizer, scheduler and RNG states are restored
    when present. A folder without ``COMPLETE`` is refused.
    """
    directory = Path(directory)
    if not is_complete(directory):
        raise FileNotFoundError(
            f"{directory} is not a complete checkpoint (no {COMPLETE} marker); "
            "use latest_complete_checkpoint(run_dir) to find one"
        )
    for name, model in (("policy", policy), ("reward_model", reward_model)):
        if model is not None:
            load_weights(model, directory / name)
    loop = read_state(directory)
    if optimizer is not None:
        if "optimizer" not in loop:
            raise KeyError(f"{directory} holds no optimizer state")
        optimizer.load_state_dict(loop["optimizer"])
    if scheduler is not None:
        if "scheduler" not in loop:
            raise KeyError(f"{directory} holds no scheduler state")
        scheduler.load_state_dict(loop["scheduler"])
    if restore_rng and "rng" in loop:
        set_rng_state(loop["rng"])
    return Checkpoint(path=directory, step=int(loop["step"]), state=loop.get("state", {}))
