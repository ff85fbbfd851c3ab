"""The pieces of one AIRL step that :mod:`reasoning_irl.trainers.airl` strings together.

- :func:`align_rewards`: the reward model's per-position rewards (on *its* encoding of the decoded
  text) placed on the policy's sampled tokens, by character spans (the two tokenisations need not
  agree: a sampled token sequence need not be the canonical one);
- :func:`policy_update`: micro-batched clipped-surrogate step(s) on a batch of rollouts;
- :func:`reward_auroc`: the validation measurement that selects ``best/reward_model`` (docs/METHOD.md; the
  policy's is :class:`reasoning_irl.trainers.sft.PolicySelection`, shared with the baselines);
- :class:`CollapseMonitor`: warnings (and an optional stop) when adversarial training collapses.
"""

from __future__ import annotations

import logging
import math
from bisect import bisect_left
from collections.abc import Sequence
from contextlib import nullcontext
from typing import Any

import torch
from torch import nn

from reasoning_irl import distributed
from reasoning_irl.config.algo import AlgoConfig
from reasoning_irl.config.training import LR_SCHEDULERS
from reasoning_irl.models.encoding import encode
from reasoning_irl.rl.logprobs import completion_logprobs
from reasoning_irl.rl.policy_loss import aggregate_loss, clipped_surrogate, reference_logprobs
from reasoning_irl.rl.rollout import PolicyBatch, Rollouts

log = logging.getLogger("reasoning_irl")


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


# --------------------------------------------------------------------------------------------------
# Rewards → policy tokens


def _token_char_ends(tokenizer, prompt: Any, text: str, ids: Sequence[int]) -> list[int]:
    """End character (in ``text``) of each sampled token; a trailing special token (EOS) ends at len(text)."""
    encoded = encode(tokenizer, prompt, text, append_eos=False)
    content = list(ids)
    while content and content[-1] in tokenizer.all_special_ids:
        content = content[:-1]
    if encoded.completion_ids == content:  # canonical tokenisation: exact spans from the offset mapping
        ends = [end for _, end in encoded.completion_offsets]
    else:  # decode prefix by prefix (O(T²) characters, only for non-canonical samples)
        ends = [len(tokenizer.decode(content[: i + 1], skip_special_tokens=True)) for i in range(len(content))]
    return ends + [len(text)] * (len(ids) - len(content))


def align_rewards(scored: Sequence[Any], rollouts: Rollouts, prompts: Sequence[Any], tokenizer,
                  width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token rewards ``(N, width)`` and scored mask on the policy's sampled tokens.

    A reward at a scored position of the reward model's encoding goes to the sampled token holding the
    last character of that position's span; the appended EOS (an empty span at the end of the text)
    goes to the last sampled token (the policy's EOS when it stopped). Rewards landing on one token add
    up, so every completion's return Σ_t r_t is preserved exactly.
    """
    rewards = torch.zeros(len(rollouts), width)
    scored_mask = torch.zeros(len(rollouts), width, dtype=torch.bool)
    for row, (sample, ids, text) in enumerate(zip(scored, rollouts.completion_ids, rollouts.completion_text)):
        if not ids:
            continue
        ends = _token_char_ends(tokenizer, prompts[row], text, ids)
        last = len(ids) - 1
        for position in sample.positions:
            if position.end > position.start:
                index = bisect_left(ends, position.end)
            elif position.start >= len(text):
                index = last
            else:
                index = bisect_left(ends, position.start + 1)
            index = min(index, last)
            rewards[row, index] += position.reward
            scored_mask[row, index] = True
    return rewards, scored_mask


# --------------------------------------------------------------------------------------------------
# The policy step


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


# --------------------------------------------------------------------------------------------------
# Validation measurements


def reward_auroc(discriminator: Any, experts: Sequence[Any], perturbed: Sequence[Any]) -> float:
    """AUROC of the reward model's sequence scores: expert traces (1) against perturbed traces (0)."""
    from reasoning_irl.eval.calibration import auroc

    samples = list(experts) + list(perturbed)
    if not experts or not perturbed:
        return math.nan
    scored = discriminator.reward_model.score([s.prompt for s in samples], [s.completion for s in samples])
    labels = [1] * len(experts) + [0] * len(perturbed)
    return float(auroc(labels, [s.sequence_score for s in scored]))


# --------------------------------------------------------------------------------------------------
# Collapse monitors


class CollapseMonitor:
    """Flags the failure modes of adversarial training (docs/METHOD.md §10.24).

    - the discriminator's accuracy pinned at ≥ 0.99 for ``patience`` consecutive policy steps (the
      policy gets no useful gradient);
    - the strict-format rate of the rollouts below half its value at the first policy step;
    - the mean completion length below half its first value, or every completion cut at
      ``max_new_tokens``.
    Each returns a message; the trainer logs them as warnings and stops when ``stop_on_collapse``.
    """

    def __init__(self, patience: int, max_new_tokens: int) -> None:
        self.patience = patience
        self.max_new_tokens = max_new_tokens
        self.pinned = 0
        self.initial_format: float | None = None
        self.initial_length: float | None = None
        self.initial_finished: float | None = None

    def check(self, accuracy: float | None, format_rate: float, mean_length: float, finished_rate: float) -> list[str]:
        if self.initial_format is None:
            self.initial_format, self.initial_length, self.initial_finished = format_rate, mean_length, finished_rate
        problems = []
        self.pinned = self.pinned + 1 if accuracy is not None and accuracy >= 0.99 else 0
        if self.pinned >= self.patience:
            problems.append(f"discriminator accuracy ≥ 0.99 for {self.pinned} policy steps")
        if self.initial_format > 0 and format_rate < 0.5 * self.initial_format:
            problems.append(f"format rate fell to {format_rate:.2f} (was {self.initial_format:.2f})")
        if self.initial_length and mean_length < 0.5 * self.initial_length:
            problems.append(f"mean completion length fell to {mean_length:.1f} tokens (was {self.initial_length:.1f})")
        if finished_rate == 0.0 and self.initial_finished:
            problems.append(f"no completion ends before max_new_tokens={self.max_new_tokens}")
        return problems

    def state_dict(self) -> dict[str, Any]:
        return {"pinned": self.pinned, "initial_format": self.initial_format, "initial_length": self.initial_length,
                "initial_finished": self.initial_finished}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.pinned = state["pinned"]
        self.initial_format, self.initial_length = state["initial_format"], state["initial_length"]
        self.initial_finished = state["initial_finished"]


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
