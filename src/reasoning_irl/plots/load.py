"""Finding what a run wrote (docs/ARCHITECTURE.md (Runs and outputs)) and reading it: ``metrics.json``,
``samples.jsonl``, ``metrics.jsonl``.

Layout read here::

    <run>/metrics.jsonl                                   training log, one {"step": N, <name>: value} per line
    <run>/<checkpoint>/eval/<mode>_<task>/metrics.json    evaluation metrics (schema v1, docs/EVALUATION_GUIDE.md)
    <run>/<checkpoint>/eval/<mode>_<task>/samples.jsonl   one row per sample
    <run>/<checkpoint>/{reward_model,policy}/             Hugging Face folders; their tokenizer decodes tokens

Nothing is ever parsed back from a rendered table: every number comes from these files.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reasoning_irl.io import read_jsonl
from reasoning_irl.plots.spec import PlotSpec, RunSpec, TransferSpec

#: Schema versions of ``metrics.json``/``samples.jsonl`` this module reads.
SUPPORTED_SCHEMAS = (1,)
#: Evaluation modes in the order a run's default evaluation folder is looked for.
EVAL_MODES = ("generate", "aime", "pregenerated_policy_and_reward", "pregenerated_policy", "localisation")


class RunOutputsMissing(FileNotFoundError):
    """A run's outputs are not where the spec says; the message says what is missing and where."""


@dataclass
class EvalOutputs:
    folder: Path
    metrics: dict[str, Any]

    @property
    def samples_path(self) -> Path:
        return self.folder / "samples.jsonl"

    @property
    def has_reward(self) -> bool:
        return bool(self.metrics.get("computed", {}).get("reward_scores"))


@dataclass
class RunOutputs:
    """What one spec entry has on disk; ``eval``/``training_log`` are None when absent (see ``missing``)."""

    key: str
    label: str
    method: str
    task: str
    run_dir: Path
    checkpoint: str
    eval: EvalOutputs | None
    training_log_path: Path | None
    tokenizer_dirs: tuple[Path, ...]
    missing: list[str] = field(default_factory=list)
    spec: RunSpec | None = None

    @property
    def description(self) -> str:
        spec = self.spec
        if spec is not None and spec.method == "airl":
            return f"AIRL ({spec.granularity}, {spec.form})"
        return self.method.upper()


def read_metrics(path: Path) -> dict[str, Any]:
    """``metrics.json``, with its schema version checked."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err.msg} at line {err.lineno})") from None
    version = data.get("schema_version")
    if version not in SUPPORTED_SCHEMAS:
        raise ValueError(f"{path}: schema_version={version!r}, but the plots read versions "
                         f"{', '.join(map(str, SUPPORTED_SCHEMAS))} (docs/EVALUATION_GUIDE.md); re-run the evaluation "
                         "or update reasoning_irl.plots")
    return data


def _find_eval(checkpoint_dir: Path, task: str, name: str | None) -> Path:
    eval_root = checkpoint_dir / "eval"
    if name is not None:
        folder = eval_root / name
        if not (folder / "metrics.json").is_file():
            raise RunOutputsMissing(f"no metrics.json in {folder} (the run's 'eval' entry)")
        return folder
    candidates = [eval_root / f"{mode}_{task}" for mode in EVAL_MODES]
    for folder in candidates:
        if (folder / "metrics.json").is_file():
            return folder
    present = sorted(p.name for p in eval_root.iterdir()) if eval_root.is_dir() else []
    hint = f"; {eval_root} holds {', '.join(present)} — name one with 'eval:'" if present else ""
    raise RunOutputsMissing(f"no evaluation of task {task!r} under {eval_root} (looked for "
                            f"{', '.join(c.name for c in candidates)}){hint}")


def _tokenizer_dirs(checkpoint_dir: Path) -> tuple[Path, ...]:
    found = []
    for sub in ("reward_model", "policy"):
        folder = checkpoint_dir / sub
        if (folder / "tokenizer_config.json").is_file() or (folder / "tokenizer.json").is_file():
            found.append(folder)
    return tuple(found)


def locate_run(spec: PlotSpec, run: RunSpec, checkpoint: str | None = None) -> RunOutputs:
    """Find a run's evaluation and training log; raise :class:`RunOutputsMissing` when the run has neither."""
    run_dir = spec.resolve(run.run)
    ckpt = checkpoint or run.checkpoint or spec.checkpoint
    if not run_dir.is_dir():
        raise RunOutputsMissing(f"run folder {run_dir} does not exist")
    checkpoint_dir = run_dir / ckpt
    missing: list[str] = []
    evaluation = None
    try:
        folder = _find_eval(checkpoint_dir, run.task, run.eval)
        evaluation = EvalOutputs(folder, read_metrics(folder / "metrics.json"))
        if not evaluation.samples_path.is_file():
            missing.append(f"no samples.jsonl in {folder}: score histograms and token views skipped")
    except RunOutputsMissing as err:
        missing.append(str(err))
    log_path = run_dir / "metrics.jsonl"
    if not log_path.is_file():
        missing.append(f"no training log {log_path}: training curves skipped")
        log_path = None
    if evaluation is None and log_path is None:
        raise RunOutputsMissing("; ".join(missing))
    return RunOutputs(key=run.key, label=run.label, method=run.method, task=run.task, run_dir=run_dir,
                      checkpoint=ckpt, eval=evaluation, training_log_path=log_path,
                      tokenizer_dirs=_tokenizer_dirs(checkpoint_dir), missing=missing, spec=run)


def locate_transfer(spec: PlotSpec, entry: TransferSpec, checkpoint: str | None = None) -> RunOutputs:
    """The evaluation of ``entry.reward_run``'s reward model on ``entry.policy_run``'s samples."""
    runs = spec.run_by_key()
    reward_run, policy_run = runs[entry.reward_run], runs[entry.policy_run]
    run_dir = spec.resolve(reward_run.run)
    ckpt = checkpoint or reward_run.checkpoint or spec.checkpoint
    if entry.eval_dir is not None:
        folder = spec.resolve(entry.eval_dir)
    elif spec.transfer_root is not None:
        policy_dir = spec.resolve(policy_run.run)
        folder = spec.resolve(spec.transfer_root) / f"P_{policy_dir.name}_R_{run_dir.name}"
    else:
        folder = run_dir / ckpt / "eval" / f"pregenerated_policy_and_reward_{policy_run.task}"
    if not (folder / "metrics.json").is_file():
        raise RunOutputsMissing(f"no metrics.json in {folder}: evaluate {entry.reward_run}'s reward model on "
                                f"{entry.policy_run}'s samples there (or give the folder as 'eval_dir:')")
    evaluation = EvalOutputs(folder, read_metrics(folder / "metrics.json"))
    missing = [] if evaluation.samples_path.is_file() else [f"no samples.jsonl in {folder}: token views skipped"]
    return RunOutputs(key=f"{entry.reward_run}__on__{entry.policy_run}",
                      label=f"R: {reward_run.label} → P: {policy_run.label}", method=reward_run.method,
                      task=policy_run.task, run_dir=run_dir, checkpoint=ckpt, eval=evaluation,
                      training_log_path=None, tokenizer_dirs=_tokenizer_dirs(run_dir / ckpt), missing=missing,
                      spec=reward_run)


def read_training_log(path: Path, keys: tuple[str, ...] | None = None) -> dict[str, tuple[list[float], list[float]]]:
    """``{name: (steps, values)}`` of the numeric keys of a ``metrics.jsonl`` (all but ``step``, or ``keys``)."""
    series: dict[str, tuple[list[float], list[float]]] = {}
    for lineno, row in read_jsonl(path):
        if "step" not in row:
            raise ValueError(f"{path}:{lineno}: a training-log line without 'step'")
        for name, value in row.items():
            if name == "step" or (keys is not None and name not in keys):
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                continue
            steps, values = series.setdefault(name, ([], []))
            steps.append(float(row["step"]))
            values.append(float(value))
    if keys is not None:
        absent = [k for k in keys if k not in series]
        if absent:
            raise ValueError(f"{path}: training_keys {', '.join(absent)} never appear with a numeric value; "
                             f"keys present: {', '.join(sorted(series)) or 'none'}")
    return dict(sorted(series.items()))


def iter_samples(path: Path) -> Iterator[dict[str, Any]]:
    """Rows of ``samples.jsonl`` (streamed: the file can be large)."""
    for _, row in read_jsonl(path):
        yield row


def sample_scores(path: Path) -> dict[str, tuple[list[float], list[bool]]]:
    """Per-sample values of the calibrated scores, with correctness: ``{"reward": (scores, correct), …}``.

    ``reward`` is the row's ``reward.sequence_score`` (the aggregation ``metrics.json`` reports);
    ``policy_mean_logprob`` the mean of ``policy_logprobs``. A score absent from every row is left out.
    """
    out: dict[str, tuple[list[float], list[bool]]] = {"reward": ([], []), "policy_mean_logprob": ([], [])}
    for row in iter_samples(path):
        correct = bool(row.get("correct"))
        reward = row.get("reward")
        if isinstance(reward, dict) and reward.get("sequence_score") is not None:
            out["reward"][0].append(float(reward["sequence_score"]))
            out["reward"][1].append(correct)
        logprobs = row.get("policy_logprobs")
        if logprobs:
            out["policy_mean_logprob"][0].append(sum(logprobs) / len(logprobs))
            out["policy_mean_logprob"][1].append(correct)
    return {k: v for k, v in out.items() if v[0]}
