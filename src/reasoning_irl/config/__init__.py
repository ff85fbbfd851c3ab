"""Structured configuration schemas (dataclasses) for every entry point, registered with Hydra.

Each config group has one dataclass in its own module; :mod:`reasoning_irl.config.schema` assembles
the primary configs of ``train_irl.py``, ``train_sft.py``, ``train_grpo.py`` and ``evaluate.py`` and
registers them in Hydra's ConfigStore, so that a misspelt key fails at composition time with a
message naming it. This package imports no torch: ``--cfg job`` stays fast.
"""

from __future__ import annotations

import math
from dataclasses import fields, is_dataclass
from typing import Any

#: The top-level ``device`` (resolved by :func:`reasoning_irl.distributed.resolve_device`).
DEVICES = ("auto", "cpu", "cuda")


def check_finite(config: Any, prefix: str = "") -> None:
    """Refuse an infinite or NaN float anywhere in a config dataclass, naming its key (``eval.discount=inf``)."""
    for f in fields(config):
        value, key = getattr(config, f.name), f"{prefix}{f.name}"
        if is_dataclass(value):
            check_finite(value, f"{key}.")
        elif isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{key}={value} is not a finite number; give a finite value")
        elif isinstance(value, (list, tuple)) and any(isinstance(v, float) and not math.isfinite(v) for v in value):
            raise ValueError(f"{key}={list(value)} holds a value that is not a finite number; give finite values")
