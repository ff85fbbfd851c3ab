"""The clipped-surrogate policy loss with a k3 KL penalty, and how it is aggregated over tokens.

Per completion token t (Schulman et al. 2017; Shao et al. 2024):

    ρ_t   = exp(log π_θ(y_t) − log π_old(y_t))
    L_t   = −min(ρ_t A_t, clip(ρ_t, 1 − ε_low, 1 + ε_high) A_t) + β · k3_t
    k3_t  = exp(log π_ref − log π_θ) − (log π_ref − log π_θ) − 1       (≥ 0, unbiased for KL(π_θ‖π_ref))

Aggregations (``algo.loss_aggregation``), with m_{i,t} the completion mask over the whole batch of
``num_sequences`` completions and ``num_tokens`` = Σ m:

- ``grpo``:    (1/num_sequences) Σ_i (Σ_t m L / Σ_t m)             per-sequence mean, then batch mean
- ``bnpo``:    Σ m L / Σ m over each micro-batch, averaged over micro-batches (TRL's bnpo)
- ``dr_grpo``: Σ m L / (num_sequences × max_completion_length)     (Liu et al. 2025)
- ``dapo``:    Σ m L / num_tokens of the whole batch                (Yu et al. 2025)

``bnpo`` and ``dapo`` agree when one micro-batch holds the whole batch. :func:`aggregate_loss`
returns a micro-batch's *share* of the batch loss: summing the shares of all micro-batches (i.e.
accumulating their gradients) gives the batch loss, whatever the micro-batch size.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from reasoning_irl.config.algo import LOSS_AGGREGATIONS
from reasoning_irl.rl.logprobs import completion_logprobs


def kl_k3(logprobs: torch.Tensor, ref_logprobs: torch.Tensor) -> torch.Tensor:
    """k3 estimator of KL(π_θ‖π_ref) per token: exp(ref − logp) − (ref − logp) − 1."""
    delta = ref_logprobs - logprobs
    return torch.exp(delta) - delta - 1


@dataclass
class TokenLoss:
    """Per-token loss ``(N, T)`` and the per-token quantities logged beside it."""

    loss: torch.Tensor  # (N, T)
    ratio: torch.Tensor  # (N, T), detached
    clipped: torch.Tensor  # (N, T) bool: the clipped branch was active (no gradient flows)
    kl: torch.Tensor | None  # (N, T), detached; None without a reference


def clipped_surrogate(
    logprobs: torch.Tensor,
    old_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    clip_low: float,
    clip_high: float,
    ref_logprobs: torch.Tensor | None = None,
    kl_beta: float = 0.0,
) -> TokenLoss:
    """Per-token clipped surrogate plus β·k3 (all inputs ``(N, T)``; masking is left to aggregation)."""
    ratio = torch.exp(logprobs - old_logprobs)
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1 - clip_low, 1 + clip_high) * advantages
    loss = -torch.minimum(unclipped, clipped)
    kl = None
    if kl_beta > 0:
        if ref_logprobs is None:
            raise ValueError("algo.kl_beta > 0 needs reference log-probs")
        kl = kl_k3(logprobs, ref_logprobs)
        loss = loss + kl_beta * kl
        kl = kl.detach()
    return TokenLoss(loss, ratio.detach(), (clipped < unclipped).detach(), kl)


def aggregate_loss(
    token_loss: torch.Tensor,
    completion_mask: torch.Tensor,
    aggregation: str,
    *,
    num_sequences: int,
    num_tokens: int,
    max_completion_length: int,
    num_micro_batches: int = 1,
) -> torch.Tensor:
    """This micro-batch's share of the batch loss (see the module docstring).

    Args:
        token_loss: ``(n, T)`` per-token loss of the micro-batch.
        completion_mask: ``(n, T)`` 1 on completion tokens.
        num_sequences, num_tokens: completions and completion tokens of the *whole* batch.
        max_completion_length: ``sampling.max_new_tokens`` (``dr_grpo``'s constant normaliser).
        num_micro_batches: how many micro-batches the batch was split into (``bnpo``).
    """
    mask = completion_mask.to(token_loss.dtype)
    masked = token_loss * mask
    if aggregation == "grpo":
        per_sequence = masked.sum(-1) / mask.sum(-1).clamp(min=1)  # (n,)
        return per_sequence.sum() / num_sequences
    if aggregation == "bnpo":
        return masked.sum() / mask.sum().clamp(min=1) / num_micro_batches
    if aggregation == "dr_grpo":
        return masked.sum() / (num_sequences * max_completion_length)
    if aggregation == "dapo":
        return masked.sum() / max(num_tokens, 1)
    raise ValueError(f"algo.loss_aggregation={aggregation!r} is not supported; "
                     f"use one of {', '.join(LOSS_AGGREGATIONS)}")


def make_reference(policy: nn.Module, kl_beta: float) -> nn.Module | None:
    """The frozen reference of the KL penalty.

    None when ``kl_beta == 0`` (no reference kept) or when the policy is a peft model (its reference
    is the same model with the adapter disabled, :func:`reference_logprobs`); otherwise a frozen copy
    of the policy as it is now (its warm start).
    """
    if kl_beta == 0 or hasattr(policy, "disable_adapter"):
        return None
    reference = copy.deepcopy(policy).eval()
    reference.requires_grad_(False)
    return reference


@torch.no_grad()
def reference_logprobs(
    policy: nn.Module,
    reference: nn.Module | None,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    completion_mask: torch.Tensor,
) -> torch.Tensor:
    """``(B, L)`` completion log-probs under the reference (frozen copy, or the LoRA-disabled base)."""
    if reference is not None:
        return completion_logprobs(reference, input_ids, attention_mask, completion_mask)
    if not hasattr(policy, "disable_adapter"):
        raise ValueError("no reference model: pass the frozen copy from make_reference, or use a peft policy")
    with policy.disable_adapter():
        return completion_logprobs(policy, input_ids, attention_mask, completion_mask)
