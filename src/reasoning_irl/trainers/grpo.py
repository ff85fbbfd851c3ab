"""GRPO baseline with verifiable rewards (format + correctness) through TRL's ``GRPOTrainer``.

    python train_grpo.py                                               # arith, tiny model, CPU
    python train_grpo.py model.policy=outputs/sft-arith-seed0/best/policy   # warm start from SFT
    python train_grpo.py task=gsm8k model=qwen2.5-3b training.max_steps=400

Recipe (docs/METHOD.md §7.3):

- Prompts are the task's training problems (gold answers only; no expert trace is needed). Each row
  carries its ``problem_id``, and the correctness reward grades a completion against the record of
  *that* id (:mod:`reasoning_irl.rewards.verifiable`; docs/METHOD.md §10 item 1).
- Rewards ``training.reward_functions``, each weight 1: tag count, soft and strict format, correctness.
- Our config maps onto ``GRPOConfig``: ``algo.loss_aggregation`` → ``loss_type``, ``algo.kl_beta`` →
  ``beta``, ``algo.clip_low``/``clip_high`` → ``epsilon``/``epsilon_high``, ``algo.scale_rewards`` →
  ``scale_rewards`` (``group``/``none``); ``sampling.num_generations`` (G), ``temperature``, ``top_p``,
  ``max_new_tokens`` → ``max_completion_length``, ``min_new_tokens`` → ``generation_kwargs``; one
  optimiser micro-batch holds ``training.batch_prompts`` × G completions.
- The policy starts from ``model.policy`` (usually an SFT run's ``best/policy``); ``best/`` is chosen on
  validation as for SFT (expert NLL by default; greedy accuracy with ``training.select_by=correctness``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from reasoning_irl.models.encoding import encode_prompt
from reasoning_irl.tasks.base import Record

log = logging.getLogger("reasoning_irl")


def check_algo(cfg: Any) -> None:
    """Refuse ``algo``/``sampling`` values this baseline cannot honour (no key is silently ignored)."""
    algo, sampling = cfg.algo, cfg.sampling
    if algo.advantage != "group":
        raise ValueError(
            f"algo.advantage={algo.advantage!r}: TRL's GRPO baseline computes group advantages "
            "only; use algo=group (the other advantages are in train_irl.py)"
        )
    if sampling.num_generations < 2:
        raise ValueError(
            f"sampling.num_generations={sampling.num_generations}: GRPO needs at least 2 "
            "completions per prompt to form a group advantage"
        )


def grpo_dataset(records: list[Record]):
    """Rows of ``prompt`` (chat messages) and ``problem_id`` (the key the correctness reward grades by)."""
    from datasets import Dataset

    return Dataset.from_list([{"prompt": r.prompt, "problem_id": r.problem_id} for r in records])


def grpo_arguments(cfg: Any, run_dir: Path) -> dict[str, Any]:
    """``GRPOConfig`` fields from our ``algo``, ``sampling`` and ``training`` sections."""
    from reasoning_irl.trainers.trl_run import trainer_arguments

    algo, sampling, training = cfg.algo, cfg.sampling, cfg.training
    return {
        **trainer_arguments(cfg, run_dir),
        # TRL counts completions: batch_prompts prompts × G completions per micro-batch.
        "per_device_train_batch_size": training.batch_prompts * sampling.num_generations,
        "num_generations": sampling.num_generations,
        "max_completion_length": sampling.max_new_tokens,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        # TRL's own Hugging Face generation is our hf backend, the only one (docs/CLUSTER.md, "GPU-only paths")
        "use_vllm": {"hf": False}[sampling.backend],
        "beta": algo.kl_beta,
        "loss_type": algo.loss_aggregation,
        "epsilon": algo.clip_low,
        "epsilon_high": algo.clip_high,
        "scale_rewards": "group" if algo.scale_rewards else "none",
        "log_completions": False,
        # EOS is suppressed before min_new_tokens (benchmarks compare trainers at equal lengths).
        "generation_kwargs": {"min_new_tokens": sampling.min_new_tokens} if sampling.min_new_tokens else None,
    }


def _fitting_prompts(records: list[Record], tokenizer: Any, max_prompt_length: int) -> list[Record]:
    """Drop (with a warning) problems whose prompt exceeds ``model.max_prompt_length`` tokens: cutting
    a question would train on a different problem than the one graded."""
    kept = [r for r in records if len(encode_prompt(tokenizer, r.prompt)) <= max_prompt_length]
    if len(kept) < len(records):
        log.warning(
            "GRPO: %d of %d training prompts are longer than model.max_prompt_length=%d tokens "
            "and are left out",
            len(records) - len(kept),
            len(records),
            max_prompt_length,
        )
    if not kept:
        raise ValueError(f"no training prompt fits model.max_prompt_length={max_prompt_length}; raise it")
    return kept


def train_grpo(cfg: Any, run_dir: str | Path | None = None) -> Path:
    """Run the GRPO baseline as configured (``TrainGRPOConfig``) and return the run folder."""
    from trl import GRPOConfig, GRPOTrainer

    from reasoning_irl.models import apply_lora, load_causal_lm, load_tokenizer
    from reasoning_irl.rewards.verifiable import trl_reward_functions
    from reasoning_irl.tasks import get_task
    from reasoning_irl.trainers.policy_selection import PolicySelection
    from reasoning_irl.trainers.trl_run import open_trl_run, run_trl_trainer

    check_algo(cfg)
    training = cfg.training
    run, resume_from = open_trl_run(cfg, run_dir)
    with run:
        task = get_task(cfg.task)
        run.record_info(task=task.describe())  # sizes, sources and split rule of the data
        with run.timer("load_model"):
            tokenizer = load_tokenizer(cfg.model.policy, cfg.model)
            model = apply_lora(load_causal_lm(cfg.model.policy, cfg.model), cfg.model)
        with run.timer("load_data"):
            train = _fitting_prompts(task.load("train"), tokenizer, cfg.model.max_prompt_length)
            validation = [r for r in task.load("validation") if r.target][: training.eval_problems]
        selection = PolicySelection(
            task,
            validation,
            tokenizer,
            select_by=training.select_by,
            generate=training.eval_generate,
            max_length=cfg.model.max_length,
            max_new_tokens=cfg.sampling.max_new_tokens,
        )
        trainer = GRPOTrainer(
            model=model,
            reward_funcs=trl_reward_functions(
                training.reward_functions, task, {r.problem_id: r for r in train}
            ),
            args=GRPOConfig(**grpo_arguments(cfg, run.dir)),
            train_dataset=grpo_dataset(train),
            processing_class=tokenizer,
        )
        log.info(
            "GRPO on %d prompts of %s (G=%d, %d prompts per step); rewards %s",
            len(train),
            cfg.task.name,
            cfg.sampling.num_generations,
            training.batch_prompts,
            ", ".join(training.reward_functions),
        )
        run_trl_trainer(trainer, run, selection, tokenizer=tokenizer, resume_from=resume_from)
    return run.dir
