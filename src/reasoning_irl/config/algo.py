"""Config group ``algo``: how rewards become advantages and how the policy loss is formed."""

from __future__ import annotations

from dataclasses import dataclass

ADVANTAGES = ("group", "discounted", "rloo", "segment", "average_dense")
LOSS_AGGREGATIONS = ("grpo", "bnpo", "dr_grpo", "dapo")


@dataclass
class AlgoConfig:
    #: ``group`` (GRPO: one group-normalised value per completion), ``discounted`` (token-level
    #: reward-to-go with ``gamma``), ``rloo`` (leave-one-out baseline), ``segment`` (per-step rewards
    #: normalised over the group), ``average_dense`` (the reference code's: the group-normalised mean over
    #: the completion's tokens of the clipped score backfilled from the next scored position; docs/METHOD.md §6).
    #: Dense and step rewards give real token-level credit with ``discounted`` and ``segment`` only.
    advantage: str = "group"
    #: Discount of the reward-to-go for ``advantage=discounted``.
    gamma: float = 1.0
    #: Divide group-centred rewards by the group's standard deviation (GRPO's scaling).
    scale_rewards: bool = True
    #: Loss aggregation over tokens: ``grpo`` (per-sequence mean, then batch mean), ``bnpo`` (mean over
    #: all tokens), ``dr_grpo`` (sum / (batch × max completion length)), ``dapo`` (token-level mean over
    #: the whole generation batch).
    loss_aggregation: str = "dapo"
    #: PPO clip range: ratio clipped to [1 − clip_low, 1 + clip_high].
    clip_low: float = 0.2
    clip_high: float = 0.2
    #: Weight of the k3 KL penalty to the reference policy (0 = no reference model is kept).
    kl_beta: float = 0.0
    #: Mix verifiable outcome rewards (format + correctness) into the learned reward (off: verifier-free).
    use_outcome_rewards: bool = False
    #: Weight of the outcome rewards when mixed in.
    outcome_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.advantage not in ADVANTAGES:
            raise ValueError(f"algo.advantage={self.advantage!r} is not supported; use one of {', '.join(ADVANTAGES)}")
        if self.loss_aggregation not in LOSS_AGGREGATIONS:
            raise ValueError(f"algo.loss_aggregation={self.loss_aggregation!r} is not supported; "
                             f"use one of {', '.join(LOSS_AGGREGATIONS)}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"algo.gamma={self.gamma} must be in [0, 1]")
        if self.clip_low < 0 or self.clip_high < 0 or self.clip_low >= 1:
            raise ValueError(
                f"algo.clip_low={self.clip_low} must be in [0, 1) and algo.clip_high={self.clip_high} >= 0"
            )
        if self.kl_beta < 0:
            raise ValueError(f"algo.kl_beta={self.kl_beta} must be >= 0")
