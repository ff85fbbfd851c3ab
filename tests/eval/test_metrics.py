"""Tests for reasoning_irl.metrics.reranking: closed forms checked against brute-force enumeration."""

from __future__ import annotations

import itertools
import math
import random
from fractions import Fraction

import numpy as np
import pytest

from reasoning_irl.metrics.reranking import (
    best_of_n_table,
    length_scores,
    maj_at_k,
    majority_scores,
    oracle_at_n,
    pass_at_k,
    random_scores,
    reward_weighted_pass_at_k,
    success_at_k_given_N,
    weighted_majority_scores,
)

# ------------------------------------------------------------------------------------- brute force


def brute_success(correct, scores, k, N) -> Fraction:
    """Enumerate every size-N subset; inside a subset, the tie group straddling the top-k boundary is
    resolved by the hypergeometric probability that the free slots pick at least one correct item."""
    total = Fraction(0)
    subsets = list(itertools.combinations(range(len(correct)), N))
    for subset in subsets:
        slots = k
        for value in sorted({scores[i] for i in subset}, reverse=True):
            group = [i for i in subset if scores[i] == value]
            wrong = sum(not correct[i] for i in group)
            if len(group) <= slots:
                if wrong < len(group):
                    total += 1
                    break
                slots -= len(group)
                if slots == 0:
                    break
            else:
                total += 1 - Fraction(math.comb(wrong, slots), math.comb(len(group), slots))
                break
    return total / len(subsets)


def brute_maj(correct, answers, k) -> Fraction:
    """Enumerate every size-k subset, vote, split ties uniformly; None does not vote."""
    answer_correct = {a: c for a, c in zip(answers, correct) if a is not None}
    total = Fraction(0)
    subsets = list(itertools.combinations(range(len(correct)), k))
    for subset in subsets:
        votes: dict[str, int] = {}
        for i in subset:
            if answers[i] is not None:
                votes[answers[i]] = votes.get(answers[i], 0) + 1
        if votes:
            top = max(votes.values())
            tied = [a for a, v in votes.items() if v == top]
            total += Fraction(sum(answer_correct[a] for a in tied), len(tied))
    return total / len(subsets)


# ------------------------------------------------------------------------------------------ pass@k


def test_pass_at_k_hand_examples():
    assert pass_at_k(4, 1, 2) == pytest.approx(0.5)  # 1 − C(3,2)/C(4,2) = 1 − 3/6
    assert pass_at_k(5, 2, 2) == pytest.approx(0.7)  # 1 − C(3,2)/C(5,2) = 1 − 3/10
    assert pass_at_k(16, 4, 1) == pytest.approx(0.25)  # pass@1 = c/n
    assert pass_at_k(5, 0, 3) == 0.0
    assert pass_at_k(5, 3, 3) == 1.0  # only 2 wrong samples: every 3-subset holds a correct one


def test_pass_at_k_is_stable_for_large_n():
    exact = 1 - Fraction(math.comb(9000, 100), math.comb(10000, 100))
    assert pass_at_k(10000, 1000, 100) == pytest.approx(float(exact), rel=1e-12)


def test_pass_at_k_rejects_k_above_n_naming_both():
    with pytest.raises(ValueError, match=r"k=5.*n=4"):
        pass_at_k(4, 1, 5)
    with pytest.raises(ValueError, match=r"c=6"):
        pass_at_k(4, 6, 1)


def test_correctness_flags_must_be_booleans_or_0_1():
    with pytest.raises(ValueError, match="booleans or 0/1"):
        maj_at_k(np.array([2.0, 0.0]), ["x", "y"], 1)


def test_oracle():
    assert oracle_at_n([0, 0, 1]) == 1.0
    assert oracle_at_n([0, 0, 0]) == 0.0
    # oracle@2 over subsets of 4 samples with 1 correct: 3 of the 6 pairs contain it
    assert oracle_at_n([1, 0, 0, 0], N=2) == pytest.approx(0.5)


# ------------------------------------------------------------------------------------- success@k|N


def test_success_docstring_example():
    # correct = [1, 0, 0]; the correct sample has the lowest score: no pair ranks it first
    assert success_at_k_given_N([1, 0, 0], [0, 1, 1], k=1, N=2) == pytest.approx(0.0)
    # it has the highest score: the pairs {0,1}, {0,2} of the 3 pairs win
    assert success_at_k_given_N([1, 0, 0], [1, 0, 0], k=1, N=2) == pytest.approx(2 / 3)
    # tie between a correct and a wrong sample at the top, N = n = 2: coin flip
    assert success_at_k_given_N([1, 0], [5, 5], k=1, N=2) == pytest.approx(0.5)


def test_success_matches_brute_force_with_ties():
    rng = random.Random(1234)
    for _ in range(250):
        n = rng.randint(1, 8)
        N = rng.randint(1, n)
        k = rng.randint(1, N)
        correct = [rng.random() < 0.4 for _ in range(n)]
        scores = [rng.choice([0.0, 1.0, 2.0, 3.0]) for _ in range(n)]  # few values: many ties
        expected = float(brute_success(correct, scores, k, N))
        assert success_at_k_given_N(correct, scores, k, N) == pytest.approx(expected, abs=1e-12), (
            correct,
            scores,
            k,
            N,
        )


def test_constant_selector_gives_pass_at_k():
    rng = np.random.default_rng(0)
    for n in (1, 5, 16, 64):
        correct = rng.random(n) < 0.3
        c = int(correct.sum())
        for N in {1, n // 2 or 1, n}:
            assert success_at_k_given_N(correct, random_scores(n), 1, N) == pytest.approx(c / n, abs=1e-12)
            for k in range(1, N + 1):
                assert success_at_k_given_N(correct, np.zeros(n), k, N) == pytest.approx(
                    pass_at_k(n, c, k), abs=1e-12
                )


def test_perfect_selector_gives_oracle_at_N():
    rng = np.random.default_rng(1)
    for n in (4, 16, 64):
        correct = rng.random(n) < 0.2
        c = int(correct.sum())
        for N in (1, 2, n // 2, n):
            oracle = 1 - math.comb(n - c, N) / math.comb(n, N)
            value = success_at_k_given_N(correct, correct.astype(float), 1, N)
            assert value == pytest.approx(oracle, abs=1e-12)
            assert value == pytest.approx(oracle_at_n(correct, N), abs=1e-12)


def test_random_selector_equals_its_expectation():
    # averaging over all 5! orderings of distinct scores = the constant-score closed form
    correct = np.array([1, 0, 0, 1, 0], dtype=bool)
    for k, N in ((1, 3), (2, 4), (1, 5)):
        mean = np.mean(
            [success_at_k_given_N(correct, perm, k, N) for perm in itertools.permutations(range(5))]
        )
        assert mean == pytest.approx(success_at_k_given_N(correct, np.zeros(5), k, N), abs=1e-12)


def test_success_rejects_bad_inputs():
    with pytest.raises(ValueError, match="NaN value at sample 1"):
        success_at_k_given_N([1, 0], [0.0, np.nan], 1, 2)
    with pytest.raises(ValueError, match=r"k=3.*N=2"):
        success_at_k_given_N([1, 0, 0], [0, 1, 2], 3, 2)
    with pytest.raises(ValueError, match=r"N=4.*n=3"):
        success_at_k_given_N([1, 0, 0], [0, 1, 2], 1, 4)


def test_best_of_n_table_marks_missing_selectors_and_never_substitutes():
    problems = [np.array([1, 0, 0, 0]), np.array([0, 1, 0, 0])]
    selectors = {
        "reward": [np.array([3.0, 0, 1, 2]), np.array([0.0, 1, 0, 0])],  # sample 1 wins the 2nd problem
        "random": [random_scores(4), random_scores(4)],
        "logprob": None,
        "partial": [np.zeros(4), None],
        "nan": [np.zeros(4), np.array([0.0, np.nan, 0, 0])],
    }
    table = best_of_n_table(problems, selectors, Ns=[2, 4], ks=[1, 3])
    assert table["logprob"] == {"available": False, "reason": "no scores were given for this selector"}
    assert table["partial"]["available"] is False and "problem 1" in table["partial"]["reason"]
    assert table["nan"]["available"] is False and "NaN" in table["nan"]["reason"]
    assert set(table["reward"]["success"][2]) == {1}  # k = 3 > N = 2 is left out
    # reward at N = n = 4: both problems rank their correct sample first
    assert table["reward"]["success"][4][1]["mean"] == pytest.approx(1.0)
    # reward at N = 2 on problem 0: sample 0 has the top score, so success = P(0 in pair) = 3/6
    assert table["reward"]["success"][2][1]["per_problem"][0] == pytest.approx(0.5)
    # random at k = 1 is pass@1 = 1/4 for both problems; at k = 3, N = 4 it is pass@3 = 3/4
    assert table["random"]["success"][2][1]["mean"] == pytest.approx(0.25)
    assert table["random"]["success"][4][3]["mean"] == pytest.approx(0.75)
    with pytest.raises(ValueError, match=r"N=5.*problem 0"):
        best_of_n_table(problems, selectors, Ns=[5], ks=[1])


# -------------------------------------------------------------------------------- score constructors


def test_score_constructors():
    np.testing.assert_allclose(length_scores([10, 3]), [-10.0, -3.0])
    # shares over all 4 samples; None never forms a majority
    np.testing.assert_allclose(majority_scores(["a", "a", None, "b"]), [0.5, 0.5, 0.0, 0.25])
    np.testing.assert_allclose(majority_scores([None, None]), [0.0, 0.0])
    # softmax([ln 3, ln 2, 0, 5]) restricted weights: 3, 2, 1 and e^5 on the None sample; total 6 + e^5
    scores = [math.log(3), math.log(2), 0.0, 5.0]
    total = 6 + math.exp(5)
    np.testing.assert_allclose(
        weighted_majority_scores(["a", "b", "a", None], scores), [4 / total, 2 / total, 4 / total, 0.0]
    )
    with pytest.raises(ValueError, match="non-finite"):
        weighted_majority_scores(["a", "b"], [0.0, np.inf])


# ------------------------------------------------------------------------------------------- maj@k


def test_maj_at_k_hand_example():
    # answers [x, x, y], x correct, k = 2: {x,x} wins, {x,y} twice ties → (1 + ½ + ½)/3
    assert maj_at_k([1, 1, 0], ["x", "x", "y"], 2) == {"value": pytest.approx(2 / 3), "method": "exact"}
    # k = 1: each sample votes alone, so maj@1 = accuracy (a None sample counts as wrong)
    assert maj_at_k([1, 0, 0, 1], ["x", "y", None, "x"], 1)["value"] == pytest.approx(0.5)
    assert maj_at_k([0, 0], [None, None], 2)["value"] == 0.0


def test_maj_at_k_matches_brute_force():
    rng = random.Random(7)
    for _ in range(200):
        n = rng.randint(1, 9)
        k = rng.randint(1, n)
        answers = [rng.choice(["a", "b", "c", None]) for _ in range(n)]
        good = set(rng.sample(["a", "b", "c"], rng.choice([1, 2])))  # sometimes two correct spellings
        correct = [a in good for a in answers]
        expected = float(brute_maj(correct, answers, k))
        assert maj_at_k(correct, answers, k)["value"] == pytest.approx(expected, abs=1e-12), (
            answers,
            good,
            k,
        )


def test_maj_at_k_errors_and_per_problem():
    with pytest.raises(ValueError, match="'x' disagree"):
        maj_at_k([1, 0], ["x", "x"], 1)
    assert maj_at_k([1, 1, 0], ["x", "x", "y"], 2)["value"] == pytest.approx(2 / 3)
    assert maj_at_k([0, 0], ["u", "v"], 2)["value"] == 0.0


# --------------------------------------------------------------------------------- reward-weighted


def test_reward_weighted_pass_at_k():
    # p = softmax([ln 3, 0]) = [3/4, 1/4], m_eff = 2·3/4 = 1.5, pass@1 = 1 − (2 − 1.5)/2 = 0.75
    assert reward_weighted_pass_at_k([1, 0], [math.log(3), 0.0], 1) == pytest.approx(0.75)
    rng = np.random.default_rng(3)
    correct = rng.random(16) < 0.4
    for k in (1, 3, 5, 10):
        assert reward_weighted_pass_at_k(correct, np.full(16, 2.5), k) == pytest.approx(
            pass_at_k(16, int(correct.sum()), k), abs=1e-12
        )
    # m_eff = 3.5 of n = 4, k = 3: factors 0.5/4, −0.5/3 → clamped to 0, so the value is 1 (not 0.98)
    scores = np.log([3.5 / 3, 3.5 / 3, 3.5 / 3, 0.5])
    assert reward_weighted_pass_at_k([1, 1, 1, 0], scores, 3) == 1.0
    with pytest.raises(ValueError, match="non-finite value at sample 0"):
        reward_weighted_pass_at_k([1, 0], [-np.inf, 0.0], 1)
    with pytest.raises(ValueError, match="temperature"):
        reward_weighted_pass_at_k([1, 0], [0.0, 0.0], 1, temperature=0.0)
