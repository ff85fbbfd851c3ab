"""Clipped surrogate, k3 KL and the four aggregations, against numbers computed by hand."""

import math

import pytest
import torch

from reasoning_irl.rl.policy_loss import aggregate_loss, clipped_surrogate, kl_k3


def test_clipped_surrogate_takes_the_pessimistic_branch():
    # ρ = 1.5 and 0.5 (old log-prob 0), A = ±1, ε = 0.2:
    # ρ=1.5,A=+1 → min(1.5, 1.2) = 1.2; ρ=1.5,A=−1 → min(−1.5, −1.2) = −1.5;
    # ρ=0.5,A=+1 → min(0.5, 0.8) = 0.5; ρ=0.5,A=−1 → min(−0.5, −0.8) = −0.8. Loss = −min.
    logprobs = torch.log(torch.tensor([[1.5, 1.5, 0.5, 0.5]]))
    advantages = torch.tensor([[1.0, -1.0, 1.0, -1.0]])
    out = clipped_surrogate(logprobs, torch.zeros_like(logprobs), advantages, 0.2, 0.2)
    assert torch.allclose(out.loss, torch.tensor([[-1.2, 1.5, -0.5, 0.8]]))
    assert out.clipped.tolist() == [[True, False, False, True]]
    assert out.kl is None


def test_asymmetric_clip_range():
    logprobs = torch.log(torch.tensor([[1.5, 0.5]]))
    out = clipped_surrogate(logprobs, torch.zeros_like(logprobs), torch.tensor([[1.0, -1.0]]), 0.1, 0.3)
    assert torch.allclose(out.loss, torch.tensor([[-1.3, 0.9]]))


def test_on_policy_gradient_is_minus_advantage():
    # With π_old = π_θ detached, ρ = 1 and ∂L/∂logp = −A on every token.
    logprobs = torch.tensor([[-1.0, -2.0]], requires_grad=True)
    advantages = torch.tensor([[0.5, -2.0]])
    out = clipped_surrogate(logprobs, logprobs.detach(), advantages, 0.2, 0.2)
    out.loss.sum().backward()
    assert torch.allclose(logprobs.grad, -advantages)


def test_k3_by_hand_and_added_with_beta():
    # log π = 0, log π_ref = log 2: k3 = 2 − log 2 − 1 = 0.30685.
    logprobs = torch.zeros(1, 1)
    ref = torch.full((1, 1), math.log(2.0))
    assert torch.allclose(kl_k3(logprobs, ref), torch.tensor([[1 - math.log(2.0)]]))
    assert kl_k3(ref, ref).item() == 0.0
    out = clipped_surrogate(logprobs, logprobs, torch.zeros(1, 1), 0.2, 0.2, ref_logprobs=ref, kl_beta=0.1)
    assert torch.allclose(out.loss, torch.tensor([[0.1 * (1 - math.log(2.0))]]))
    with pytest.raises(ValueError, match="reference"):
        clipped_surrogate(logprobs, logprobs, torch.zeros(1, 1), 0.2, 0.2, kl_beta=0.1)


TOKEN_LOSS = torch.tensor([[1.0, 2.0, 3.0], [4.0, 9.0, 9.0]])
MASK = torch.tensor([[1, 1, 1], [1, 0, 0]])


@pytest.mark.parametrize(
    ("aggregation", "expected"),
    [
        ("grpo", 3.0),  # sequence means 2 and 4, averaged
        ("bnpo", 2.5),  # 10 / 4 tokens
        ("dr_grpo", 1.0),  # 10 / (2 sequences × 5 max tokens)
        ("dapo", 2.5),  # 10 / 4 tokens of the whole batch
    ],
)
def test_aggregation_of_one_batch(aggregation, expected):
    got = aggregate_loss(TOKEN_LOSS, MASK, aggregation, num_sequences=2, num_tokens=4, max_completion_length=5)
    assert got.item() == pytest.approx(expected)


@pytest.mark.parametrize(
    ("aggregation", "expected"),
    [
        ("grpo", 3.0),  # 2/2 + 4/2: micro-batching does not change it
        ("bnpo", 3.0),  # (6/3)/2 + (4/1)/2: each micro-batch's own token mean, averaged
        ("dr_grpo", 1.0),
        ("dapo", 2.5),  # 6/4 + 4/4: normalised by the whole batch's tokens
    ],
)
def test_aggregation_shares_over_micro_batches(aggregation, expected):
    shares = [
        aggregate_loss(
            TOKEN_LOSS[rows], MASK[rows], aggregation,
            num_sequences=2, num_tokens=4, max_completion_length=5, num_micro_batches=2,
        )
        for rows in (slice(0, 1), slice(1, 2))
    ]
    assert sum(s.item() for s in shares) == pytest.approx(expected)


def test_unknown_aggregation_is_refused():
    with pytest.raises(ValueError, match="loss_aggregation"):
        aggregate_loss(TOKEN_LOSS, MASK, "mean", num_sequences=2, num_tokens=4, max_completion_length=5)
