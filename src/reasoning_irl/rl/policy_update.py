"""The policy's update: its optimiser, learning-rate schedule and the micro-batched clipped-surrogate step.

- :func:`make_optimizer`: AdamW, or bitsandbytes' 8-bit AdamW (``training.optimizer``);
- :func:`lr_lambda`: the multiplier of the learning rate at a policy step (``training.lr_scheduler``);
- :func:`policy_update`: ``iterations`` optimiser steps of :func:`reasoning_irl.rl.policy_loss.clipped_surrogate`
  on one batch of rollouts, micro-batched, with gradients summed across processes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from contextlib import nullcontext
from typing import Any

import torch
from torch import nn

from reasoning_irl import distributed
from reasoning_irl.config.algo import AlgoConfig
from reasoning_irl.config.training import LR_SCHEDULERS
from reasoning_irl.rl.logprobs import completion_logprobs
from reasoning_irl.rl.policy_loss import aggregate_loss, clipped_surrogate, reference_logprobs
from reasoning_irl.rl.rollout import PolicyBatch


def make_optimizer(params: Sequence[nn.Parameter], training: Any) -> torch.optim.Optimizer:
    """The policy's optimiser from ``training.optimizer`` (``adamw``, or bitsandbytes' 8-bit AdamW:
    ``adamw_8bit``, ``paged_adamw_8bit``), with ``learning_rate``, betas and ``weight_decay``."""
    kwargs = {"lr": training.learning_rate, "betas": (training.adam_beta1, training.adam_beta2),
              "weight_decay": training.weight_decay}
    if training.optimizer == "adamw":
        return torch.optim.AdamW(params, **kwargs)
    try:
        import bitsandbytes
    except ImportError:
        raise ValueError(f"training.optimizer={training.optimizer} needs the 'bitsandbytes' package, which is not "
                         "installed; pip install bitsandbytes (CUDA only) or use training.optimizer=adamw") from None
    name = {"adamw_8bit": "AdamW8bit", "paged_adamw_8bit": "PagedAdamW8bit"}.get(training.optimizer)
    if name is None:
        raise ValueError(f"training.optimizer={training.optimizer!r}; use adamw, adamw_8bit or paged_adamw_8bit")
    return getattr(bitsandbytes.optim, name)(params, **kwargs)


def autocast(enabled: bool, device: torch.device):
    """bfloat16 autocast on ``device`` when enabled (weights stay float32)."""
    return torch.autocast(device.type, dtype=torch.bfloat16) if enabled else nullcontext()


def lr_lambda(schedule: str, warmup_steps: int, total_steps: int):
    """Multiplier of the learning rate at a policy step: linear warm-up, then constant/linear/cosine decay."""
    if schedule not in LR_SCHEDULERS:
        raise ValueError(f"training.lr_scheduler={schedule!r}; use constant, linear or cosine")

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / (warmup_steps + 1)
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        if schedule == "linear":
            return max(0.0, 1.0 - progress)
        if schedule == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
        return 1.0

    return factor


def policy_update(
    policy: nn.Module,
    reference: nn.Module | None,
    optimizer: torch.optim.Optimizer,
    batch: PolicyBatch,
    advantages: torch.Tensor,
    algo: AlgoConfig,
    *,
    micro_batch_size: int,
    max_completion_length: int,
    iterations: int,
    max_grad_norm: float,
    bf16: bool,
) -> dict[str, float]:
    """``iterations`` optimiser steps of the clipped surrogate on one batch of rollouts.

    ``advantages`` is ``(N, C)`` on the completion block of ``batch``. With one iteration π_old is π_θ
    detached (ratio 1, no extra forward pass); with more, π_old is recorded once before the first.
    Gradients of the micro-batches accumulate to exactly the aggregated batch loss.
    """
    device = next(policy.parameters()).device
    batch = PolicyBatch(batch.input_ids.to(device), batch.attention_mask.to(device),
                        batch.completion_mask.to(device), batch.prompt_width)
    advantages = advantages.to(device)
    mask = batch.completion_block(batch.completion_mask).float()  # (N, C)
    rows = [slice(i, i + micro_batch_size) for i in range(0, mask.shape[0], micro_batch_size)]
    # Several processes: each holds whole prompts of the global batch; the normalisers are global and the
    # gradients are summed below, so every rank takes the single-process step (reasoning_irl.distributed).
    counts = distributed.global_counts({"num_sequences": mask.shape[0], "num_tokens": int(mask.sum()),
                                        "max_completion_length": max_completion_length, "num_micro_batches": len(rows)})

    # Each micro-batch is trimmed to its own widest prompt and completion (c_i ≤ C columns of the block).
    micros = [batch.select(r).trimmed() for r in rows]

    def logprobs_of(micro: PolicyBatch, model_call) -> torch.Tensor:
        return micro.completion_block(model_call(micro.input_ids, micro.attention_mask, micro.completion_mask))

    with torch.no_grad():
        ref = old = None
        if algo.kl_beta > 0:
            ref = [logprobs_of(m, lambda *a: reference_logprobs(policy, reference, *a)) for m, _ in micros]
        if iterations > 1:
            old = [logprobs_of(m, lambda *a: completion_logprobs(policy, *a)) for m, _ in micros]
    params = [p for p in policy.parameters() if p.requires_grad]
    totals = {"loss": 0.0, "kl": 0.0, "clip_fraction": 0.0, "grad_norm": 0.0}
    for _ in range(iterations):
        optimizer.zero_grad(set_to_none=True)
        for i, (r, (micro, width)) in enumerate(zip(rows, micros)):
            micro_mask = mask[r, :width]
            with autocast(bf16, device):
                logprobs = logprobs_of(micro, lambda *a: completion_logprobs(policy, *a))  # (n, c_i)
            token = clipped_surrogate(
                logprobs, logprobs.detach() if old is None else old[i], advantages[r, :width],
                algo.clip_low, algo.clip_high, None if ref is None else ref[i], algo.kl_beta,
            )
            loss = aggregate_loss(token.loss, micro_mask, algo.loss_aggregation, **counts)
            loss.backward()
            tokens = max(counts["num_tokens"], 1) * iterations
            totals["loss"] += float(loss.detach()) / iterations
            totals["clip_fraction"] += float((token.clipped.float() * micro_mask).sum()) / tokens
            if token.kl is not None:
                totals["kl"] += float((token.kl * micro_mask).sum()) / tokens
        distributed.sum_gradients(params)
        totals["grad_norm"] += float(torch.nn.utils.clip_grad_norm_(params, max_grad_norm)) / iterations
        optimizer.step()
    return totals
