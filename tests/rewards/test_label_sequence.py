"""``discriminator.label_positions=sequence``: the reference's labels (docs/METHOD.md §4) — every supervised
position of a sequence has the sequence's label, so a perturbed trace is negative everywhere, even
before its change."""

import pytest

from reasoning_irl.config.reward import DiscriminatorConfig
from reasoning_irl.rewards.labels import DiscriminatorSample, position_labels

OFFSETS = [(i, i + 1) for i in range(10)]
POSITIONS = [1, 4, 7, 9]


def test_perturbed_trace_is_negative_at_every_position():
    sample = DiscriminatorSample("p", "x" * 10, "perturbed", first_changed_char=5)
    indices, labels, weights = position_labels(sample, POSITIONS, OFFSETS, "sequence")
    assert (indices, labels) == ([0, 1, 2, 3], [0.0] * 4) and sum(weights) == pytest.approx(1.0)
    assert position_labels(sample, POSITIONS, OFFSETS, "prefix")[1] == [1.0, 1.0, 0.0, 0.0]  # ours differs


def test_experts_and_policy_samples_as_prefix():
    expert = DiscriminatorSample("p", "x" * 10, "expert")
    assert position_labels(expert, POSITIONS, OFFSETS, "sequence")[1] == [1.0] * 4
    policy = DiscriminatorSample("p", "x" * 10, "policy", correct=True)
    assert position_labels(policy, POSITIONS, OFFSETS, "sequence")[1] == [0.0] * 4
    assert position_labels(policy, POSITIONS, OFFSETS, "sequence", relabel_correct_samples=True)[1] == [1.0] * 4
    assert DiscriminatorConfig(label_positions="sequence").label_positions == "sequence"
