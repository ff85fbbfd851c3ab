"""Tests for reasoning_irl.metrics.localisation."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from reasoning_irl.metrics.localisation import (
    average_precision,
    first_below_threshold,
    fit_threshold,
    largest_signal,
    mean_average_precision,
    processbench_chance,
    processbench_f1,
    step_drops,
    step_hit_at_k,
    window_hit,
)


def test_processbench_f1_hand_example():
    # error traces: step 1 exact (hit), step 2 predicted 0 (miss) → ½; clean: None (hit), 3 (miss) → ½
    result = processbench_f1([1, None, 2, None], [1, None, 0, 3])
    assert result["acc_error"] == 0.5 and result["acc_correct"] == 0.5
    assert result["f1"] == pytest.approx(0.5) and result["reason"] is None
    # acc_error 1, acc_correct ½ → F1 = 2·½/(3/2) = 2/3
    assert processbench_f1([1, None, None], [1, None, 0])["f1"] == pytest.approx(2 / 3)
    assert processbench_f1([1, None], [None, 0])["f1"] == 0.0


def test_processbench_oracle_and_undefined():
    truth = [0, None, 4, 2, None]
    assert processbench_f1(truth, truth)["f1"] == 1.0
    result = processbench_f1([None, None], [None, 1])
    assert result["acc_error"] is None and result["acc_correct"] == 0.5
    assert result["f1"] is None and "with an error" in result["reason"]


def test_processbench_chance():
    # error trace of 3 steps: 1/4; clean trace of 1 step: 1/2; F1 = 2·(1/8)/(3/4) = 1/3
    chance = processbench_chance([2, None], [3, 1])
    assert chance["acc_error"] == 0.25 and chance["acc_correct"] == 0.5
    assert chance["f1"] == pytest.approx(1 / 3)


def test_decision_rules():
    assert first_below_threshold([0.9, 0.7, 0.2, 0.1], 0.5) == 2
    assert first_below_threshold([0.9, 0.7], 0.5) is None
    # drops: d_0 = 0 (convention), 0.8, −0.3, 1.5 → step 3
    np.testing.assert_allclose(step_drops([1.0, 0.2, 0.5, -1.0]), [0.0, 0.8, -0.3, 1.5])
    assert largest_signal(step_drops([1.0, 0.2, 0.5, -1.0])) == 3
    assert largest_signal(step_drops([1.0, 0.2, 0.5, -1.0]), theta=2.0) is None
    # scores never decrease after step 0: no positive drop, and step 0 cannot be picked by default...
    assert largest_signal(step_drops([0.0, 1.0, 1.0])) is None
    # ...unless an initial value (score before step 0) is given: d_0 = 1 − 0 = 1
    assert largest_signal(step_drops([0.0, 1.0, 1.0], initial=1.0)) == 0
    assert largest_signal([0.2, 0.7, 0.7]) == 1  # ties: the first
    with pytest.raises(ValueError, match="NaN at step 1"):
        step_drops([0.0, np.nan])
    with pytest.raises(ValueError, match="NaN at step 1"):
        largest_signal([0.0, np.nan])


TRACES = [[0.9, 0.8, 0.2, 0.1], [0.7, 0.3], [0.9, 0.9, 0.7], [0.6, 0.8]]
TRUTHS = [2, 1, None, None]


def test_fit_threshold_hand_example():
    # unique scores 0.1 0.2 0.3 0.6 0.7 0.8 0.9; tau = 0.25 misses trace 1 (0.3 ≥ 0.25); the next
    # midpoint 0.45 gets every trace right; 0.65 flags trace 3 at step 0 → 0.45 is the smallest optimum
    fit = fit_threshold(TRACES, TRUTHS)
    assert fit["threshold"] == pytest.approx(0.45) and fit["f1"] == 1.0
    preds = [first_below_threshold(z, fit["threshold"]) for z in TRACES]
    assert processbench_f1(TRUTHS, preds)["f1"] == 1.0
    with pytest.raises(ValueError, match="with and without an error"):
        fit_threshold(TRACES[:2], TRUTHS[:2])


def test_fit_threshold_breaks_ties_towards_the_smallest_threshold():
    # unique scores 0.2 0.5 0.9 0.95 → midpoints 0.35, 0.7, 0.925; both 0.35 and 0.7 flag step 1 of the
    # error trace and nothing in the clean one (F1 = 1): the smaller one is returned
    fit = fit_threshold([[0.9, 0.2, 0.5], [0.95]], [1, None])
    assert fit["threshold"] == pytest.approx(0.35) and fit["f1"] == 1.0


def test_fit_threshold_matches_direct_evaluation():
    rng = random.Random(5)
    for rule in ("below", "largest"):
        for _ in range(40):
            traces = [[rng.choice([0.0, 0.5, 1.0, 1.5]) for _ in range(rng.randint(1, 5))] for _ in range(8)]
            if rule == "largest":  # the rule over drops of a score, as reward_drop uses it
                traces = [step_drops(z).tolist() for z in traces]
            truths = [rng.choice([None, rng.randrange(len(z))]) for z in traces]
            truths[0], truths[1] = None, 0
            fit = fit_threshold(traces, truths, rule=rule)
            # the grid holds the exact score and drop values 0, 0.5, 1, 1.5, where "<" and ">" matter
            grid = sorted({fit["threshold"], *(0.25 * i for i in range(-8, 11))})
            direct = []
            for tau in grid:
                if rule == "below":
                    preds = [first_below_threshold(z, tau) for z in traces]
                else:
                    preds = [largest_signal(z, theta=tau) for z in traces]
                direct.append(processbench_f1(truths, preds)["f1"])
                single = fit_threshold(traces, truths, candidates=[tau], rule=rule)
                assert single["f1"] == pytest.approx(direct[-1]), (rule, tau, traces, truths)
            assert fit["f1"] == pytest.approx(direct[grid.index(fit["threshold"])])
            assert fit["f1"] >= max(direct) - 1e-12  # no threshold on the grid does better


def test_step_hit_at_k():
    # drops [0, 0, 1, 0] → step 2 ranked first
    result = step_hit_at_k([[1, 1, 0, 0]], [2], k=1)
    assert result["hit"] == 1.0 and result["chance"] == 0.25
    assert result["normalised_hit"] == pytest.approx(1.0)
    # rank by low score: steps 1 and 2 tie at 0 → the truth (step 1) is first with probability ½;
    # the clean trace is ignored
    result = step_hit_at_k([[1, 0, 0, 2], [0, 0]], [1, None], k=1, ranking="low")
    assert result["hit"] == 0.5 and result["n"] == 1
    assert result["normalised_hit"] == pytest.approx((0.5 - 0.25) / 0.75)
    assert step_hit_at_k([[1, 0, 0, 2]], [1], k=2, ranking="low")["hit"] == 1.0
    assert step_hit_at_k([[0, 0]], [None], k=1)["hit"] is None


def test_window_hit():
    # L = 10, target 4, w = 1: positions 3, 4, 5 hit → chance 0.3; t̂ = 5 hits, None misses
    result = window_hit([5, None], [[4], [4]], [10, 10], w=1)
    assert result["hit"] == 0.5 and result["chance"] == pytest.approx(0.3)
    assert result["normalised_hit"] == pytest.approx(0.2 / 0.7)
    # w = 0 with targets {0, 9}: chance 2/10; t̂ = 8 misses
    assert window_hit([8], [[0, 9]], [10], w=0) == {
        "hit": 0.0,
        "chance": 0.2,
        "normalised_hit": -0.25,
        "n": 1,
    }
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        window_hit([1], [[10]], [10], w=1)


def expected_ap_by_enumeration(signal, targets) -> float:
    """Average AP over every tie-breaking order: all permutations, stable-sorted by signal."""
    values = []
    for perm in itertools.permutations(range(len(signal))):
        order = sorted(perm, key=lambda i: -signal[i])  # stable: ties keep the permutation's order
        found, ap = 0, 0.0
        for rank, i in enumerate(order, start=1):
            if i in targets:
                found += 1
                ap += found / rank
        values.append(ap / len(targets))
    return float(np.mean(values))


def test_average_precision():
    # order 0, 2, 1: targets at ranks 2 and 3 → ½(1/2 + 2/3) = 7/12
    assert average_precision([3, 1, 2], [1, 2]) == pytest.approx(7 / 12)
    assert average_precision([0.1, 0.9, 0.8], [1, 2]) == 1.0
    # random ranking of 3 positions, one target: E[1/rank] = (1 + 1/2 + 1/3)/3 = 11/18
    assert average_precision([0, 0, 0], [1]) == pytest.approx(11 / 18)
    rng = random.Random(3)
    for _ in range(30):
        n = rng.randint(1, 6)
        signal = [rng.choice([0, 1, 2]) for _ in range(n)]
        targets = set(rng.sample(range(n), rng.randint(1, n)))
        assert average_precision(signal, sorted(targets)) == pytest.approx(
            expected_ap_by_enumeration(signal, targets), abs=1e-12
        )


def test_mean_average_precision_with_chance():
    result = mean_average_precision([[3, 1, 2], [0.1, 0.9, 0.8]], [[1, 2], [1, 2]])
    assert result["map"] == pytest.approx((7 / 12 + 1) / 2)
    # constant signal, 2 targets of 3: target ranks {1,2}, {1,3}, {2,3} each w.p. 1/3 with AP 1, 5/6, 7/12
    assert result["chance"] == pytest.approx((1 + 5 / 6 + 7 / 12) / 3)  # = 29/36
    with pytest.raises(ValueError, match="non-empty"):
        mean_average_precision([[1.0, 2.0]], [[]])
