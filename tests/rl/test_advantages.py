"""Advantages computed by hand: group normalisation, leave-one-out, reward-to-go, segments."""

import math

import pytest
import torch

from reasoning_irl.config.algo import AlgoConfig
from reasoning_irl.rl.advantages import EPS, compute_advantages


def _algo(advantage: str, **kwargs) -> AlgoConfig:
    return AlgoConfig(advantage=advantage, **kwargs)


def test_group_normalises_returns_within_the_group_and_broadcasts():
    # Returns R = [1, 2, 3]: mean 2, unbiased std 1 → A = [−1, 0, 1] / (1 + ε), on real tokens only.
    rewards = torch.tensor([[0.5, 0.5, 0.0], [2.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    mask = torch.tensor([[1, 1, 0], [1, 0, 0], [1, 1, 1]])
    got = compute_advantages(rewards, mask, mask, _algo("group"), group_size=3)
    a = 1 / (1 + EPS)
    assert torch.allclose(got, torch.tensor([[-a, -a, 0.0], [0.0, 0.0, 0.0], [a, a, a]]))


def test_group_with_all_equal_returns_gives_zeros_not_nan():
    rewards = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [3.0, 3.0]])
    mask = torch.ones(4, 2)
    got = compute_advantages(rewards, mask, mask, _algo("group"), group_size=2)
    # Group 0: returns 1, 1 → zeros. Group 1: returns 1, 6 → ∓(2.5 / (std=3.5355 + ε)).
    assert not torch.isnan(got).any()
    assert torch.equal(got[:2], torch.zeros(2, 2))
    expected = 2.5 / (math.sqrt(12.5) + EPS)
    assert torch.allclose(got[2:], torch.tensor([[-expected] * 2, [expected] * 2]))


def test_groups_are_prompt_major_and_independent():
    rewards = torch.tensor([[1.0], [3.0], [10.0], [10.0]])
    mask = torch.ones(4, 1)
    got = compute_advantages(rewards, mask, mask, _algo("group", scale_rewards=False), group_size=2)
    assert torch.equal(got.squeeze(-1), torch.tensor([-1.0, 1.0, 0.0, 0.0]))


def test_rloo_subtracts_the_mean_of_the_others():
    # R = [1, 2, 6]: baselines (2+6)/2 = 4, (1+6)/2 = 3.5, (1+2)/2 = 1.5 → A = [−3, −1.5, 4.5].
    rewards = torch.tensor([[1.0, 0.0], [1.0, 1.0], [6.0, 0.0]])
    mask = torch.tensor([[1, 0], [1, 1], [1, 1]])
    got = compute_advantages(rewards, mask, mask, _algo("rloo", scale_rewards=False), group_size=3)
    assert torch.allclose(got, torch.tensor([[-3.0, 0.0], [-1.5, -1.5], [4.5, 4.5]]))
    scaled = compute_advantages(rewards, mask, mask, _algo("rloo", scale_rewards=True), group_size=3)
    std = torch.tensor([1.0, 2.0, 6.0]).std().item()  # unbiased: sqrt(7)
    assert torch.allclose(scaled, got / (std + EPS))


def test_rloo_needs_two_generations():
    with pytest.raises(ValueError, match="num_generations >= 2"):
        compute_advantages(torch.ones(2, 1), torch.ones(2, 1), torch.ones(2, 1), _algo("rloo"), group_size=1)


def test_discounted_dense_reward_to_go_by_hand():
    # Dense rewards, G = 2: row 0 [1, 3, ·] (K = 2, R = 4; its third token is padding), row 1 [2, 2, 2]
    # (K = 3, R = 6). Mean return 5, spread over each completion's scored positions: 5/2 and 5/3 →
    # r̃ row 0 = [−1.5, 0.5], row 1 = [1/3] × 3. γ = 0.5: row 0 A = [−1.5 + 0.25, 0.5];
    # row 1 A = [1/3 + 0.5·(1/3 + 0.5/3), 1/3 + 1/6, 1/3].
    rewards = torch.tensor([[1.0, 3.0, 0.0], [2.0, 2.0, 2.0]])
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    algo = _algo("discounted", gamma=0.5, scale_rewards=False)
    got = compute_advantages(rewards, mask, mask, algo, group_size=2)
    assert torch.allclose(got, torch.tensor([[-1.25, 0.5, 0.0], [7 / 12, 0.5, 1 / 3]]))
    # Scaled: divided by the unbiased std of the returns [4, 6], sqrt(2) (+ ε).
    scaled = compute_advantages(rewards, mask, mask, _algo("discounted", gamma=0.5), group_size=2)
    assert torch.allclose(scaled, got / (math.sqrt(2) + EPS))
    assert scaled[0, 0] != scaled[0, 1]  # token-level credit within one completion


def test_discounted_step_rewards_credit_only_later_steps():
    # Step rewards at positions 1 and 3 (row 0: R = 5, K = 2) and 3 (row 1: R = 1, K = 1). Mean return 3:
    # r̃ row 0: t1 1 − 1.5, t3 4 − 1.5; row 1: t3 1 − 3. γ = 1 → row 0 = [2, 2, 2.5, 2.5], row 1 = [−2] × 4.
    rewards = torch.tensor([[0.0, 1.0, 0.0, 4.0], [0.0, 0.0, 0.0, 1.0]])
    scored = torch.tensor([[0, 1, 0, 1], [0, 0, 0, 1]])
    mask = torch.ones(2, 4)
    got = compute_advantages(rewards, mask, scored, _algo("discounted", scale_rewards=False), group_size=2)
    assert torch.equal(got, torch.tensor([[2.0, 2.0, 2.5, 2.5], [-2.0, -2.0, -2.0, -2.0]]))
    assert len(set(got[0].tolist())) > 1


def test_discounted_dense_baseline_does_not_depend_on_length():
    """Per-token rewards −1 × 2 (return −2) against −0.6 × 5 (return −3): the shorter completion is the
    better one. A baseline of the pooled per-position mean (−5/7 at every token) credited the longer one
    (+0.57 against −0.57); the group's mean return spread over each completion's positions does not."""
    rewards = torch.tensor([[-1.0, -1.0, 0, 0, 0], [-0.6] * 5])
    mask = torch.tensor([[1, 1, 0, 0, 0], [1] * 5])
    got = compute_advantages(rewards, mask, mask, _algo("discounted", scale_rewards=False), group_size=2)
    assert torch.allclose(got[:, 0], torch.tensor([0.5, -0.5]))
    # For any lengths and dense rewards, γ = 1: the first token's advantage is GRPO's.
    generator = torch.Generator().manual_seed(0)
    lengths = torch.tensor([3, 5, 2, 4, 5, 1])
    mask = (torch.arange(5)[None, :] < lengths[:, None]).float()
    rewards = torch.randn(6, 5, generator=generator) * mask
    got = compute_advantages(rewards, mask, mask, _algo("discounted"), group_size=3)
    expected = compute_advantages(rewards, mask, mask, _algo("group"), group_size=3)
    assert torch.allclose(got[:, 0], expected[:, 0], atol=1e-5)


def test_segment_broadcasts_each_steps_normalised_reward_to_its_tokens():
    # Same rewards: row 0 segments {0, 1} → −1 and {2, 3} → +2; row 1 one segment → −1.
    rewards = torch.tensor([[0.0, 1.0, 0.0, 4.0], [0.0, 0.0, 0.0, 1.0]])
    scored = torch.tensor([[0, 1, 0, 1], [0, 0, 0, 1]])
    mask = torch.ones(2, 4)
    got = compute_advantages(rewards, mask, scored, _algo("segment", scale_rewards=False), group_size=2)
    assert torch.equal(got, torch.tensor([[-1.0, -1.0, 2.0, 2.0], [-1.0, -1.0, -1.0, -1.0]]))


def test_segment_tokens_after_the_last_scored_position_join_the_last_segment():
    rewards = torch.tensor([[3.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    scored = torch.tensor([[1, 0, 0], [1, 0, 0]])
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    got = compute_advantages(rewards, mask, scored, _algo("segment", scale_rewards=False), group_size=2)
    assert torch.equal(got, torch.tensor([[1.0, 1.0, 1.0], [-1.0, -1.0, 0.0]]))


@pytest.mark.parametrize("advantage", ["discounted", "segment"])
def test_sparse_reward_reduces_to_group(advantage):
    # One reward at each completion's last token: reward-to-go with γ = 1 and the single segment both
    # give the GRPO advantage on every token.
    generator = torch.Generator().manual_seed(0)
    lengths = torch.tensor([3, 5, 2, 4, 5, 1])
    mask = (torch.arange(5)[None, :] < lengths[:, None]).float()
    scored = torch.zeros(6, 5)
    scored[torch.arange(6), lengths - 1] = 1
    rewards = torch.randn(6, 5, generator=generator) * scored
    got = compute_advantages(rewards, mask, scored, _algo(advantage), group_size=3)
    expected = compute_advantages(rewards, mask, scored, _algo("group"), group_size=3)
    assert torch.allclose(got, expected, atol=1e-6)


def test_outcome_rewards_are_added_only_when_enabled():
    rewards = torch.zeros(2, 2)
    mask = torch.ones(2, 2)
    outcome = torch.tensor([0.0, 2.0])
    off = compute_advantages(rewards, mask, mask, _algo("group"), group_size=2, outcome_rewards=outcome)
    assert torch.equal(off, torch.zeros(2, 2))
    on = compute_advantages(
        rewards, mask, mask, _algo("group", use_outcome_rewards=True, outcome_weight=0.5, scale_rewards=False),
        group_size=2, outcome_rewards=outcome,
    )
    assert torch.equal(on, torch.tensor([[-0.5, -0.5], [0.5, 0.5]]))


def test_shape_errors_name_the_shapes():
    with pytest.raises(ValueError, match="same"):
        compute_advantages(torch.zeros(2, 3), torch.zeros(2, 2), torch.zeros(2, 3), _algo("group"), group_size=2)
