"""The ``training`` section of each trainer: loop lengths, optimiser, checkpoints, selection, resume.

Shared conventions (docs/METHOD.md; docs/ARCHITECTURE.md (Runs and outputs)):

- ``checkpoint_every`` writes ``checkpoints/step-N`` (0 = only the last step); ``final/`` always holds
  the last step and ``best/`` the policy chosen by ``select_by`` on the **validation** split, never test.
- ``select_by=nll`` (default, verifier-free): the lowest negative log-likelihood of the validation expert
  traces; ``select_by=correctness``: the highest greedy validation accuracy (uses gold answers: opt-in).
- ``resume=auto`` continues from the last complete checkpoint of the run folder when there is one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

SELECT_BY = ("nll", "correctness")
LR_SCHEDULERS = ("constant", "linear", "cosine")
#: Verifiable reward functions of the GRPO baseline (reasoning_irl.rewards.verifiable, docs/METHOD.md §7.3).
VERIFIABLE_REWARDS = ("tag_count", "soft_format", "strict_format", "integer_answer", "correctness")
#: The default list: all but ``integer_answer`` (the reference used it for GSM8K and AIME only).
DEFAULT_VERIFIABLE_REWARDS = ("tag_count", "soft_format", "strict_format", "correctness")
#: ``training.optimizer``: torch's AdamW, or bitsandbytes' 8-bit AdamW (plain or paged; CUDA + bitsandbytes).
OPTIMIZERS = ("adamw", "adamw_8bit", "paged_adamw_8bit")


def _check_shared(cfg: IRLTrainingConfig | _TRLTrainingConfig) -> None:
    """The checks every trainer's ``training`` section shares (selection, schedule, resume)."""
    if cfg.select_by not in SELECT_BY:
        raise ValueError(f"training.select_by={cfg.select_by!r}; use one of {', '.join(SELECT_BY)}")
    if cfg.lr_scheduler not in LR_SCHEDULERS:
        raise ValueError(f"training.lr_scheduler={cfg.lr_scheduler!r}; use one of {', '.join(LR_SCHEDULERS)}")
    if not 0.0 <= cfg.warmup_ratio < 1.0:
        raise ValueError(f"training.warmup_ratio={cfg.warmup_ratio} must be in [0, 1)")
    if not cfg.resume:
        raise ValueError("training.resume is empty; use auto, never, or a checkpoints/step-N path")
    if cfg.resume not in ("auto", "never") and not (Path(cfg.resume).expanduser() / "COMPLETE").is_file():
        # checked here, before any model is loaded (the trainers resolve it only after opening the run)
        raise ValueError(f"training.resume={cfg.resume!r} is not a complete checkpoint folder (no COMPLETE "
                         "marker); use auto, never, or a checkpoints/step-N path")
    if cfg.optimizer not in OPTIMIZERS:
        raise ValueError(f"training.optimizer={cfg.optimizer!r}; use one of {', '.join(OPTIMIZERS)}")


@dataclass
class OptimConfig:
    #: Policy learning rate (3e-5 was stable for a 1M-parameter policy; 1e-4 degraded it).
    learning_rate: float = 3e-5
    weight_decay: float = 0.0
    adam_beta1: float = 0.9
    adam_beta2: float = 0.99
    #: The policy's optimiser: ``adamw`` (torch), ``adamw_8bit`` or ``paged_adamw_8bit`` (bitsandbytes,
    #: CUDA only: 8-bit moments, ~4× less optimiser memory; paged moments spill to host memory). AIRL's
    #: discriminator keeps torch's AdamW.
    optimizer: str = "adamw"
    #: Gradient-norm clip.
    max_grad_norm: float = 1.0
    #: ``constant``, ``linear`` or ``cosine`` decay after ``warmup_ratio`` of linear warm-up.
    lr_scheduler: str = "constant"
    warmup_ratio: float = 0.0


@dataclass
class IRLTrainingConfig(OptimConfig):
    """The AIRL loop (:mod:`reasoning_irl.trainers.airl`). A *step* is one generation batch; the first
    ``reward_warmup_steps`` train the discriminator only, the next ``max_steps`` also the policy, and
    ``checkpoint_every`` / ``eval_every`` count both kinds."""

    #: Policy learning rate: 1e-5 — at 3e-5 the tiny policy lost 20 points of greedy validation accuracy
    #: in 30 steps against a weak learned reward (docs/RESULTS.md); 1e-4 degraded it faster.
    learning_rate: float = 1e-5
    #: Policy optimisation steps (after the discriminator warm-up). The defaults (30 + 30 steps of
    #: 16 prompts × 2 completions, after an 800-step SFT warm start) keep ``python train_irl.py`` within
    #: 10 minutes on 2 CPU cores.
    max_steps: int = 30
    #: Prompts per step (B); each gets ``sampling.num_generations`` completions (G). Their B expert traces
    #: are the discriminator's positives: 16 prompts × 2 completions (``configs/train_irl.yaml``) train the
    #: critic far better than 4 × 8 for the same 32 rollouts (validation AUROC 0.83 vs 0.68 after 40 steps).
    batch_prompts: int = 16
    #: Micro-batch size (sequences) for the policy's forward/backward passes.
    micro_batch_size: int = 32
    #: Optimiser steps of the clipped surrogate per batch of rollouts (PPO epochs μ; 1 = on-policy,
    #: π_old = π_θ detached, as in the reference runs).
    policy_iterations: int = 1
    #: Discriminator-only steps before alternating training starts (each generates its own rollouts).
    reward_warmup_steps: int = 30
    #: Discriminator frozen after warm-up (the learned-reward RLHF baseline).
    freeze_reward_after_warmup: bool = False
    #: SFT steps that ``train_irl`` runs itself when ``model.policy=tiny`` (the embedded default has no
    #: trained policy to start from); 0 = start from the randomly initialised tiny model. Ignored for any
    #: other ``model.policy``, which is the warm start itself. 800 steps (~3 min on 2 cores): greedy
    #: validation accuracy 75%, NLL 0.035 per token (the former 300 steps, with the 80-token system prompt:
    #: 17%, 0.20).
    warm_start_steps: int = 800
    #: Write ``checkpoints/step-N`` every this many steps (0 = only ``final``).
    checkpoint_every: int = 10
    #: Keep only the newest this many ``checkpoints/step-N`` (None = all; ~18 GB each at 3B with LoRA 256
    #: in full precision is not unusual); ``best/`` and ``final/`` are separate copies and always kept.
    keep_checkpoints: int | None = None
    #: Evaluate selection criteria on validation every this many steps (0 = only at the end); the warm
    #: start (step 0) and the last step are always evaluated.
    eval_every: int = 10
    #: Validation problems used for selection.
    eval_problems: int = 64
    #: Also log greedy validation accuracy and format rate at each evaluation (reporting only unless
    #: ``select_by=correctness``).
    eval_generate: bool = True
    #: How the policy's ``best`` is chosen: ``nll`` (validation expert NLL) or ``correctness``
    #: (validation accuracy; uses gold answers, so it is opt-in).
    select_by: str = "nll"
    #: ``auto`` (continue from the last complete checkpoint if any), ``never``, or a checkpoint path.
    resume: str = "auto"
    #: Consecutive policy steps with discriminator accuracy ≥ 0.99 before it counts as collapse.
    collapse_patience: int = 5
    #: Warn, or stop when ``stop_on_collapse``, if the discriminator accuracy, the format rate or the
    #: completion length collapse.
    stop_on_collapse: bool = False
    #: Autocast to bfloat16 (weights stay float32).
    bf16: bool = False

    def __post_init__(self) -> None:
        _check_shared(self)
        for key in (
            "batch_prompts",
            "micro_batch_size",
            "policy_iterations",
            "eval_problems",
            "collapse_patience",
        ):
            if getattr(self, key) < 1:
                raise ValueError(f"training.{key}={getattr(self, key)} must be >= 1")
        for key in ("max_steps", "reward_warmup_steps", "warm_start_steps", "checkpoint_every", "eval_every"):
            if getattr(self, key) < 0:
                raise ValueError(f"training.{key}={getattr(self, key)} must be >= 0")
        if self.keep_checkpoints is not None and self.keep_checkpoints < 1:
            raise ValueError(f"training.keep_checkpoints={self.keep_checkpoints}; use None (all) or >= 1")
        if self.max_steps + self.reward_warmup_steps == 0:
            raise ValueError(
                "training.max_steps and training.reward_warmup_steps are both 0: nothing to train"
            )


@dataclass
class _TRLTrainingConfig(OptimConfig):
    """What the two TRL baselines (SFT, GRPO) share: loop length, checkpoints, selection, resume."""

    #: Optimiser steps.
    max_steps: int = 60
    #: Micro-batches accumulated per optimiser step (1 = none).
    gradient_accumulation_steps: int = 1
    #: Write ``checkpoints/step-N`` every this many steps (0 = only the last step).
    checkpoint_every: int = 20
    #: Keep only the newest this many ``checkpoints/step-N`` (None = all); ``best/``/``final/`` are copies.
    keep_checkpoints: int | None = None
    #: Evaluate on validation every this many steps (0 = only at the end); the last step is always evaluated.
    eval_every: int = 20
    #: Validation problems (with an expert trace) used for selection and the logged validation metrics.
    eval_problems: int = 64
    #: ``nll`` (validation expert NLL, default) or ``correctness`` (greedy validation accuracy; opt-in).
    select_by: str = "nll"
    #: Also log greedy validation accuracy and format rate at every evaluation (reporting only: it does
    #: not choose ``best/`` unless ``select_by=correctness``). Costs one greedy generation per problem.
    eval_generate: bool = True
    #: ``auto`` (continue from the last complete checkpoint of the run folder, if any), ``never``
    #: (refuse a run folder that already has checkpoints), or the path of a ``checkpoints/step-N`` folder.
    resume: str = "auto"
    #: bfloat16 autocast (weights stay float32): 1.5–2.5× faster for 4M+ parameter models on a CPU with
    #: avx512_bf16 (docs/ARCHITECTURE.md (Environment notes)), no gain measured on the 1.2M tiny model;
    #: False = exact float32.
    bf16: bool = False

    def __post_init__(self) -> None:
        _check_shared(self)
        for key in ("max_steps", "gradient_accumulation_steps", "eval_problems"):
            if getattr(self, key) < 1:
                raise ValueError(f"training.{key}={getattr(self, key)} must be >= 1")
        for key in ("checkpoint_every", "eval_every"):
            if getattr(self, key) < 0:
                raise ValueError(f"training.{key}={getattr(self, key)} must be >= 0 (0 = only the last step)")
        if self.keep_checkpoints is not None and self.keep_checkpoints < 1:
            raise ValueError(f"training.keep_checkpoints={self.keep_checkpoints}; use None (all) or >= 1")


@dataclass
class SFTTrainingConfig(_TRLTrainingConfig):
    #: 1e-3 suits the 1M-parameter tiny model trained in full; use ~1e-5 for LoRA on billion-scale models.
    learning_rate: float = 1e-3
    #: Cosine decay after 3% warm-up: on arith it ends at NLL 0.035 where a constant rate is at 0.058 (600
    #: steps) — the tiny model's loss drops late, once it attends to the question's numbers.
    lr_scheduler: str = "cosine"
    warmup_ratio: float = 0.03
    max_steps: int = 800
    #: Expert traces per micro-batch.
    batch_size: int = 32
    checkpoint_every: int = 200
    eval_every: int = 200


@dataclass
class GRPOTrainingConfig(_TRLTrainingConfig):
    max_steps: int = 60
    #: Prompts per optimiser micro-batch; each gets ``sampling.num_generations`` completions, so one
    #: micro-batch holds batch_prompts × num_generations completions.
    batch_prompts: int = 8
    checkpoint_every: int = 20
    eval_every: int = 20
    #: Verifiable rewards summed with weight 1 (docs/METHOD.md §7.3): ``tag_count`` (0.125 per tag present exactly
    #: once, minus 0.001 per character after ``</answer>``), ``soft_format`` (0.5), ``strict_format`` (0.5),
    #: ``integer_answer`` (0.5 when the answer is all digits; the reference's GSM8K/AIME runs),
    #: ``correctness`` (2.0 when the task grades the answer right).
    reward_functions: list[str] = field(default_factory=lambda: list(DEFAULT_VERIFIABLE_REWARDS))

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.batch_prompts < 1:
            raise ValueError(f"training.batch_prompts={self.batch_prompts} must be >= 1")
        unknown = [name for name in self.reward_functions if name not in VERIFIABLE_REWARDS]
        if unknown or not self.reward_functions:
            raise ValueError(
                f"training.reward_functions={self.reward_functions}: unknown {unknown}; "
                f"use a non-empty subset of {', '.join(VERIFIABLE_REWARDS)}"
            )
