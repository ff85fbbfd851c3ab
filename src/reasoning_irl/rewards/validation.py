"""Experts against perturbed experts: train a discriminator without a policy, and measure it.

This is the reward model's own validation (docs/METHOD.md: its ``best`` is chosen by the validation
AUROC of experts against held-out perturbed traces), the discriminator warm-up that needs no policy
samples, and what the behavioural tests and ``bench/reward_grid.py`` run.

:func:`reward_auroc` is the trainer's validation AUROC (experts against perturbed experts), which selects
``best/reward_model``.

Measures, on held-out problems (each expert trace and one perturbed copy of it):

- ``auroc``: experts (1) against perturbed traces (0), ranked by the sequence score;
- ``localisation``: the share of perturbed traces whose first step scoring below τ is the truly
  first wrong step (``task.first_error_step`` where the task checks steps, else the perturbation's
  first changed step), τ fitted on validation traces to maximise ProcessBench F1
  (:func:`reasoning_irl.metrics.localisation.fit_threshold`, rule ``below``); with ``f1`` (ProcessBench F1
  on the test traces, experts being the error-free ones) and two chance levels:
  ``chance_uniform_step`` = mean 1/n (a uniformly guessed step of a perturbed trace) and
  ``chance_processbench`` = mean 1/(n+1) (a uniform guess among the steps and "no error").
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import numpy as np

from reasoning_irl.metrics.calibration import auroc
from reasoning_irl.metrics.localisation import first_below_threshold, fit_threshold, processbench_f1
from reasoning_irl.rewards.discriminator import Discriminator
from reasoning_irl.rewards.labels import DiscriminatorSample
from reasoning_irl.rewards.perturbations import perturb_traces
from reasoning_irl.rewards.reward_model import RewardModel


def perturbed_set(records: Sequence[Any], names: Sequence[str], seed: int, task: Any = None) -> list[dict]:
    """One perturbed copy per record with an expert trace: dicts of record, text and true first wrong step."""
    with_target = [r for r in records if r.target]
    out = []
    for i, p in perturb_traces([r.target for r in with_target], names, seed, [r.meta for r in with_target]):
        record = with_target[i]
        truth = p.first_changed_step
        if task is not None and getattr(task, "checks_steps", False):
            truth = task.first_error_step(p.text, record)
        if truth is not None:  # a perturbation that left every step right is not an error
            out.append({"record": record, "text": p.text, "truth": truth, "first_changed_char": p.first_changed_char})
    return out


def train_on_perturbations(discriminator: Discriminator, records: Sequence[Any], steps: int, batch_size: int,
                           seed: int = 0, policy_samples: Any = None) -> list[dict[str, float]]:
    """``steps`` discriminator updates, each on ``batch_size`` random expert traces and their perturbations.

    ``policy_samples`` (optional) maps a list of records to policy-sample completions, one per record,
    added as ``policy`` negatives.
    """
    rng = random.Random(f"train-on-perturbations:{seed}")
    pool = [r for r in records if r.target]
    history = []
    for step in range(steps):
        batch = rng.sample(pool, min(batch_size, len(pool)))
        experts = [DiscriminatorSample(r.prompt, r.target, "expert", problem_id=r.problem_id) for r in batch]
        negatives = discriminator.perturbed_negatives(experts, seed=seed * 1_000_003 + step,
                                                      metas=[r.meta for r in batch])
        if policy_samples is not None:
            negatives += [DiscriminatorSample(r.prompt, c, "policy", problem_id=r.problem_id)
                          for r, c in zip(batch, policy_samples(batch))]
        history.append(discriminator.update(experts, negatives))
    return history


def _step_scores(scored) -> list[float]:
    return [s.score for s in scored.steps if s.score is not None]


def evaluate_on_perturbations(reward_model: RewardModel, validation: Sequence[Any], test: Sequence[Any],
                              names: Sequence[str], task: Any = None, seed: int = 0) -> dict[str, Any]:
    """AUROC and localisation on ``test`` (threshold fitted on ``validation``); see the module docstring."""
    def scored_split(records, split_seed):
        records = [r for r in records if r.target]
        perturbed = perturbed_set(records, names, split_seed, task)
        prompts = [r.prompt for r in records] + [p["record"].prompt for p in perturbed]
        texts = [r.target for r in records] + [p["text"] for p in perturbed]
        scored = reward_model.score(prompts, texts)
        truth = [None] * len(records) + [p["truth"] for p in perturbed]
        return scored, truth

    val_scored, val_truth = scored_split(validation, seed + 1)
    fit = fit_threshold([_step_scores(s) for s in val_scored], val_truth)
    test_scored, test_truth = scored_split(test, seed + 2)
    labels = [t is None for t in test_truth]
    predictions = [first_below_threshold(_step_scores(s), fit["threshold"]) for s in test_scored]
    error_pairs = [(p, t, len(s.steps)) for p, t, s in zip(predictions, test_truth, test_scored) if t is not None]
    return {
        "auroc": auroc(labels, [s.sequence_score for s in test_scored]),
        "localisation": float(np.mean([p == t for p, t, _ in error_pairs])),
        "chance_uniform_step": float(np.mean([1.0 / n for _, _, n in error_pairs])),
        "chance_processbench": float(np.mean([1.0 / (n + 1) for _, _, n in error_pairs])),
        "f1": processbench_f1(test_truth, predictions)["f1"],
        "threshold": fit["threshold"],
        "validation_f1": fit["f1"],
        "num_test_experts": int(sum(labels)),
        "num_test_perturbed": len(error_pairs),
    }


def reward_auroc(discriminator: Any, experts: Sequence[Any], perturbed: Sequence[Any]) -> float:
    """AUROC of the reward model's sequence scores: expert traces (1) against perturbed traces (0)."""
    samples = list(experts) + list(perturbed)
    if not experts or not perturbed:
        return float("nan")
    scored = discriminator.reward_model.score([s.prompt for s in samples], [s.completion for s in samples])
    labels = [1] * len(experts) + [0] * len(perturbed)
    return float(auroc(labels, [s.sequence_score for s in scored]))
