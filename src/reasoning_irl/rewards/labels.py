"""Discriminator samples and their labels at the scored positions (``discriminator.label_positions``).

``prefix`` (default, the run that worked; docs/METHOD.md), for scored positions p_1 … p_K:

- an expert trace is positive (1) at every p_k;
- a perturbed expert trace is positive at p_k < c and negative (0) at p_k ≥ c, where c is its first
  changed token (the token holding the first changed character): a prefix that ends before the change
  is an expert prefix;
- a policy sample is negative at every p_k.

``last``: as ``prefix``, except that a policy sample is labelled only at its last position (its prefix
may be perfectly fine).

``first_change``: as ``prefix``, except that a perturbed trace is negative only at p_k, the first scored
position at or after c, and unlabelled after it. With segment logits (the ``airl`` form) a later
segment that is right given the changed one is not an error of its own.

``sequence``: the reference code's labels — every position of a sequence has the sequence's label,
so a perturbed trace is negative at every p_k, also before its change (experts and policy samples as
``prefix``).

A perturbed trace whose first change lies past its kept tokens (cut by ``max_length``) is an expert
prefix with nothing perturbed in it: it is left unlabelled (it adds nothing to the loss).

Every sequence's labelled positions share a total weight of 1 (w = 1/#labelled), so each sequence
counts once in the class means of the losses, whatever its length or granularity
(``discriminator.position_weights=sequence``); with ``token`` every labelled position weighs 1, so the
class means run over positions (the feasibility run's class balance over tokens).

Verifier-free: ``correct`` is read only with ``discriminator.relabel_correct_samples=true``; a policy
sample marked correct is then labelled like an expert trace.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reasoning_irl.config.reward import LABEL_POSITIONS, POSITION_WEIGHTS
from reasoning_irl.rewards.positions import token_containing

KINDS = ("expert", "perturbed", "policy")


@dataclass
class DiscriminatorSample:
    """One sequence for the discriminator; ``kind`` says where it came from (not its label)."""

    prompt: Any
    completion: str
    kind: str
    #: Groups an expert with the negatives of the same problem (pairs of the ``bradley_terry`` loss).
    problem_id: str | None = None
    #: Perturbed traces: first character that differs from the expert trace (from the perturbation).
    first_changed_char: int | None = None
    #: Explicit step strings (else the steps come from ``segment_steps``).
    steps: list[str] | None = None
    #: Policy samples: whether the answer is correct; read only with relabel_correct_samples.
    correct: bool | None = None
    #: ``airl``: the policy's log-probability of each completion token (same tokenizer as the reward
    #: model; the appended EOS included when ``reward.append_eos``).
    policy_logprobs: Sequence[float] | None = None
    #: Policy samples: whether the rollout ended (its EOS sampled); False = cut by max_new_tokens, scored
    #: without an appended EOS and without the terminal potential.
    finished: bool = True

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"sample kind {self.kind!r} is unknown; use one of {', '.join(KINDS)}")
        if self.kind == "perturbed" and self.first_changed_char is None:
            raise ValueError("a perturbed sample needs first_changed_char (from its Perturbation)")


def position_labels(
    sample: DiscriminatorSample,
    positions: Sequence[int],
    offsets: Sequence[tuple[int, int]],
    label_positions: str = "prefix",
    relabel_correct_samples: bool = False,
    policy_weight: float = 1.0,
    position_weights: str = "sequence",
    expert_weight: float = 1.0,
) -> tuple[list[int], list[float], list[float]]:
    """(indices k into ``positions`` that are labelled, their labels, their weights). A policy sample that
    stays negative weighs ``policy_weight`` times a perturbed expert (``discriminator.policy_weight``);
    ``position_weights`` (``discriminator.position_weights``): ``sequence`` gives a sequence's labelled
    positions a total weight of 1, ``token`` a weight of 1 each. An expert trace weighs ``expert_weight``
    times that (``discriminator.expert_weight``; 0 = not labelled); a relabelled policy sample keeps 1."""
    if position_weights not in POSITION_WEIGHTS:
        raise ValueError(f"unknown position_weights {position_weights!r}; use one of {', '.join(POSITION_WEIGHTS)}")
    kind = sample.kind
    if kind == "policy" and relabel_correct_samples:
        if sample.correct is None:
            raise ValueError(
                "discriminator.relabel_correct_samples=true needs every policy sample's correctness "
                "(DiscriminatorSample.correct); grade the samples or turn the flag off"
            )
        if sample.correct:
            kind = "expert"
    count = len(positions)
    if sample.kind == "expert" and expert_weight != 1.0:
        if expert_weight == 0:
            return [], [], []
        share = 1.0 / count if position_weights == "sequence" else 1.0
        return list(range(count)), [1.0] * count, [expert_weight * share] * count
    if kind == "expert":
        indices, labels = list(range(count)), [1.0] * count
    elif kind == "perturbed" and label_positions == "sequence":
        indices, labels = list(range(count)), [0.0] * count
    elif kind == "perturbed":
        changed_token = token_containing(offsets, sample.first_changed_char)
        if changed_token >= len(offsets):  # the change was cut off (max_length): an expert prefix, no negative
            return [], [], []
        before = [k for k in range(count) if positions[k] < changed_token]
        after = [k for k in range(count) if positions[k] >= changed_token]
        if label_positions == "first_change":
            after = after[:1]
        indices, labels = before + after, [1.0] * len(before) + [0.0] * len(after)
    elif label_positions in LABEL_POSITIONS:
        indices = [count - 1] if label_positions == "last" else list(range(count))
        labels = [0.0] * len(indices)
        share = 1.0 / len(indices) if position_weights == "sequence" else 1.0
        return indices, labels, [policy_weight * share] * len(indices)
    else:
        raise ValueError(f"unknown label_positions {label_positions!r}; use one of {', '.join(LABEL_POSITIONS)}")
    return indices, labels, [1.0 / len(indices) if position_weights == "sequence" else 1.0] * len(indices)
