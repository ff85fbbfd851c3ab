"""Config group ``eval``: the evaluation modes and their inputs and outputs (docs/EVALUATION_GUIDE.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

from reasoning_irl.config import check_finite
from reasoning_irl.config.reward import EVAL_AGGREGATIONS


@dataclass
class EvalConfig:
    #: ``generate`` (default), ``aime``, ``pregenerated_policy``, ``pregenerated_policy_and_reward``,
    #: ``localisation``; the reference code's aliases are accepted (docs/EVALUATION_GUIDE.md §1).
    mode: str = "generate"
    #: Split evaluated: null = ``validation`` when ``fit_on=validation``, else ``test``.
    split: str | None = None
    #: Input JSONL (or a ProcessBench-style .json array) for the pregenerated and localisation modes.
    pregenerated_jsonl_path: str | None = None
    #: null = the mode's default (policy log-probs: on in the pregenerated modes; reward scores: on when a
    #: reward model is given and the mode is not ``pregenerated_policy``). false loads no model at all.
    compute_policy_log_probs: bool | None = None
    compute_reward_scores: bool | None = None
    #: Where samples.jsonl and metrics.json go (null: ``<run_dir>/<checkpoint>/eval/<mode>_<task>`` with a
    #: run, else ``<output_root>/<run_name>/eval/<mode>_<task>``).
    output_dir: str | None = None
    #: Run folder and checkpoint to evaluate (``policy/`` and ``reward_model/`` inside it).
    run_dir: str | None = None
    checkpoint: str = "best"
    #: k values of pass@k and maj@k.
    ks: list[int] = field(default_factory=lambda: [1, 3, 5, 10])
    #: Best-of-N sizes (null: 1, 2, 4, … up to n).
    best_of_ns: list[int] | None = None
    #: ``validation`` fits aggregation, localisation thresholds and Platt scaling, writing calibration.json.
    fit_on: str | None = None
    #: A calibration.json (or the folder holding it) written by a validation run.
    calibration_path: str | None = None
    #: Reward aggregation of the ``reward`` selector: ``last``, ``mean``, ``min`` (the names of
    #: ``reward.aggregation``), ``min_step``, ``discounted``; null = ``reward.aggregation`` when given on the
    #: command line, else the fitted one (calibration_path), else the reward model's own (``reward_config.json``).
    reward_aggregation: str | None = None
    #: γ of the ``discounted`` aggregation (token/position k of K weighs γ^(K−1−k)).
    discount: float = 0.95
    #: Softmax temperature of the reward-weighted pass@k and majority.
    reward_temperature: float = 1.0
    #: k of step hit@k and windows (in tokens) of the token hit@1 of localisation.
    hit_ks: list[int] = field(default_factory=lambda: [1, 3])
    windows: list[int] = field(default_factory=lambda: [1, 7])
    #: Allow problems with different numbers of samples.
    allow_ragged: bool = False
    #: Evaluate at most this many problems (null = all).
    max_problems: int | None = None
    #: Sequences per forward pass when scoring (reward and policy log-probs) and prompts per generate call.
    batch_size: int = 64
    #: Bootstrap resamples of the 95% intervals (over problems).
    bootstrap_resamples: int = 1000

    def __post_init__(self) -> None:
        check_finite(self, "eval.")
        parts = self.checkpoint.replace("\\", "/").split("/")  # absolute, drive, "..", "." or "a//b": refused
        if parts[0] == "" or ":" in self.checkpoint or any(x in ("", ".", "..") for x in parts):
            raise ValueError(
                f"eval.checkpoint={self.checkpoint!r} would leave the run folder (eval.run_dir): use a "
                "checkpoint name inside it, e.g. best, final or checkpoints/step-N"
            )
        if self.split is not None and self.split not in ("train", "validation", "test"):
            raise ValueError(f"eval.split={self.split!r}; use train, validation or test")
        if self.reward_aggregation is not None and self.reward_aggregation not in EVAL_AGGREGATIONS:
            raise ValueError(
                f"eval.reward_aggregation={self.reward_aggregation!r}; use {', '.join(EVAL_AGGREGATIONS)} (or null)"
            )
        if not 0.0 < self.discount <= 1.0:
            raise ValueError(f"eval.discount={self.discount} must be in (0, 1]")
        if self.reward_temperature <= 0:
            raise ValueError(f"eval.reward_temperature={self.reward_temperature} must be positive")
        for key in ("ks", "hit_ks"):
            if not getattr(self, key) or any(k < 1 for k in getattr(self, key)):
                raise ValueError(f"eval.{key}={getattr(self, key)} must be a non-empty list of integers >= 1")
        if any(w < 0 for w in self.windows):
            raise ValueError(f"eval.windows={self.windows} must be >= 0")
        if self.best_of_ns is not None and any(n < 1 for n in self.best_of_ns):
            raise ValueError(f"eval.best_of_ns={self.best_of_ns} must be integers >= 1")
        if self.batch_size < 1 or self.bootstrap_resamples < 1:
            raise ValueError("eval.batch_size and eval.bootstrap_resamples must be >= 1")
        if self.max_problems is not None and self.max_problems < 1:
            raise ValueError(f"eval.max_problems={self.max_problems} must be >= 1 or null")
