"""What evaluation fits on validation, and nothing else: ``calibration.json``.

With ``eval.fit_on=validation`` an evaluation of the validation split fits

- the reward score's aggregation (``last``, ``mean``, ``min``, ``min_step``, ``discounted``) with the highest
  best-of-n success@1 (n = the samples per problem; ties: that order);
- Platt scaling P(correct) = σ(a·s + b) of the ``reward`` selector (with the chosen aggregation) and of
  ``policy_mean_logprob``;
- the localisation thresholds τ / θ of every method (ProcessBench F1, :mod:`.localise`),

and writes them to ``<output_dir>/calibration.json``. A test-split run reads that file through
``eval.calibration_path``; nothing is ever fitted on the test split (a fit requested there is refused).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from reasoning_irl.eval.localise import Trace, fit_localisation
from reasoning_irl.eval.report import REWARD_AGGREGATIONS
from reasoning_irl.eval.results import ProblemResult
from reasoning_irl.io import atomic_write_json
from reasoning_irl.metrics import reranking as M
from reasoning_irl.metrics.calibration import fit_platt

CALIBRATION_VERSION = 1
FIT_SPLITS = ("validation",)


def check_fit_request(fit_on: str | None, split: str) -> None:
    """Refuse any fit that is not on validation data."""
    if fit_on is None:
        return
    if fit_on not in FIT_SPLITS:
        raise ValueError(f"eval.fit_on={fit_on!r} is not supported; use 'validation' (or null: fit nothing)")
    if split != fit_on:
        raise ValueError(
            f"eval.fit_on={fit_on} but eval.split={split!r}: fitting happens on the {fit_on} split only — "
            "nothing is ever fitted on test. Run with eval.split=validation, then evaluate the test split "
            "with eval.calibration_path=<that run>/calibration.json"
        )


def choose_aggregation(results: Sequence[ProblemResult]) -> dict[str, Any]:
    """The reward aggregation with the best mean success@1|n (ties: the first in REWARD_AGGREGATIONS)."""
    values: dict[str, float] = {}
    for aggregation in REWARD_AGGREGATIONS:
        per = []
        for p in results:
            scores = p.scores.get(f"reward_{aggregation}")
            if scores is None:
                break
            per.append(M.success_at_k_given_N(p.correct, scores, 1, len(p.correct)))
        else:
            values[aggregation] = float(np.mean(per))
    if not values:
        return {"available": False, "reason": "reward scores were not computed"}
    chosen = max(values, key=lambda a: (values[a], -REWARD_AGGREGATIONS.index(a)))
    return {
        "available": True,
        "chosen": chosen,
        "criterion": "mean success@1|n on validation",
        "values": values,
    }


def fit_platt_selectors(results: Sequence[ProblemResult], aggregation: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    labels = np.concatenate([np.asarray(p.correct, dtype=bool) for p in results])
    for name, key in (
        ("reward", f"reward_{aggregation}" if aggregation else None),
        ("policy_mean_logprob", "policy_mean_logprob"),
    ):
        if key is None or any(key not in p.scores for p in results):
            continue
        scores = np.concatenate([np.asarray(p.scores[key], dtype=float) for p in results])
        if labels.all() or not labels.any():
            out[name] = {"available": False, "reason": "validation samples are all correct or all wrong"}
            continue
        a, b = fit_platt(scores, labels)
        out[name] = {"a": a, "b": b, "fitted_on": "validation", "n": int(labels.size)}
    return out


def fit_calibration(
    results: Sequence[ProblemResult],
    traces: Sequence[Trace],
    *,
    about: dict[str, Any],
    default_aggregation: str | None,
) -> dict[str, Any]:
    """Everything fitted on validation, as the ``calibration.json`` dict."""
    aggregation = choose_aggregation(results) if results else {"available": False, "reason": "no samples"}
    chosen = aggregation.get("chosen", default_aggregation)
    localisation = fit_localisation(traces) if traces else {}
    for entry in localisation.values():
        if isinstance(entry, dict) and "threshold" in entry:
            entry["fitted_on"] = "validation"
    return {
        "calibration_version": CALIBRATION_VERSION,
        "fitted_on": about,
        "reward_aggregation": aggregation,
        "platt": fit_platt_selectors(results, chosen) if results else {},
        "localisation": localisation,
    }


def write_calibration(path: str | Path, calibration: dict[str, Any]) -> Path:
    atomic_write_json(path, calibration)
    return Path(path)


#: ``load_calibration``'s default for ``reward_model``: do not compare the reward model.
UNCHECKED = object()


def reward_identity(source: str | None) -> str | None:
    """A fingerprint of the reward model that scores (None: none, the scores come from the input file).

    For a saved reward folder: sha256 over its ``*.json`` files and, per ``*.safetensors`` file, its size
    and bytes (files over 64 MB: their first and last MB), without loading a model.
    """
    import hashlib

    if source is None:
        return None
    folder = Path(source)
    if not (folder / "reward_config.json").is_file():
        return f"untrained:{source}"
    digest, limit, mb = hashlib.sha256(), 64 << 20, 1 << 20
    for file in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in (".json", ".safetensors")):
        size = file.stat().st_size
        digest.update(f"{file.relative_to(folder)}\0{size}\0".encode())
        with file.open("rb") as handle:
            if file.suffix == ".json" or size <= limit:
                digest.update(handle.read())
            else:
                digest.update(handle.read(mb))
                handle.seek(size - mb)
                digest.update(handle.read(mb))
    return digest.hexdigest()[:32]


def load_calibration(path: str | Path | None, *, task: str | None = None,
                     reward_model: Any = UNCHECKED) -> dict[str, Any] | None:
    """Read a ``calibration.json``; None for no path.

    ``task`` and ``reward_model`` (a :func:`reward_identity`), when given, must be those it was fitted
    with: thresholds and Platt scaling fitted on another task's or another reward model's scores are refused.
    """
    if path is None:
        return None
    path = Path(path)
    if path.is_dir():
        path = path / "calibration.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"eval.calibration_path={path} does not exist; write it with eval.fit_on=validation"
        )
    refit = "refit it with eval.fit_on=validation"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise ValueError(f"{path}: not valid JSON ({str(err).splitlines()[0]}); {refit}") from None
    if not isinstance(data, dict) or not isinstance(data.get("fitted_on", {}), dict):
        raise ValueError(f"{path}: expected a calibration object, got {type(data).__name__}; {refit}")
    if data.get("calibration_version") != CALIBRATION_VERSION:
        raise ValueError(
            f"{path}: calibration_version {data.get('calibration_version')!r} is not "
            f"{CALIBRATION_VERSION}; refit it with this version"
        )
    fitted_on = data.get("fitted_on") or {}
    if fitted_on.get("split") == "test":
        raise ValueError(f"{path} was fitted on a test split; refit on validation")
    if task is not None and fitted_on.get("task", task) != task:
        raise ValueError(f"{path} was fitted on task {fitted_on['task']!r}, not {task!r}; fit one on {task!r}'s "
                         "validation split (eval.fit_on=validation task=...)")
    if reward_model is not UNCHECKED and "reward_model" in fitted_on and fitted_on["reward_model"] != reward_model:
        raise ValueError(
            f"{path} was fitted with another reward model's scores (fingerprint {fitted_on['reward_model']}, "
            f"this run's: {reward_model}); fit one with this reward model (eval.fit_on=validation)"
        )
    return data
