"""Config group ``eval``: the evaluation modes and their inputs and outputs (docs/EVALUATION_GUIDE.md)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class EvalConfig:
    #: ``generate`` (default), ``aime``, ``pregenerated_policy``, ``pregenerated_policy_and_reward``,
    #: ``localisation``; the reference code's aliases are accepted (docs/EVALUATION_GUIDE.md).
    mode: str = "generate"
    #: Split evaluated (``test``, or ``validation`` when fitting calibration).
    split: str = "test"
    #: Input JSONL for the pregenerated modes.
    pregenerated_jsonl_path: str | None = None
    #: null = the mode's default.
    compute_policy_log_probs: bool | None = None
    compute_reward_scores: bool | None = None
    #: Where samples.jsonl and metrics.json go (None: inside the checkpoint, DESIGN §6).
    output_dir: str | None = None
    #: Run folder and checkpoint to evaluate (policy/ and reward_model/ inside it).
    run_dir: str | None = None
    checkpoint: str = "best"
    #: k values of pass@k.
    ks: list[int] = field(default_factory=lambda: [1, 3, 5, 10])
    #: Best-of-N sizes (None: 1, 2, 4, … up to n).
    best_of_ns: list[int] | None = None
    #: ``validation`` fits aggregation, localisation threshold and Platt scaling, writing calibration.json.
    fit_on: str | None = None
    calibration_path: str | None = None
    #: Allow problems with different numbers of samples.
    allow_ragged: bool = False
    #: Evaluate at most this many problems (None = all).
    max_problems: int | None = None
    #: Sequences per forward pass when scoring.
    batch_size: int = 64
    #: Bootstrap resamples for the intervals.
    bootstrap_resamples: int = 1000
