"""A run's ``config.yaml``: the resolved config as YAML, what changed since, and the keys a resume may change."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import yaml

CONFIG_YAML = "config.yaml"


def to_plain(cfg: Any) -> Any:
    """A dataclass config as a plain dict (anything else unchanged)."""
    if dataclasses.is_dataclass(cfg) and not isinstance(cfg, type):
        return dataclasses.asdict(cfg)
    return cfg


def config_yaml(cfg: Any) -> str:
    """The resolved config as YAML (a dataclass, a DictConfig or a plain mapping)."""
    from omegaconf import OmegaConf

    node = cfg if OmegaConf.is_config(cfg) else OmegaConf.create(to_plain(cfg))
    return OmegaConf.to_yaml(node, resolve=True)


def config_changes(cfg: Any, run_dir: str | os.PathLike, *, ignore: tuple[str, ...] = ()) -> list[str]:
    """Dotted keys whose value in ``cfg`` differs from ``<run_dir>/config.yaml`` (empty when the folder has
    no config yet), leaving out keys equal to or under any prefix in ``ignore``."""
    path = Path(run_dir) / CONFIG_YAML
    if not path.is_file():
        return []
    current, previous = _flatten(yaml.safe_load(config_yaml(cfg))), _flatten(yaml.safe_load(path.read_text()))
    changed = [k for k in sorted(set(current) | set(previous)) if current.get(k) != previous.get(k)]
    return [k for k in changed if not any(k == p or k.startswith(p + ".") for p in ignore)]


#: The only config keys that may change when a run continues from its checkpoints; any other change
#: (model, task, seed, learning rate, reward head, ...) means another experiment — e.g. a Hydra sweep whose
#: jobs share a run_name — and is refused instead of silently continuing the first one.
RESUME_MAY_CHANGE = (
    "training.max_steps",
    "training.resume",
    "training.checkpoint_every",
    "training.keep_checkpoints",
    "logging",
    "output_root",
    "run_name",
    "device",
)


def refuse_another_config(cfg: Any, run_dir: str | os.PathLike) -> None:
    """Raise when ``training.resume=auto`` would continue checkpoints written with another config."""
    from reasoning_irl.trainers.checkpoint import latest_complete_checkpoint

    changed = config_changes(cfg, run_dir, ignore=RESUME_MAY_CHANGE)
    if changed and cfg.training.resume == "auto" and latest_complete_checkpoint(Path(run_dir)) is not None:
        raise ValueError(
            f"{run_dir} holds checkpoints of a run with another config ({', '.join(changed[:6])}); "
            "continuing it would mix two experiments: use another run_name (a sweep needs the swept keys "
            "in run_name), or delete the folder"
        )



def _flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` → ``{"a.b": 1}``."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat

