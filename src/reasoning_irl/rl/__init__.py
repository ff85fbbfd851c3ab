"""The RL core: rollouts, per-token log-probs, advantages and the clipped-surrogate policy loss."""

from reasoning_irl.rl.advantages import compute_advantages
from reasoning_irl.rl.logprobs import completion_logprobs
from reasoning_irl.rl.policy_loss import aggregate_loss, clipped_surrogate, make_reference, reference_logprobs
from reasoning_irl.rl.rollout import PolicyBatch, Rollouts, generate_rollouts, policy_batch

__all__ = [
    "PolicyBatch",
    "Rollouts",
    "aggregate_loss",
    "clipped_surrogate",
    "completion_logprobs",
    "compute_advantages",
    "generate_rollouts",
    "make_reference",
    "policy_batch",
    "reference_logprobs",
]
