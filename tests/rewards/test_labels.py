"""Label positions: prefix labels of perturbed traces, `last` for policy samples, verifier-free default."""

import pytest

from reasoning_irl.rewards.labels import DiscriminatorSample, position_labels

OFFSETS = [(i, i + 1) for i in range(10)]  # one token per character
POSITIONS = [1, 4, 7, 9]


def test_expert_positive_everywhere_and_each_sequence_counts_once():
    indices, labels, weights = position_labels(DiscriminatorSample("p", "x" * 10, "expert"), POSITIONS, OFFSETS)
    assert indices == [0, 1, 2, 3] and labels == [1.0] * 4 and sum(weights) == pytest.approx(1.0)


def test_perturbed_positive_before_the_first_changed_token_negative_from_it():
    sample = DiscriminatorSample("p", "x" * 10, "perturbed", first_changed_char=4)
    _, labels, _ = position_labels(sample, POSITIONS, OFFSETS)
    assert labels == [1.0, 0.0, 0.0, 0.0]  # position 4 holds the change: negative
    sample = DiscriminatorSample("p", "x" * 10, "perturbed", first_changed_char=5)
    assert position_labels(sample, POSITIONS, OFFSETS)[1] == [1.0, 1.0, 0.0, 0.0]


def test_first_change_labels_the_changed_segment_and_nothing_after_it():
    sample = DiscriminatorSample("p", "x" * 10, "perturbed", first_changed_char=4)
    indices, labels, weights = position_labels(sample, POSITIONS, OFFSETS, "first_change")
    assert (indices, labels) == ([0, 1], [1.0, 0.0]) and sum(weights) == pytest.approx(1.0)
    sample = DiscriminatorSample("p", "x" * 10, "perturbed", first_changed_char=5)
    assert position_labels(sample, POSITIONS, OFFSETS, "first_change")[:2] == ([0, 1, 2], [1.0, 1.0, 0.0])
    policy = DiscriminatorSample("p", "x" * 10, "policy")
    assert position_labels(policy, POSITIONS, OFFSETS, "first_change")[1] == [0.0] * 4  # as prefix


def test_policy_samples_prefix_or_last():
    sample = DiscriminatorSample("p", "x" * 10, "policy")
    assert position_labels(sample, POSITIONS, OFFSETS, "prefix")[1] == [0.0] * 4
    indices, labels, weights = position_labels(sample, POSITIONS, OFFSETS, "last")
    assert (indices, labels, weights) == ([3], [0.0], [1.0])


def test_gold_answers_change_labels_only_when_asked():
    correct = DiscriminatorSample("p", "x" * 10, "policy", correct=True)
    assert position_labels(correct, POSITIONS, OFFSETS)[1] == [0.0] * 4  # verifier-free default
    assert position_labels(correct, POSITIONS, OFFSETS, relabel_correct_samples=True)[1] == [1.0] * 4
    with pytest.raises(ValueError, match="correctness"):
        position_labels(DiscriminatorSample("p", "x", "policy"), [0], [(0, 1)], relabel_correct_samples=True)


def test_bad_samples_are_refused():
    with pytest.raises(ValueError, match="first_changed_char"):
        DiscriminatorSample("p", "x", "perturbed")
    with pytest.raises(ValueError, match="kind"):
        DiscriminatorSample("p", "x", "negative")


@pytest.mark.parametrize("label_positions", ["prefix", "first_change", "last"])
def test_a_perturbation_cut_off_by_truncation_labels_nothing(label_positions):
    """The kept tokens of a trace cut before its first change are an expert prefix, not a negative:
    the sample is left unlabelled (labelling it positive everywhere would count a copy of the expert)."""
    sample = DiscriminatorSample("p", "x" * 15, "perturbed", first_changed_char=12)  # offsets cover 10 chars
    assert position_labels(sample, POSITIONS, OFFSETS, label_positions) == ([], [], [])


def test_token_weights_count_every_position_once():
    expert = DiscriminatorSample("p", "x" * 10, "expert")
    perturbed = DiscriminatorSample("p", "x" * 10, "perturbed", first_changed_char=5)
    policy = DiscriminatorSample("p", "x" * 10, "policy")
    for sample in (expert, perturbed):
        indices, labels, weights = position_labels(sample, POSITIONS, OFFSETS, position_weights="token")
        assert weights == [1.0] * len(indices)
        # the labels are those of the default weighting, only the weights differ
        assert (indices, labels) == position_labels(sample, POSITIONS, OFFSETS)[:2]
    assert position_labels(policy, POSITIONS, OFFSETS, policy_weight=0.5, position_weights="token")[2] == [0.5] * 4
    assert position_labels(policy, POSITIONS, OFFSETS, "last", position_weights="token")[2] == [1.0]
    with pytest.raises(ValueError, match="position_weights 'tokens'"):
        position_labels(expert, POSITIONS, OFFSETS, position_weights="tokens")
