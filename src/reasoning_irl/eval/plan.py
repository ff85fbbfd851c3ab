"""An evaluation's plan: the configuration resolved once, every contradiction refused before any work.

:func:`make_plan` reads an ``EvaluateConfig`` and returns an :class:`EvalPlan`: the mode and split, where
the rows come from, what is computed (policy log-probs, reward scores), which models are loaded from where,
and the output folder. The rest of the evaluation (:mod:`.modes`: read rows → score → aggregate → write)
reads the plan, never the config.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reasoning_irl.eval.fitting import check_fit_request
from reasoning_irl.eval.inputs import check_reward_overrides, resolve_answer_format

MODES = ("generate", "aime", "pregenerated_policy", "pregenerated_policy_and_reward", "localisation")
ALIASES = {
    "default": "generate",
    "evaluate": "generate",
    "generate_and_eval": "generate",
    "aime_generate": "aime",
    "generate_aime": "aime",
    "pregenerated": "pregenerated_policy",
    "pregenerated_policy_only": "pregenerated_policy",
    "logprobs": "pregenerated_policy",
    "pregenerated_sft": "pregenerated_policy_and_reward",
    "logprobs_sft": "pregenerated_policy_and_reward",
    "localization": "localisation",
}
#: What each mode computes unless ``eval.compute_*`` says otherwise: (policy log-probs, reward scores);
#: None = reward scores when a reward model is given.
COMPUTED = {
    "generate": (False, None),
    "aime": (False, None),
    "pregenerated_policy": (True, False),
    "pregenerated_policy_and_reward": (True, True),
    "localisation": (True, True),
}


@dataclass(frozen=True)
class EvalPlan:
    mode: str
    split: str
    #: The task section, with the answer format resolved (and where it came from, for the report).
    task: Any
    answer_format_source: str
    #: The input file (pregenerated modes and file-based localisation); None = the task split.
    input_path: str | None
    policy_logprobs: bool
    reward: bool
    #: The policy to load (generation or log-probs) and the reward model's folder or backbone; None = none.
    policy_source: str | None
    reward_source: str | None
    #: ``reward.aggregation`` given for a trained reward model (the only ``reward.*`` key that applies to it).
    aggregation_override: str | None
    output_dir: Path
    #: Fit on validation and write calibration.json (``eval.fit_on``).
    fit: bool
    seed: int
    device: str
    #: The sections the steps read: ``eval`` (metric settings), ``sampling`` (generation), ``model`` and
    #: ``reward`` (loading the models).
    eval: Any
    sampling: Any
    model: Any
    reward_settings: Any

    @property
    def pregenerated(self) -> bool:
        return self.input_path is not None

    @property
    def load_policy(self) -> bool:
        return self.policy_source is not None

    def source(self) -> str:
        """Where the rows come from, for messages."""
        return f"eval.pregenerated_jsonl_path={self.input_path}" if self.pregenerated \
            else f"task {self.task.name!r} {self.split}"


def resolve_mode(mode: str) -> str:
    """The canonical mode of ``eval.mode`` (aliases of the reference code accepted)."""
    if mode in MODES:
        return mode
    if mode in ALIASES:
        return ALIASES[mode]
    raise ValueError(
        f"eval.mode={mode!r} is unknown; use one of {', '.join(MODES)} "
        f"(aliases: {', '.join(f'{a}→{m}' for a, m in ALIASES.items())})"
    )


def resolve_split(cfg: Any) -> str:
    split = cfg.eval.split or ("validation" if cfg.eval.fit_on else "test")
    check_fit_request(cfg.eval.fit_on, split)
    return split


def default_output_dir(cfg: Any, mode: str) -> Path:
    name = f"{mode}_{cfg.task.name}"
    split = resolve_split(cfg)
    if split != "test":  # a validation (fitting) run must not overwrite the test run's outputs
        name = f"{name}_{split}"
    if cfg.eval.output_dir:
        return Path(cfg.eval.output_dir)
    if cfg.eval.run_dir:
        return Path(cfg.eval.run_dir) / cfg.eval.checkpoint / "eval" / name
    return Path(cfg.output_root) / cfg.run_name / "eval" / name


def policy_source(cfg: Any) -> str:
    if cfg.eval.run_dir:
        folder = Path(cfg.eval.run_dir) / cfg.eval.checkpoint / "policy"
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder} does not exist: eval.run_dir/eval.checkpoint hold no policy")
        return str(folder)
    return cfg.model.policy


def reward_source(cfg: Any) -> str | None:
    if cfg.model.reward is not None:
        return cfg.model.reward
    if cfg.eval.run_dir:
        folder = Path(cfg.eval.run_dir) / cfg.eval.checkpoint / "reward_model"
        return str(folder) if folder.is_dir() else None
    return None


def make_plan(cfg: Any) -> EvalPlan:
    """The plan of ``cfg`` (an ``EvaluateConfig``); refuses every contradiction before any model is loaded."""
    ev = cfg.eval
    mode = resolve_mode(ev.mode)
    if mode == "aime" and cfg.task.name != "aime":
        raise ValueError(
            f"eval.mode=aime evaluates the AIME task but task={cfg.task.name!r}; "
            "run it with task=aime (or use eval.mode=generate for another task)"
        )
    split = resolve_split(cfg)
    if ev.fit_on and ev.calibration_path:
        raise ValueError(
            "eval.fit_on and eval.calibration_path are both set: fit on validation first, then "
            "pass the written calibration.json to the test run"
        )
    pregenerated = mode.startswith("pregenerated") or (mode == "localisation" and ev.pregenerated_jsonl_path)
    if mode.startswith("pregenerated") and not ev.pregenerated_jsonl_path:
        raise ValueError(f"eval.mode={mode} reads completions from eval.pregenerated_jsonl_path, which is not set")
    n = cfg.sampling.n_samples
    if not pregenerated and mode != "localisation" and ev.best_of_ns and max(ev.best_of_ns) > n:
        raise ValueError(
            f"eval.best_of_ns={ev.best_of_ns}: N={max(ev.best_of_ns)} exceeds sampling.n_samples={n}; "
            f"use N <= {n} or raise sampling.n_samples"
        )
    reward = reward_source(cfg)
    default_policy, default_reward = COMPUTED[mode]
    want_policy = default_policy if ev.compute_policy_log_probs is None else ev.compute_policy_log_probs
    want_reward = (reward is not None if default_reward is None else default_reward) \
        if ev.compute_reward_scores is None else ev.compute_reward_scores
    if want_reward and reward is None:
        raise ValueError(
            f"eval.mode={mode} scores with a reward model but none is given: set model.reward=<reward "
            "folder> or eval.run_dir=<run>, or eval.compute_reward_scores=false"
        )
    load_policy = bool(want_policy) or not pregenerated and mode != "localisation"
    trained = want_reward and (Path(reward or "") / "reward_config.json").is_file()
    task, answer_format_source = resolve_answer_format(cfg.task, bool(pregenerated))
    return EvalPlan(
        mode=mode, split=split, task=task, answer_format_source=answer_format_source,
        input_path=ev.pregenerated_jsonl_path if pregenerated else None,
        policy_logprobs=bool(want_policy), reward=bool(want_reward),
        policy_source=policy_source(cfg) if load_policy else None,
        reward_source=reward if want_reward else None,
        aggregation_override=check_reward_overrides(cfg.reward, ev.reward_aggregation, reward) if trained else None,
        output_dir=default_output_dir(cfg, mode), fit=bool(ev.fit_on), seed=cfg.seed, device=cfg.device,
        eval=ev, sampling=cfg.sampling, model=cfg.model, reward_settings=cfg.reward,
    )
