"""Discriminator losses over labelled positions: class-balanced BCE, Bradley–Terry, WGAN with penalty.

The discriminator sees *labelled positions*: logits z_i, labels y_i ∈ {0, 1} (1 = expert-like) and
weights w_i > 0, where the positions of one sequence share a total weight of 1 so that each sequence
counts once however many positions it has (:mod:`reasoning_irl.rewards.labels`). With P = {i: y_i = 1}
and N = {i: y_i = 0} and the weighted class mean mean_P(x) = Σ_{i∈P} w_i x_i / Σ_{i∈P} w_i:

- BCE, class-balanced with label smoothing ε (targets 1 − ε and ε):
  L = ½·mean_P(ℓ(z, 1 − ε)) + ½·mean_N(ℓ(z, ε)), ℓ(z, t) = −t·log σ(z) − (1 − t)·log(1 − σ(z)).
- WGAN critic (Arjovsky et al. 2017; Gulrajani et al. 2017 for the penalty):
  L = mean_N(z) − mean_P(z) + λ·E_x̂[(‖∇_x̂ f(x̂)‖₂ − 1)²], x̂ interpolating expert and negative inputs.
- Bradley–Terry, pairwise with margin m over (expert, negative) pairs of the same problem:
  L = mean_pairs softplus(−(s_expert − s_negative − m)) = −mean log σ(s_expert − s_negative − m).

When one class has no labelled position, BCE and WGAN use the other class's term alone (weight 1).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F


def _check(logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor) -> None:
    if not (logits.shape == labels.shape == weights.shape) or logits.dim() != 1:
        raise ValueError(
            f"logits, labels and weights must be 1-D and of one shape, got {tuple(logits.shape)}, "
            f"{tuple(labels.shape)}, {tuple(weights.shape)}"
        )
    if logits.numel() == 0:
        raise ValueError("no labelled position in the batch: nothing to train the discriminator on")


def balanced_coefficients(labels: torch.Tensor, weights: torch.Tensor, halve: bool = True) -> torch.Tensor:
    """c_i = w_i / Σ_{j in i's class} w_j, times ½ when ``halve`` and both classes are present.

    Σ_i c_i·x_i is then ½·mean_P(x) + ½·mean_N(x) (``halve``) or mean_P(x) + mean_N(x). Computing the
    coefficients once over a whole batch and summing c_i·x_i over micro-batches gives the exact batch
    loss under gradient accumulation.
    """
    positive = labels > 0.5
    total_pos = (weights * positive).sum()
    total_neg = (weights * ~positive).sum()
    classes = int(bool(positive.any())) + int(bool((~positive).any()))
    scale = 1.0 / classes if halve and classes else 1.0
    per_class = torch.where(positive, total_pos, total_neg).clamp_min(torch.finfo(weights.dtype).tiny)
    return scale * weights / per_class


def class_balanced_bce(
    logits: torch.Tensor,
    labels: torch.Tensor,
    weights: torch.Tensor,
    label_smoothing: float = 0.0,
    coefficients: torch.Tensor | None = None,
) -> torch.Tensor:
    """½·mean_P BCE(z, 1 − ε) + ½·mean_N BCE(z, ε) over labelled positions (shapes: (M,)).

    ``coefficients`` (from :func:`balanced_coefficients` over the whole batch) replace the ones computed
    from this call's positions: pass them when summing over micro-batches.
    """
    _check(logits, labels, weights)
    positive = labels > 0.5
    targets = torch.where(positive, 1.0 - label_smoothing, label_smoothing).to(logits.dtype)
    per_position = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    if coefficients is None:
        coefficients = balanced_coefficients(labels, weights, halve=True)
    return (coefficients * per_position).sum()


def wgan_critic_loss(
    logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor, coefficients: torch.Tensor | None = None
) -> torch.Tensor:
    """mean_N(z) − mean_P(z): the critic raises expert scores and lowers negative ones (no penalty)."""
    _check(logits, labels, weights)
    if coefficients is None:
        coefficients = balanced_coefficients(labels, weights, halve=False)
    sign = torch.where(labels > 0.5, -1.0, 1.0).to(logits.dtype)
    return (coefficients * sign * logits).sum()


def gradient_penalty(critic_values: torch.Tensor, interpolated: torch.Tensor, coefficient: float) -> torch.Tensor:
    """λ·mean_b (‖∂f(x̂_b)/∂x̂_b‖₂ − 1)² with the norm over all of sample b's input embeddings.

    ``critic_values`` (B,) must have been computed from ``interpolated`` (B, T, D), which requires
    grad; the penalty keeps the graph (``create_graph``), so it trains the critic's parameters.
    """
    if not interpolated.requires_grad:
        raise ValueError("the interpolated embeddings must require grad for the gradient penalty")
    (grads,) = torch.autograd.grad(critic_values.sum(), interpolated, create_graph=True)
    norms = grads.flatten(1).norm(dim=1)  # (B,)
    return coefficient * ((norms - 1.0) ** 2).mean()


def bradley_terry(expert_scores: torch.Tensor, negative_scores: torch.Tensor, margin: float = 0.0) -> torch.Tensor:
    """mean softplus(−(s_e − s_n − m)) over pairs; ``expert_scores[i]`` is paired with ``negative_scores[i]``."""
    if expert_scores.shape != negative_scores.shape or expert_scores.dim() != 1:
        raise ValueError(
            f"paired scores must be 1-D and of one shape, got {tuple(expert_scores.shape)} "
            f"and {tuple(negative_scores.shape)}"
        )
    if expert_scores.numel() == 0:
        raise ValueError(
            "no (expert, negative) pair of the same problem in the batch: the bradley_terry loss needs "
            "each negative's problem to have an expert trace"
        )
    return F.softplus(-(expert_scores - negative_scores - margin)).mean()


def position_accuracy(logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor,
                      labelled: Sequence[tuple[list[int], list[float], list[float]]]) -> dict[str, float]:
    """The discriminator's metrics over labelled positions (weighted by ``weights``): ``acc_pos`` / ``acc_neg``
    (share on the right side of 0), ``logit_pos_mean`` / ``logit_neg_mean``, and ``num_pos`` / ``num_neg``
    (sequences of ``labelled`` with a positive / negative label)."""
    positive = labels > 0.5
    correct = ((logits > 0) == positive).float()

    def weighted(mask: torch.Tensor, values: torch.Tensor) -> float:
        total = float((weights * mask).sum())
        return float((weights * mask * values).sum()) / total if total > 0 else float("nan")

    return {
        "acc_pos": weighted(positive.float(), correct),
        "acc_neg": weighted((~positive).float(), correct),
        "logit_pos_mean": weighted(positive.float(), logits),
        "logit_neg_mean": weighted((~positive).float(), logits),
        "num_pos": float(sum(1 for _, ys, _ in labelled if any(y > 0.5 for y in ys))),
        "num_neg": float(sum(1 for _, ys, _ in labelled if any(y < 0.5 for y in ys))),
    }
