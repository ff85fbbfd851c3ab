"""Atomic checkpoints of a run: ``checkpoints/step-N/``, ``best/`` and ``final/`` (docs/ARCHITECTURE.md (Runs and outputs)).

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
:func:`clean_incomplete`), never a half-written ``step-N``. Nothing is pickled: a state value that is
neither JSON nor a tensor/ndarray is refused with an error naming it.

``best/`` and ``final/`` hold the same sub-folders. ``best/selection.json`` records, per component
(``policy``, ``reward_model``), the step, metric and value that made it best — the two components are
chosen separately (docs/METHOD.md), so each is replaced on its own.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from reasoning_irl.faults import fault_point
from reasoning_irl.io import atomic_write_json, fsync_dir

log = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
COMPLETE = "COMPLETE"
STATE_JSON = "loop_state.json"
STATE_TENSORS = "loop_tensors.safetensors"
SELECTION_JSON = "selection.json"
COMPONENTS = ("policy", "reward_model")
_STEP_DIR = re.compile(r"^step-(\d+)$")
_TMP_PREFIX = ".tmp-"
_OLD_PREFIX = ".old-"


# --------------------------------------------------------------------------------------------------
# Finding checkpoints


def step_dir(run_dir: str | os.PathLike, step: int) -> Path:
    """``<run_dir>/checkpoints/step-<step>``."""
    return Path(run_dir) / CHECKPOINTS / f"step-{step}"


def is_complete(directory: str | os.PathLike) -> bool:
    """Whether ``directory`` is a finished checkpoint (its ``COMPLETE`` marker exists)."""
    return (Path(directory) / COMPLETE).is_file()


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
            if child.name.startswith(_TMP_PREFIX) or (
                root.name == CHECKPOINTS and _STEP_DIR.match(child.name) and not is_complete(child)
            ):
                shutil.rmtree(child) if child.is_dir() else child.unlink()
                removed.append(child)
            elif child.name.startswith(_OLD_PREFIX):
                target = root / child.name[len(_OLD_PREFIX) :].rsplit("-", 1)[0]
                if target.exists():
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
                    removed.append(child)
                else:
                    os.replace(child, target)
    return removed


# --------------------------------------------------------------------------------------------------
# Atomic folders


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
    tmp = target.parent / f"{_TMP_PREFIX}{target.name}-{os.getpid()}"
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
        old = target.parent / f"{_OLD_PREFIX}{target.name}-{os.getpid()}"
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


# --------------------------------------------------------------------------------------------------
# Loop state as JSON + safetensors (no pickle)


def _encode(value: Any, path: str, tensors: dict[str, torch.Tensor]) -> Any:
    """JSON-encodable form of ``value``; tensors and arrays go into ``tensors`` under their path."""
    if isinstance(value, torch.Tensor):
        tensors[path] = value.detach().cpu().contiguous().clone()
        return {"__tensor__": path}
    if isinstance(value, np.ndarray):
        tensors[path] = torch.from_numpy(np.ascontiguousarray(value).copy())
        return {"__ndarray__": path}
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": repr(value)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, f"{path}.{i}", tensors) for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, f"{path}.{i}", tensors) for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        if all(isinstance(k, str) and not k.startswith("__") for k in value):
            return {k: _encode(v, f"{path}.{k}", tensors) for k, v in value.items()}
        # Non-string keys (an optimizer's parameter indices) keep their type.
        return {"__items__": [[k, _encode(v, f"{path}.{k}", tensors)] for k, v in value.items()]}
    raise TypeError(
        f"cannot save {path} of type {type(value).__name__} without pickle; "
        "store it as JSON values, tensors or numpy arrays"
    )


def _decode(value: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    if isinstance(value, list):
        return [_decode(v, tensors) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tensor__" in value:
        return tensors[value["__tensor__"]]
    if "__ndarray__" in value:
        return tensors[value["__ndarray__"]].numpy()
    if "__float__" in value:
        return float(value["__float__"])
    if "__tuple__" in value:
        return tuple(_decode(v, tensors) for v in value["__tuple__"])
    if "__items__" in value:
        return {k: _decode(v, tensors) for k, v in value["__items__"]}
    return {k: _decode(v, tensors) for k, v in value.items()}


def rng_state() -> dict[str, Any]:
    """The python, numpy and torch (CPU and CUDA) RNG states."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Restore what :func:`rng_state` returned."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def write_state(directory: str | os.PathLike, state: Mapping[str, Any]) -> None:
    """Write a nested state (JSON values, tensors, arrays) as loop_state.json + loop_tensors.safetensors."""
    tensors: dict[str, torch.Tensor] = {}
    encoded = _encode(dict(state), "state", tensors)
    directory = Path(directory)
    save_file(tensors, str(directory / STATE_TENSORS))
    (directory / STATE_JSON).write_text(json.dumps(encoded, indent=1, allow_nan=False) + "\n")


def read_state(directory: str | os.PathLike) -> dict[str, Any]:
    """Read what :func:`write_state` wrote."""
    directory = Path(directory)
    tensors = load_file(str(directory / STATE_TENSORS)) if (directory / STATE_TENSORS).is_file() else {}
    return _decode(json.loads((directory / STATE_JSON).read_text()), tensors)


# --------------------------------------------------------------------------------------------------
# Saving and loading


@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` read back: the step, the caller's state, and the folder."""

    path: Path
    step: int
    state: dict[str, Any] = field(default_factory=dict)


def _save_model(model: Any, folder: Path, tokenizer: Any = None) -> None:
    model.save_pretrained(folder, safe_serialization=True) if _accepts_safe(model) else model.save_pretrained(
        folder
    )
    if tokenizer is not None:
        tokenizer.save_pretrained(folder)


def _accepts_safe(model: Any) -> bool:
    # transformers 5 always writes safetensors and dropped the flag; peft still accepts it.
    import inspect

    return "safe_serialization" in inspect.signature(model.save_pretrained).parameters


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
            _save_model(model, tmp / name, tokenizer)
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


def load_weights(model: torch.nn.Module, folder: str | os.PathLike) -> None:
    """Load the safetensors weights of a ``save_pretrained`` folder into ``model`` in place.

    A PEFT model reads ``adapter_model.safetensors``; a full model reads ``model.safetensors`` (or its
    shards). Keys missing from the file are allowed only for weights tied to another loaded weight
    (the output embedding of a tied model).
    """
    folder = Path(folder)
    adapter = folder / "adapter_model.safetensors"
    if adapter.is_file():
        from peft import set_peft_model_state_dict

        result = set_peft_model_state_dict(model, load_file(str(adapter)))
        if getattr(result, "unexpected_keys", None):
            raise KeyError(f"{adapter}: unexpected adapter keys {result.unexpected_keys[:5]}")
        return
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        files = sorted(set(json.loads(index.read_text())["weight_map"].values()))
    elif (folder / "model.safetensors").is_file():
        files = ["model.safetensors"]
    else:
        raise FileNotFoundError(
            f"{folder} holds no safetensors weights (model.safetensors or adapter_model.safetensors)"
        )
    weights: dict[str, torch.Tensor] = {}
    for name in files:
        weights.update(load_file(str(folder / name)))
    result = model.load_state_dict(weights, strict=False)
    loaded = {id(p) for n, p in model.named_parameters() if n in weights}
    params = dict(model.named_parameters(remove_duplicate=False))
    untied = [k for k in result.missing_keys if k in params and id(params[k]) not in loaded]
    if result.unexpected_keys or untied:
        raise KeyError(
            f"{folder}: weights do not match the model (missing {untied[:5]}, "
            f"unexpected {list(result.unexpected_keys)[:5]})"
        )


def save_selected(
    run_dir: str | os.PathLike,
    name: str,
    component: str,
    model: Any,
    *,
    tokenizer: Any = None,
    step: int,
    metric: str | None = None,
    value: float | None = None,
) -> Path:
    """Write ``<run_dir>/<name>/<component>/`` (``name`` = ``best`` or ``final``) atomically from a model.

    ``<name>/selection.json`` records, per component, the step and (for ``best``) the metric and value.
    """
    if component not in COMPONENTS:
        raise ValueError(f"component={component!r}; use one of {', '.join(COMPONENTS)}")
    root = Path(run_dir) / name
    root.mkdir(parents=True, exist_ok=True)
    tmp = temp_dir_for(root / component)
    _save_model(model, tmp, tokenizer)
    commit_dir(tmp, root / component)
    _record_selection(root, component, {"step": int(step), "metric": metric, "value": value})
    return root / component


def copy_selected(
    run_dir: str | os.PathLike,
    name: str,
    checkpoint: str | os.PathLike,
    *,
    metric: str | None = None,
    value: float | None = None,
) -> Path:
    """Make ``<run_dir>/<name>/<component>`` a (hard-linked) copy of each component of a checkpoint."""
    checkpoint = Path(checkpoint)
    if not is_complete(checkpoint):
        raise FileNotFoundError(f"{checkpoint} is not a complete checkpoint")
    step = checkpoint_step(checkpoint)
    root = Path(run_dir) / name
    for component in COMPONENTS:
        if (checkpoint / component).is_dir():
            copy_dir(checkpoint / component, root / component)
            _record_selection(root, component, {"step": step, "metric": metric, "value": value})
    return root


def read_selection(run_dir: str | os.PathLike, name: str = "best") -> dict[str, dict[str, Any]]:
    """``<run_dir>/<name>/selection.json``: ``{component: {"step", "metric", "value"}}`` ({} if absent)."""
    path = Path(run_dir) / name / SELECTION_JSON
    return json.loads(path.read_text()) if path.is_file() else {}


def _record_selection(root: Path, component: str, entry: dict[str, Any]) -> None:
    selection = read_selection(root.parent, root.name)
    selection[component] = entry
    atomic_write_json(root / SELECTION_JSON, selection)


# --------------------------------------------------------------------------------------------------
# Resume


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
        _record_selection(root, "policy", dict(recorded))
    else:
        shutil.rmtree(root / "policy", ignore_errors=True)
        remaining = {k: v for k, v in read_selection(run_dir).items() if k != "policy"}
        atomic_write_json(root / SELECTION_JSON, remaining)
