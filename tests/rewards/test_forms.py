"""Forms: what the loss sees (logits) and what the policy receives (rewards), on numbers by hand."""

import pytest
import torch

from reasoning_irl.rewards.forms import AirlForm, GailForm, build_form, increments


def test_gail_logits_are_scores_and_rewards_are_increments_of_the_clipped_score():
    q = torch.tensor([0.5, 2.0, 1.0, 7.0])
    form = GailForm()
    assert torch.equal(form.logits(q), q)
    rewards = form.policy_rewards(q)
    assert torch.allclose(rewards, torch.tensor([0.5, 1.5, -1.0, 6.0]))
    assert float(rewards.sum()) == pytest.approx(7.0)  # Σ r_k = q_K: no term counted twice
    clipped = form.policy_rewards(q, temperature=2.0, clip=3.0)  # s = clip(q/2, ±3) = [.25, 1, .5, 3]
    assert torch.allclose(clipped, torch.tensor([0.25, 0.75, -0.5, 2.5]))


def test_airl_shaping_with_terminal_potential_zero_and_detached_log_pi():
    q = torch.tensor([1.0, 3.0, 2.0], requires_grad=True)  # g = [1, 2, -1]
    h = torch.tensor([0.5, 1.0, -1.0, 9.0])  # h_0 … h_3; h_3 is terminal and replaced by 0
    form = AirlForm(gamma=0.9)
    f = form.shaped(q, h)
    expected = torch.tensor([1 + 0.9 * 1.0 - 0.5, 2 + 0.9 * -1.0 - 1.0, -1 + 0.9 * 0.0 + 1.0])
    assert torch.allclose(f, expected)
    log_pi = torch.tensor([-1.0, -2.0, -0.5], requires_grad=True)
    logits = form.logits(q, h, log_pi)
    assert torch.allclose(logits, expected - log_pi.detach())
    logits.sum().backward()
    assert log_pi.grad is None  # log π is detached inside the logit
    assert q.grad is not None
    assert torch.allclose(form.policy_rewards(q, h, clip=0.5), expected.clamp(-0.5, 0.5))


def test_airl_needs_policy_logprobs_and_potentials():
    form = build_form("airl")
    with pytest.raises(ValueError, match="log-probabilities"):
        form.logits(torch.zeros(2), torch.zeros(3), None)
    with pytest.raises(ValueError, match="potentials"):
        form.shaped(torch.zeros(2), torch.zeros(2))
    with pytest.raises(ValueError, match="unknown discriminator form"):
        build_form("gan")


def test_increments():
    assert torch.equal(increments(torch.tensor([1.0, 4.0, 2.0])), torch.tensor([1.0, 3.0, -2.0]))


def test_airl_keeps_the_last_potential_at_a_non_terminal_cut():
    """A truncated trace did not end: its last state is not terminal, so h_K stays (γ·h_K − h_{K−1})."""
    q = torch.tensor([1.0, 3.0])
    h = torch.tensor([0.5, 1.0, 4.0])
    form = AirlForm(gamma=0.9)
    cut = form.shaped(q, h, terminal=False)
    assert torch.allclose(cut, torch.tensor([1 + 0.9 * 1.0 - 0.5, 2 + 0.9 * 4.0 - 1.0]))
    assert torch.allclose(form.policy_rewards(q, h, terminal=False), cut)
    assert torch.allclose(form.logits(q, h, torch.zeros(2), terminal=False), cut)
    assert torch.equal(GailForm().policy_rewards(q, terminal=False), GailForm().policy_rewards(q))


def test_each_form_says_what_it_needs_and_how_a_sequence_is_scored():
    gail, airl = build_form("gail"), build_form("airl")
    logits = torch.tensor([0.5, -1.0, 2.0])
    assert float(gail.sequence_logit(logits)) == 2.0  # the last prefix's logit
    assert float(airl.sequence_logit(logits)) == 1.5  # the sum of the segments'
    assert (gail.needs_policy_logprobs, gail.needs_potential, gail.score_is_logit) == (False, False, True)
    assert (airl.needs_policy_logprobs, airl.needs_potential, airl.score_is_logit) == (True, True, False)
