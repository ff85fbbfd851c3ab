"""``best/`` and ``final/``: the selected models of a run, one sub-folder per component.

``<name>/selection.json`` records, per component (``policy``, ``reward_model``), the step, metric and
value that made it selected — the two components are chosen separately (docs/METHOD.md), so each is
replaced on its own.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from reasoning_irl.io import atomic_write_json
from reasoning_irl.trainers.atomic_dirs import commit_dir, copy_dir, is_complete, temp_dir_for
from reasoning_irl.trainers.checkpoint import checkpoint_step
from reasoning_irl.trainers.weights import save_model

SELECTION_JSON = "selection.json"
COMPONENTS = ("policy", "reward_model")


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
    save_model(model, tmp, tokenizer)
    commit_dir(tmp, root / component)
    record_selection(root, component, {"step": int(step), "metric": metric, "value": value})
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
            record_selection(root, component, {"step": step, "metric": metric, "value": value})
    return root


def read_selection(run_dir: str | os.PathLike, name: str = "best") -> dict[str, dict[str, Any]]:
    """``<run_dir>/<name>/selection.json``: ``{component: {"step", "metric", "value"}}`` ({} if absent)."""
    path = Path(run_dir) / name / SELECTION_JSON
    return json.loads(path.read_text()) if path.is_file() else {}


def record_selection(root: Path, component: str, entry: dict[str, Any]) -> None:
    """Set ``component``'s entry of ``<root>/selection.json`` (the others are kept)."""
    selection = read_selection(root.parent, root.name)
    selection[component] = entry
    atomic_write_json(root / SELECTION_JSON, selection)
