"""AIRL: learn a reasoning reward model from expert traces and train the policy against it.

    python train_irl.py                                   # arith, tiny model, CPU (SFT warm start included)
    python train_irl.py reward=dense algo=discounted seed=1
    python train_irl.py model.policy=outputs/sft-arith-seed0/best/policy training.max_steps=200

The adversarial loop (Fu et al. 2018; docs/METHOD.md §3–5), one function read top to bottom:

    setup: task splits, policy π_θ (warm start), reward model r_φ, its Discriminator, optimiser, π_ref
    for step in 1 … W + S:                     W = training.reward_warmup_steps, S = training.max_steps
        prompts    = the next B training problems — with or without a demonstration (only AIRL can
                     use the latter: they get rollouts and policy updates, never discriminator positives)
        rollouts   = G completions per prompt from π_θ
        positives  = the expert traces of those prompts that have one
        negatives  = the rollouts + perturbed expert traces
        discriminator.update(positives, negatives)   K steps (none after warm-up when frozen)
        if step ≤ W: continue                        warm-up trains the discriminator only
        rewards    = r_φ's per-position rewards on the rollouts (granularity, form: score increments)
        advantages = compute_advantages(rewards, …)  algo.advantage
        policy_update(…)                             clipped surrogate + β·k3 to π_ref
        log; watch for collapse; evaluate on validation (best/); checkpoint

Warm start: ``model.policy=tiny`` (the embedded default) first runs ``training.warm_start_steps`` of
the SFT baseline (:func:`reasoning_irl.trainers.sft.train_sft`) into ``<run>/warm_start/`` and starts
from its ``best/policy``; any other ``model.policy`` (e.g. an SFT run's ``best/policy``) is the warm
start itself. ``model.reward=from_policy`` builds the reward model from the same warm start.

Selection (docs/METHOD.md): ``best/policy`` by the validation experts' NLL (or greedy accuracy with
``training.select_by=correctness``), ``best/reward_model`` by the validation AUROC of expert traces
against held-out perturbed traces — chosen separately. Step 0 (the warm start) is a candidate, so
``best/policy`` is never worse than the warm start by its own criterion. Gold answers are read only
for reporting (greedy validation accuracy), for ``discriminator.relabel_correct_samples``,
``algo.use_outcome_rewards`` and ``training.select_by=correctness``.

Resume: every random draw of a step is seeded by (seed, step) and the rest of the loop state
(optimisers, replay buffer, RNG, best values, monitors) is checkpointed, so ``training.resume=auto``
continues from the last complete checkpoint and reaches the same result as an uninterrupted run.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from pathlib import Path
from typing import Any

import torch

from reasoning_irl import distributed
from reasoning_irl.config.model import FROM_POLICY
from reasoning_irl.models import apply_lora, encode_prompt, load_causal_lm, load_tokenizer
from reasoning_irl.models.loading import tokenizer_hash
from reasoning_irl.models.lora import share_frozen_base
from reasoning_irl.rewards.discriminator import Discriminator
from reasoning_irl.rewards.labels import DiscriminatorSample
from reasoning_irl.rewards.replay import check_capacity
from reasoning_irl.rewards.saving import build_reward_model, load_reward_model
from reasoning_irl.rewards.validation import reward_auroc
from reasoning_irl.rewards.verifiable import FORMAT_REWARDS, correctness_reward, is_strict_format
from reasoning_irl.rl.advantages import compute_advantages
from reasoning_irl.rl.logprobs import encoded_token_logprobs
from reasoning_irl.rl.policy_loss import make_reference
from reasoning_irl.rl.policy_update import lr_lambda, make_optimizer, policy_update
from reasoning_irl.rl.reward_alignment import align_rewards
from reasoning_irl.rl.rollout import generate_rollouts, policy_batch
from reasoning_irl.tasks import get_task
from reasoning_irl.tasks.base import stable_hash
from reasoning_irl.trainers.checkpoint import clean_incomplete, load_checkpoint, save_checkpoint, step_dir
from reasoning_irl.trainers.collapse import CollapseMonitor
from reasoning_irl.trainers.data_order import batch_indices, step_seed
from reasoning_irl.trainers.policy_selection import PolicySelection
from reasoning_irl.trainers.resume import prune_checkpoints, resolve_resume, restore_best_on_resume
from reasoning_irl.trainers.run import Run
from reasoning_irl.trainers.run_config import refuse_another_config
from reasoning_irl.trainers.selected import save_selected
from reasoning_irl.trainers.warm_start import warm_start

log = logging.getLogger("reasoning_irl")


def train_irl(cfg: Any, run_dir: str | Path | None = None) -> Path:
    """Run AIRL as configured (:class:`~reasoning_irl.config.schema.TrainIRLConfig`); return the run folder."""
    training, sampling = cfg.training, cfg.sampling
    warmup, total = training.reward_warmup_steps, training.reward_warmup_steps + training.max_steps
    torch.manual_seed(cfg.seed)
    distributed.init()  # several processes (accelerate launch / torchrun): docs/CLUSTER.md §2; else a no-op
    # Before any model is loaded: one step's negatives (this process's rollouts and perturbed experts) fit.
    check_capacity(cfg.discriminator.replay_buffer_size, training.batch_prompts // distributed.world_size()
                   * (sampling.num_generations + cfg.discriminator.perturbations_per_expert))
    refuse_another_config(cfg, Path(run_dir) if run_dir is not None else Path(cfg.output_root) / cfg.run_name)
    run = Run.open(cfg, run_dir, total_steps=total)
    with run:
        if run.is_main:  # only the main process writes the run folder
            clean_incomplete(run.dir)
        distributed.barrier()
        resume_from = resolve_resume(training.resume, run.dir)
        device = _device(cfg.device)

        # --- setup ---------------------------------------------------------------------------------
        task = get_task(cfg.task)
        run.record_info(task=task.describe())  # sizes, sources and split rule of the data
        with run.timer("load_data"):
            train = task.load("train")
            validation = [r for r in task.load("validation") if r.target][: training.eval_problems]
        if not any(r.target for r in train):
            raise ValueError("no training problem has an expert trace: the discriminator has no positives; "
                             "raise task.num_demonstrations (None = all)")
        with run.timer("warm_start"):
            policy_path = warm_start(cfg, run.dir)
        with run.timer("load_model"):
            tokenizer = load_tokenizer(policy_path, cfg.model)
            policy = apply_lora(load_causal_lm(policy_path, cfg.model), cfg.model).to(device)
            discriminator = _setup_discriminator(cfg, policy_path, policy, tokenizer, device, task.answer_kind)
            discriminator.reward_model.base_store = run.dir / ".reward_base"  # LoRA: one frozen base on disk
        warmup_updates, schedule = discriminator_schedule(cfg)
        discriminator.set_schedule(*schedule)
        reference = make_reference(policy, cfg.algo.kl_beta)
        optimizer = make_optimizer([p for p in policy.parameters() if p.requires_grad], training)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(
            training.lr_scheduler, int(training.warmup_ratio * training.max_steps), training.max_steps))
        selection = PolicySelection(task, validation, tokenizer, select_by=training.select_by,
                                    generate=training.eval_generate, max_length=cfg.model.max_length,
                                    max_new_tokens=sampling.max_new_tokens)
        validation_experts = [_expert(r) for r in validation]
        # At least one held-out perturbed copy per validation expert, also when training takes none
        # (perturbations_per_expert=0): the validation AUROC that selects best/reward_model needs them.
        validation_perturbed = discriminator.perturbed_negatives(
            validation_experts, seed=stable_hash(f"{cfg.seed}:validation"), metas=[r.meta for r in validation],
            copies=max(1, cfg.discriminator.perturbations_per_expert))
        monitor = CollapseMonitor(training.collapse_patience, sampling.max_new_tokens)
        best_reward: dict[str, Any] = {"step": None, "value": None}
        prompt_ids: dict[str, list[int]] = {}  # problem_id → prompt token ids, computed once

        def evaluate(step: int) -> dict[str, float]:
            metrics = selection.evaluate(policy)
            metrics["validation_auroc"] = reward_auroc(discriminator, validation_experts, validation_perturbed)
            if selection.is_better(metrics):
                selection.record(step, metrics[selection.metric])
                if run.is_main:
                    save_selected(run.dir, "best", "policy", policy, tokenizer=tokenizer, step=step,
                                  metric=selection.metric, value=metrics[selection.metric])
            auroc = metrics["validation_auroc"]
            if math.isfinite(auroc) and (best_reward["value"] is None or auroc > best_reward["value"]):
                best_reward.update(step=step, value=auroc)
                if run.is_main:
                    save_selected(run.dir, "best", "reward_model", discriminator.reward_model, step=step,
                                  metric="validation_auroc", value=auroc)
            return metrics

        keep_checkpoints = training.keep_checkpoints

        def checkpoint(step: int) -> None:
            state = {"discriminator": _discriminator_state(discriminator), "selection": selection.state(),
                     "best_reward": dict(best_reward), "monitor": monitor.state_dict(),
                     "policy_path": str(policy_path)}
            if run.is_main:
                save_checkpoint(step_dir(run.dir, step), step=step, policy=_WithTokenizer(policy, tokenizer),
                                reward_model=discriminator.reward_model, optimizer=optimizer, scheduler=scheduler,
                                state=state)
                prune_checkpoints(run.dir, keep_checkpoints)  # the newest N; best/, final/ are copies
            distributed.barrier()

        start = 0
        if resume_from is not None:
            start = _resume(resume_from, cfg, policy, optimizer, scheduler, discriminator, selection, best_reward,
                            monitor)
            restore_best_on_resume(run.dir, start, selection.state())
            run.resume(start)
            log.info("resumed from %s (step %d of %d)", resume_from, start, total)
        else:
            run.resume(0)  # a fresh run starts a fresh metrics log
            run.log(0, evaluate(0), force=True)  # the warm start: the baseline best/ must beat

        # --- the adversarial loop ----------------------------------------------------------------------
        stopped = False
        for step in range(start + 1, total + 1):
            records = [train[i] for i in batch_indices(len(train), training.batch_prompts, step, cfg.seed)]
            records = distributed.shard(records)  # this process's whole prompts (all of them with one process)
            prompts = [prompt_ids.setdefault(r.problem_id, encode_prompt(tokenizer, r.prompt)) for r in records]
            with run.timer("generate"):
                rollouts = generate_rollouts(policy, tokenizer, prompts, sampling,
                                             seed=step_seed(cfg.seed, step, f"rollout{distributed.rank() or ''}"))
            rollout_records = [records[i] for i in rollouts.prompt_index]
            metrics: dict[str, float] = {"phase_warmup": float(step <= warmup), **_rollout_stats(rollouts)}

            # Discriminator: experts (positives) vs rollouts + perturbed experts (negatives).
            if step <= warmup or not training.freeze_reward_after_warmup:
                positives, negatives = _discriminator_batch(
                    discriminator, task, records, rollout_records, rollouts,
                    relabel=cfg.discriminator.relabel_correct_samples,
                    seed=step_seed(cfg.seed, step, f"perturb{distributed.rank() or ''}"))
                with run.timer("discriminator"):
                    stats = discriminator.update(positives, negatives,
                                                 updates=warmup_updates if step <= warmup else None)
                metrics.update({f"discriminator_{k}": v for k, v in stats.items()})
                if stats:
                    metrics["discriminator_accuracy"] = 0.5 * (stats["acc_pos"] + stats["acc_neg"])

            if step > warmup:
                # Rewards on the policy's tokens → advantages → clipped-surrogate step.
                with run.timer("score"):
                    texts = rollouts.completion_text
                    scored = discriminator.policy_rewards([r.prompt for r in rollout_records], texts,
                                                          finished=rollouts.finished)
                    batch = policy_batch(rollouts, tokenizer.pad_token_id)
                    width = batch.input_ids.shape[1] - batch.prompt_width
                    rewards, scored_mask = align_rewards(scored, rollouts, [r.prompt for r in rollout_records],
                                                         tokenizer, width)  # (N, C)
                    outcome = None
                    if cfg.algo.use_outcome_rewards:
                        outcome = torch.tensor([_outcome_reward(t, r, task) for t, r in zip(texts, rollout_records)])
                    advantages = compute_advantages(rewards, batch.completion_block(batch.completion_mask),
                                                    scored_mask, cfg.algo, rollouts.num_generations, outcome)
                with run.timer("policy"):
                    update = policy_update(policy, reference, optimizer, batch, advantages, cfg.algo,
                                           micro_batch_size=training.micro_batch_size,
                                           max_completion_length=sampling.max_new_tokens,
                                           iterations=training.policy_iterations,
                                           max_grad_norm=training.max_grad_norm, bf16=training.bf16)
                    metrics["lr"] = scheduler.get_last_lr()[0]
                    scheduler.step()
                metrics.update(update)
                metrics["reward"] = sum(s.sequence_score for s in scored) / len(scored)
                metrics["return"] = float(rewards.sum(-1).mean())
                tokens = batch.completion_block(batch.completion_mask).sum().clamp(min=1)
                metrics["advantage_abs_mean"] = float(advantages.abs().sum() / tokens)  # per completion token
                problems = monitor.check(metrics.get("discriminator_accuracy"), metrics["format_rate"],
                                         metrics["completion_length"], metrics["finished_rate"])
                metrics["collapse"] = float(bool(problems))
                for problem in problems:
                    log.warning("step %d: possible collapse: %s", step, problem)
                stopped = bool(problems) and training.stop_on_collapse
                stopped = distributed.mean_over_ranks(float(stopped)) > 0  # all processes stop together

            last = step == total or stopped
            if last or (training.eval_every and step % training.eval_every == 0):
                with run.timer("evaluate"):
                    metrics.update(evaluate(step))
            run.log(step, metrics, tokens=int(rollouts.completion_lengths().sum()), force=last)
            if not last and training.checkpoint_every and step % training.checkpoint_every == 0:
                with run.timer("checkpoint"):
                    checkpoint(step)
            if stopped:
                log.warning("stopping at step %d (training.stop_on_collapse=true)", step)
                break

        final_step = step if total > start else start
        if run.is_main:
            save_selected(run.dir, "final", "policy", policy, tokenizer=tokenizer, step=final_step)
            save_selected(run.dir, "final", "reward_model", discriminator.reward_model, step=final_step)
        # Every process decides before any of them can write it (checkpoint() ends with a barrier).
        write_last = bool(training.checkpoint_every) and not step_dir(run.dir, final_step).exists()
        distributed.barrier()
        if write_last:
            checkpoint(final_step)
    return run.dir


# --------------------------------------------------------------------------------------------------
# Setup


def _device(name: str) -> torch.device:
    return torch.device(distributed.resolve_device(name))


def _setup_discriminator(cfg: Any, policy_path: str, policy, tokenizer, device: torch.device,
                         task_kind: str = "math") -> Discriminator:
    """The reward model (``from_policy``: the warm start's weights) and the discriminator that trains it."""
    backbone = policy_path if cfg.model.reward == FROM_POLICY else cfg.model.reward
    reward_model = build_reward_model(cfg.reward, cfg.model, form=cfg.discriminator.form,
                                      gamma=cfg.discriminator.gamma, backbone=backbone)
    if cfg.model.reward == FROM_POLICY and cfg.model.lora_rank and not (cfg.model.load_in_4bit or cfg.model.unsloth):
        shared = share_frozen_base(policy, reward_model.backbone)  # one frozen base for policy, π_ref and reward
        log.info("the reward model shares the policy's frozen base: %.2f GB not held twice", shared / 1e9)
    reward_model = reward_model.to(device)
    logprobs = None
    if reward_model.form.needs_policy_logprobs:
        def logprobs(encoded):  # log π_θ of each token of the reward model's encodings (EOS included)
            return encoded_token_logprobs(policy, encoded, tokenizer.pad_token_id, cfg.training.micro_batch_size)
    return Discriminator(reward_model, cfg.discriminator, policy_tokenizer_hash=tokenizer_hash(tokenizer),
                         policy_logprobs=logprobs, seed=cfg.seed, task_kind=task_kind)


def discriminator_schedule(cfg: Any) -> tuple[int, tuple[int, int]]:
    """(discriminator steps per warm-up step, (warm-up, total) discriminator steps of the lr schedule).

    The reference (docs/METHOD.md §5): W warm-up steps of ``warmup_updates_per_step`` (1) updates each, then
    ``max_steps`` × K (none when the critic is frozen after warm-up).
    """
    d, training = cfg.discriminator, cfg.training
    per_warmup_step = d.updates_per_step if d.warmup_updates_per_step is None else d.warmup_updates_per_step
    warmup = training.reward_warmup_steps * per_warmup_step
    after = 0 if training.freeze_reward_after_warmup else training.max_steps * d.updates_per_step
    return per_warmup_step, (warmup, warmup + after)


def _discriminator_batch(discriminator: Discriminator, task, records, rollout_records, rollouts, *, relabel: bool,
                         seed: int) -> tuple[list[DiscriminatorSample], list[DiscriminatorSample]]:
    """Positives: the expert traces of the prompts that have one. Negatives: every rollout (its
    correctness is read only when ``relabel``) and perturbed copies of those expert traces."""
    with_target = [r for r in records if r.target]
    positives = [_expert(r) for r in with_target]
    negatives = [DiscriminatorSample(r.prompt, text, "policy", problem_id=r.problem_id,
                                     correct=bool(task.grade(text, r)) if relabel else None, finished=done)
                 for r, text, done in zip(rollout_records, rollouts.completion_text, rollouts.finished)]
    negatives += discriminator.perturbed_negatives(positives, seed=seed, metas=[r.meta for r in with_target])
    return positives, negatives


def _expert(record) -> DiscriminatorSample:
    return DiscriminatorSample(record.prompt, record.target, "expert", problem_id=record.problem_id, steps=None)


class _WithTokenizer:
    """Saves a policy and its tokenizer into one folder (the checkpoint's ``policy/``)."""

    def __init__(self, model, tokenizer) -> None:
        self.model, self.tokenizer = model, tokenizer

    def save_pretrained(self, folder) -> None:
        self.model.save_pretrained(folder)
        self.tokenizer.save_pretrained(folder)


def _rollout_stats(rollouts) -> dict[str, float]:
    lengths = rollouts.completion_lengths().float()
    return {
        "completion_length": float(lengths.mean()),
        "finished_rate": sum(rollouts.finished) / len(rollouts),
        "format_rate": sum(is_strict_format(t) for t in rollouts.completion_text) / len(rollouts),
    }


def _outcome_reward(text: str, record, task) -> float:
    """The GRPO baseline's verifiable reward (docs/METHOD.md §7.3): the format rewards plus correctness."""
    return sum(reward(text) for reward in FORMAT_REWARDS.values()) + correctness_reward(text, record, task)


# --------------------------------------------------------------------------------------------------
# Checkpointed state beyond the models and the policy optimiser


def _discriminator_state(discriminator: Discriminator) -> dict[str, Any]:
    replay = discriminator.replay
    return {
        "optimizer": discriminator.optimizer.state_dict(),
        "steps_done": discriminator.steps_done,
        "replay": None if replay is None else {
            "positives": [dataclasses.asdict(s) for s in replay.positives],
            "negatives": [dataclasses.asdict(s) for s in replay.negatives],
            "rng": replay._rng.getstate(),
        },
    }


def _resume(path: Path, cfg, policy, optimizer, scheduler, discriminator: Discriminator, selection: PolicySelection,
            best_reward: dict[str, Any], monitor: CollapseMonitor) -> int:
    checkpoint = load_checkpoint(path, policy=policy, optimizer=optimizer, scheduler=scheduler)
    saved = load_reward_model(path / "reward_model", trainable=True, model=cfg.model)
    discriminator.reward_model.load_state_dict(saved.state_dict())
    state = checkpoint.state
    discriminator.optimizer.load_state_dict(state["discriminator"]["optimizer"])
    discriminator.steps_done = state["discriminator"]["steps_done"]
    replay = state["discriminator"]["replay"]
    if replay is not None and discriminator.replay is not None:
        discriminator.replay.positives.extend(DiscriminatorSample(**s) for s in replay["positives"])
        discriminator.replay.negatives.extend(DiscriminatorSample(**s) for s in replay["negatives"])
        discriminator.replay._rng.setstate(replay["rng"])
    if state["selection"] is not None:
        selection.record(state["selection"]["step"], state["selection"]["value"])
    best_reward.update(state["best_reward"])
    monitor.load_state_dict(state["monitor"])
    return checkpoint.step
