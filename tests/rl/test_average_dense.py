"""``algo.advantage=average_dense``: the reference's advantage (docs/METHOD.md §6), checked by hand.

The reference gives every completion token the clipped logit of the first scored position at or after
it (its own for dense, the window's for interval, the step's for step, the scalar for sparse), takes
the mean over the completion's tokens as the sequence reward, and group-normalises it. Our rewards are
the increments of the clipped score, so the clipped score at a scored position is their running sum.
"""

import math

import torch

from reasoning_irl.config.algo import AlgoConfig
from reasoning_irl.rl.advantages import EPS, average_dense_returns, compute_advantages


def _example():
    # Completion 0 (interval): scored at t=1 (clipped score 1) and t=3 (score 3) → increments [0, 1, 0, 2];
    # per-token backfilled scores [1, 1, 3, 3], mean 2. Completion 1 (sparse, 3 tokens): score 4 at t=2 →
    # per-token [4, 4, 4], mean 4.
    rewards = torch.tensor([[0.0, 1.0, 0.0, 2.0], [0.0, 0.0, 4.0, 0.0]])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    scored = torch.tensor([[0, 1, 0, 1], [0, 0, 1, 0]], dtype=torch.bool)
    return rewards, mask, scored


def test_sequence_reward_is_the_mean_of_the_backfilled_clipped_scores():
    rewards, mask, scored = _example()
    assert torch.allclose(average_dense_returns(rewards, mask.float(), scored), torch.tensor([2.0, 4.0]))


def test_average_dense_group_normalises_the_mean_and_broadcasts_it():
    rewards, mask, scored = _example()
    got = compute_advantages(rewards, mask, scored, AlgoConfig(advantage="average_dense"), group_size=2)
    a = 1.0 / (math.sqrt(2.0) + EPS)  # R = [2, 4]: mean 3, unbiased std √2
    assert torch.allclose(got, torch.tensor([[-a, -a, -a, -a], [a, a, a, 0.0]]), atol=1e-6)
    # `group` sees the last score only (R = [3, 4]): the same sign here, a different signal in general
    group = compute_advantages(rewards, mask, scored, AlgoConfig(advantage="group"), group_size=2)
    assert not torch.allclose(got, group)


def test_sparse_rewards_give_the_group_advantage():
    rewards = torch.tensor([[0.0, 0.0, 1.5], [0.0, -2.0, 0.0], [0.0, 0.0, 0.5]])
    mask = torch.tensor([[1, 1, 1], [1, 1, 0], [1, 1, 1]])
    scored = torch.tensor([[0, 0, 1], [0, 1, 0], [0, 0, 1]], dtype=torch.bool)
    got = compute_advantages(rewards, mask, scored, AlgoConfig(advantage="average_dense"), group_size=3)
    want = compute_advantages(rewards, mask, scored, AlgoConfig(advantage="group"), group_size=3)
    assert torch.allclose(got, want, atol=1e-6)


def test_an_early_step_error_lowers_the_average_dense_reward_but_not_the_last_score():
    # Two completions ending at the same clipped score 2; the first scored −2 on its first step.
    rewards = torch.tensor([[-2.0, 0.0, 4.0], [1.0, 0.0, 1.0]])
    mask = torch.ones(2, 3)
    scored = torch.tensor([[1, 0, 1], [1, 0, 1]], dtype=torch.bool)
    got = compute_advantages(rewards, mask, scored, AlgoConfig(advantage="average_dense"), group_size=2)
    assert got[0, 0] < 0 < got[1, 0]
    group = compute_advantages(rewards, mask, scored, AlgoConfig(advantage="group"), group_size=2)
    assert torch.equal(group, torch.zeros(2, 3))
