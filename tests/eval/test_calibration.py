"""Tests for reasoning_irl.metrics.calibration."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reasoning_irl.metrics.calibration import (
    apply_platt,
    auroc,
    brier,
    ece,
    fit_platt,
    reliability_diagram,
    score_to_probability,
    sigmoid,
)


def pairwise_auroc(labels, scores) -> float:
    """P(score₊ > score₋) + ½ P(score₊ = score₋) over all positive/negative pairs."""
    pos = [s for y, s in zip(labels, scores) if y]
    neg = [s for y, s in zip(labels, scores) if not y]
    wins = sum((p > q) + 0.5 * (p == q) for p in pos for q in neg)
    return wins / (len(pos) * len(neg))


def test_auroc_hand_example_with_ties():
    # ranks 1, 2.5, 2.5, 4; R₊ = 2.5 + 4 = 6.5; U = 6.5 − 3 = 3.5; AUROC = 3.5 / (2·2)
    assert auroc([0, 1, 0, 1], [1, 2, 2, 3]) == pytest.approx(0.875)


def test_auroc_extremes_and_undefined():
    assert auroc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert auroc([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]) == 0.0
    assert auroc([0, 1, 1, 0, 1], np.zeros(5)) == 0.5
    assert math.isnan(auroc([1, 1, 1], [0.1, 0.5, 0.9]))


def test_auroc_matches_pairwise_count():
    rng = np.random.default_rng(0)
    for _ in range(50):
        labels = rng.random(30) < 0.4
        if labels.all() or not labels.any():
            continue
        scores = rng.integers(0, 5, 30).astype(float)
        assert auroc(labels, scores) == pytest.approx(pairwise_auroc(labels, scores), abs=1e-12)


def test_ece_hand_example_and_brier():
    # bins (0.2,0.3]: acc ½ vs conf ¼; (0.7,0.8]: acc 1 vs conf ¾; ECE = ½·¼ + ½·¼
    assert ece([0, 1, 1, 1], [0.25, 0.25, 0.75, 0.75]) == pytest.approx(0.25)
    # Brier: (0.75² + 3·0.25²)/4 = (0.5625 + 0.1875)/4
    assert brier([1, 0, 0, 0], [0.25] * 4) == pytest.approx(0.1875)


def test_ece_is_zero_on_perfectly_calibrated_bins():
    # each bin's accuracy equals its confidence: 1 of 4 at 0.25, 3 of 4 at 0.75, 9 of 10 at 0.9, all at 1.0
    labels = [1, 0, 0, 0] + [1, 1, 1, 0] + [1] * 9 + [0] + [1, 1]
    probs = [0.25] * 4 + [0.75] * 4 + [0.9] * 10 + [1.0, 1.0]
    assert ece(labels, probs) == pytest.approx(0.0, abs=1e-12)
    # one more wrong sample in the 0.9 bin: acc 0.8 vs conf 0.9 on 10 of 20 samples → ECE = ½·0.1
    labels[8] = 0  # samples 8..17 carry p = 0.9
    assert ece(labels, probs) == pytest.approx(0.05)


def test_reliability_bins_are_right_closed_and_first_includes_zero():
    bins = reliability_diagram([0, 1, 1, 0, 1], [0.0, 0.3, 1.0, 0.31, 0.5], n_bins=10)
    # 0 → first bin; 0.3 ∈ (0.2, 0.3]; 0.31 ∈ (0.3, 0.4]; 0.5 ∈ (0.4, 0.5] (an exact edge); 1.0 → last bin
    assert bins["count"] == [1, 0, 1, 1, 1, 0, 0, 0, 0, 1]
    assert bins["accuracy"][2] == 1.0 and bins["confidence"][3] == pytest.approx(0.31)
    assert math.isnan(bins["accuracy"][1])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ece([0, 1], [0.5, 1.5])
    with pytest.raises(ValueError, match="not finite"):
        brier([0, 1], [0.5, np.nan])


def test_sigmoid_is_clipped():
    assert sigmoid(1000.0) == sigmoid(80.0)
    assert score_to_probability([-1000.0])[0] == sigmoid(-80.0) == pytest.approx(math.exp(-80), rel=1e-12)
    assert score_to_probability([0.0])[0] == 0.5


def test_platt_recovers_a_known_logistic_model():
    rng = np.random.default_rng(42)
    scores = rng.normal(0.0, 1.5, size=20000)
    labels = rng.random(20000) < sigmoid(2.0 * scores - 1.0)
    a, b = fit_platt(scores, labels)
    assert a == pytest.approx(2.0, abs=0.1) and b == pytest.approx(-1.0, abs=0.1)
    assert fit_platt(scores, labels) == (a, b)  # deterministic
    # Platt on raw scores that are shifted and scaled removes the miscalibration
    raw = 5.0 * scores + 3.0
    a2, b2 = fit_platt(raw, labels)
    assert ece(labels, apply_platt(raw, a2, b2)) < 0.02 < ece(labels, score_to_probability(raw))


def test_platt_separable_and_one_class():
    a, b = fit_platt([-2.0, -1.0, 1.0, 2.0], [0, 0, 1, 1])
    assert np.isfinite([a, b]).all() and a > 0
    probs = apply_platt([-2.0, 2.0], a, b)
    assert probs[0] < 0.05 and probs[1] > 0.95
    with pytest.raises(ValueError, match="both correct and wrong"):
        fit_platt([0.1, 0.2], [1, 1])
