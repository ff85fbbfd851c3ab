"""Tests for reasoning_irl.metrics.bootstrap."""

from __future__ import annotations

import numpy as np
import pytest

from reasoning_irl.metrics.bootstrap import bootstrap_ci, bootstrap_ci_indices
from reasoning_irl.metrics.calibration import auroc


def test_bootstrap_is_deterministic_for_a_seed():
    values = np.random.default_rng(0).random(50)
    first = bootstrap_ci(values, seed=3)
    assert bootstrap_ci(values, seed=3) == first
    assert bootstrap_ci(values, seed=4)["low"] != first["low"]
    assert first["mean"] == pytest.approx(values.mean())
    assert first["low"] < first["mean"] < first["high"]
    assert (first["n_resamples"], first["seed"], first["n_undefined"]) == (1000, 3, 0)


def test_bootstrap_hand_checkable_cases():
    # constant values: every resample has the same mean
    assert bootstrap_ci([0.7] * 10) == {
        "mean": pytest.approx(0.7),
        "low": pytest.approx(0.7),
        "high": pytest.approx(0.7),
        "n_resamples": 1000,
        "seed": 0,
        "alpha": 0.05,
        "n_undefined": 0,
    }
    # values [0, 1]: a resample's mean is 0, ½ or 1 with probability ¼, ½, ¼ → 95% interval [0, 1]
    result = bootstrap_ci([0.0, 1.0])
    assert (result["low"], result["high"]) == (0.0, 1.0)
    # alpha = 0.4 → 20th/80th percentiles: 0 and 1 (each has mass ¼ > 0.2); alpha = 0.6 → 30th/70th: both ½
    assert (bootstrap_ci([0.0, 1.0], alpha=0.4)["low"], bootstrap_ci([0.0, 1.0], alpha=0.4)["high"]) == (0, 1)
    assert bootstrap_ci([0.0, 1.0], alpha=0.6)["low"] == bootstrap_ci([0.0, 1.0], alpha=0.6)["high"] == 0.5
    # 400 fair coin flips: standard error ½/√400 = 0.025, so the 95% interval spans about 4·0.025 = 0.1
    coins = np.random.default_rng(1).random(400) < 0.5
    result = bootstrap_ci(coins.astype(float))
    assert 0.08 < result["high"] - result["low"] < 0.12


def test_generic_version_equals_the_mean_version():
    values = np.random.default_rng(2).normal(size=30)
    by_index = bootstrap_ci_indices(30, lambda idx: float(np.mean(values[idx])), seed=9, n_resamples=200)
    assert by_index == bootstrap_ci(values, seed=9, n_resamples=200)
    median = bootstrap_ci(values, stat=np.median, seed=9)
    assert median["mean"] == pytest.approx(np.median(values))


def test_pooled_auroc_resamples_problems_and_counts_undefined_resamples():
    # problem 0: two correct samples scored high; problem 1: two wrong samples scored low
    labels = [np.array([1, 1]), np.array([0, 0])]
    scores = [np.array([0.9, 0.8]), np.array([0.1, 0.2])]

    def pooled(idx: np.ndarray) -> float:
        return auroc(np.concatenate([labels[i] for i in idx]), np.concatenate([scores[i] for i in idx]))

    result = bootstrap_ci_indices(2, pooled, n_resamples=400, seed=0)
    assert result["mean"] == 1.0 and result["low"] == result["high"] == 1.0
    # a resample draws one problem twice with probability ½ and then has one class only
    assert 150 < result["n_undefined"] < 250


def test_bootstrap_rejects_undefined_values_and_bad_alpha():
    with pytest.raises(ValueError, match="value 1 is nan"):
        bootstrap_ci([0.5, np.nan])
    with pytest.raises(ValueError, match="alpha=1.5"):
        bootstrap_ci([0.5, 0.4], alpha=1.5)


def test_resamples_are_the_rows_of_one_seeded_index_matrix():
    """Drawn one row at a time (no resamples × problems matrix in memory), the resamples are still the rows
    of ``default_rng(seed).integers(0, P, (B, P))``: intervals do not change with how they are drawn."""
    values = np.random.default_rng(5).random(257)
    rows = np.random.default_rng(3).integers(0, values.size, size=(200, values.size))
    means = np.sort(values[rows].mean(axis=1))
    out = bootstrap_ci(values, n_resamples=200, seed=3)
    assert out["low"] == pytest.approx(np.percentile(means, 2.5), abs=1e-12)
    assert out["high"] == pytest.approx(np.percentile(means, 97.5), abs=1e-12)
