"""Sample-level metrics: pass@k, best-of-N reranking (success@k|N), maj@k, oracle, reward-weighted pass@k.

Data shape: one entry per problem. For problem i, ``correct[i]`` is a 1-D bool (or 0/1) array over its n_i
samples, ``scores[i]`` a float array of the same length (a selector's value; higher = better) and
``answers[i]`` a list of extracted answer strings (None = no answer). Every function works on one problem;
problems may have different n_i.

Conventions (docs/ARCHITECTURE.md (Runs and outputs)): every ranking breaks ties by the exact expectation
over uniformly random orderings; success@k|N and maj@k average over all C(n, N) (resp. C(n, k)) subsets of a
problem's samples in closed form, never "the first N"; a selector with missing values is reported
unavailable, never replaced by another one (docs/METHOD.md §10 items 4-5).
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

_MAX_N = 1000  # C(1000, 500) ~ 2.7e299: binomial products in the closed forms stay inside float64


def _as_correct(correct: ArrayLike) -> np.ndarray:
    arr = np.asarray(correct)
    if arr.ndim != 1:
        raise ValueError(f"correct must be a 1-D array over one problem's samples, got shape {arr.shape}")
    if arr.dtype != bool:
        if arr.size and not np.isin(arr, (0, 1)).all():
            raise ValueError(
                f"correct must hold booleans or 0/1, got values {np.unique(arr)[:5].tolist()}; "
                "convert correctness flags to bool first (e.g. reward == 2.0)"
            )
        arr = arr.astype(bool)
    return arr


def _as_scores(scores: ArrayLike, n: int, name: str = "scores", finite: bool = False) -> np.ndarray:
    arr = np.asarray(scores, dtype=float)
    if arr.shape != (n,):
        raise ValueError(
            f"{name} has shape {arr.shape} but the problem has n={n} samples; pass one per sample"
        )
    bad = np.flatnonzero(~np.isfinite(arr) if finite else np.isnan(arr))
    if bad.size:
        raise ValueError(
            f"{name} has a {'non-finite' if finite else 'NaN'} value at sample {int(bad[0])} ({arr[bad[0]]}); "
            "a selector with missing values is unavailable: compute it for every sample or report it as missing"
        )
    return arr


def _check_range(name: str, value: int, low: int, high: int, high_name: str) -> int:
    value = operator.index(value)
    if not low <= value <= high:
        raise ValueError(
            f"{name}={value} must lie in [{low}, {high_name}={high}]; ask only for {name} <= {high_name}"
        )
    return value


@lru_cache(maxsize=16)
def _comb_table(n: int) -> np.ndarray:
    """T[a, b] = C(a, b) as float64 for 0 <= a, b <= n (zero when b > a), by Pascal's rule."""
    if n > _MAX_N:
        raise ValueError(f"a problem has n={n} samples; the closed forms here support n <= {_MAX_N}")
    table = np.zeros((n + 1, n + 1))
    table[:, 0] = 1.0
    for a in range(1, n + 1):
        table[a, 1:] = table[a - 1, 1:] + table[a - 1, :-1]
    table.setflags(write=False)
    return table


# ----------------------------------------------------------------------------------------------- pass@k


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k of Chen et al. (2021) for one problem with n samples of which c are correct.

    pass@k = 1 − C(n−c, k) / C(n, k), computed stably as 1 − Π_{i=n−c+1}^{n} (1 − k/i).
    Example: n=4, c=1, k=2 → 1 − C(3,2)/C(4,2) = 1 − 3/6 = 0.5.
    """
    n = operator.index(n)
    c = _check_range("c", c, 0, n, "n")
    k = _check_range("k", k, 1, n, "n")
    if n - c < k:
        return 1.0
    return 1.0 - float(np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def oracle_at_n(correct: ArrayLike, N: int | None = None) -> float:
    """oracle@n = 1 if any of the problem's n samples is correct, else 0.

    With N given, oracle@N averaged over all size-N subsets, which is exactly pass@N = 1 − C(n−c,N)/C(n,N).
    """
    flags = _as_correct(correct)
    if N is None:
        return float(flags.any())
    return pass_at_k(flags.size, int(flags.sum()), N)


# ------------------------------------------------------------------------------------- success@k|N


def _reranking_terms(correct: ArrayLike, scores: ArrayLike) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """Decompose P(top-k of a random size-N subset all wrong) into terms (weight, u, v).

    Rank all n samples by score (descending), ties by a uniformly random permutation. Restricted to a subset S
    this is a uniformly random tie-break within S, independent of S, so the top-k of S are its first k items
    in this global order. They are all wrong iff the k-th item of S sits at a wrong position r, the other k−1
    come from the w(r−1) wrong positions before r, and the N−k others lie after r:
        #{S} = Σ_{r wrong} C(w(r−1), k−1) · C(n−r, N−k).
    For a tie group of size g (wg wrong, cg correct) after a items (w_a wrong) of higher score, position q of
    the group holds a wrong item with j wrong items before it (within the group) with probability
        (wg/g) · C(wg−1, j) C(cg, q−1−j) / C(g−1, q−1)        (hypergeometric),
    giving w(r−1) = w_a + j and n − r = n − a − q. Returns (n, weight, u = w_a + j, v = n − a − q).
    """
    flags = _as_correct(correct)
    n = flags.size
    values = _as_scores(scores, n)
    _, group, sizes = np.unique(-values, return_inverse=True, return_counts=True)  # group 0 = highest score
    n_wrong = np.bincount(group, weights=~flags, minlength=sizes.size).astype(int)
    before = np.cumsum(sizes) - sizes
    wrong_before = np.cumsum(n_wrong) - n_wrong
    single = (sizes == 1) & (n_wrong == 1)  # a lone wrong item: weight 1, j = 0, q = 1
    weights = [np.ones(int(single.sum()))]
    u = [wrong_before[single]]
    v = [n - before[single] - 1]
    table = _comb_table(n)
    for g, wg, a, w_a in zip(sizes, n_wrong, before, wrong_before):
        if g == 1 or wg == 0:
            continue
        q = np.arange(1, g + 1)[:, None]
        j = np.arange(wg)[None, :]
        rest = q - 1 - j
        ok = (rest >= 0) & (rest <= g - wg)
        rest = np.where(ok, rest, 0)
        hyper = table[wg - 1, j] * table[g - wg, rest] / table[g - 1, q - 1]
        q_all = np.broadcast_to(q, ok.shape)
        weights.append((wg / g * hyper)[ok])
        u.append(np.broadcast_to(w_a + j, ok.shape)[ok])
        v.append(n - a - q_all[ok])
    return n, np.concatenate(weights), np.concatenate(u).astype(int), np.concatenate(v).astype(int)


def _success_from_terms(terms: tuple[int, np.ndarray, np.ndarray, np.ndarray], k: int, N: int) -> float:
    n, weight, u, v = terms
    N = _check_range("N", N, 1, n, "n")
    k = _check_range("k", k, 1, N, "N")
    table = _comb_table(n)
    all_wrong = float(np.sum(weight * table[u, k - 1] * table[v, N - k])) / table[n, N]
    return min(1.0, max(0.0, 1.0 - all_wrong))


def success_at_k_given_N(correct: ArrayLike, scores: ArrayLike, k: int, N: int) -> float:
    """success@k|N (best-of-N reranking) for one problem, averaged over ALL C(n, N) size-N subsets.

    success@k|N = mean over subsets S of P(some sample among the top-k of S by score is correct), with ties
    in score broken by the exact expectation over uniformly random orderings. Closed form in O(n²) (see
    ``_reranking_terms``), no enumeration. Constant scores give pass@k for every N (success@1|N = c/n);
    scores equal to correctness give oracle@N = 1 − C(n−c,N)/C(n,N) for k = 1.
    Example: correct = [1, 0, 0], scores = [0, 1, 1], k=1, N=2: subsets {0,1}, {0,2} pick a wrong one,
    {1,2} too → 0; with scores = [1, 0, 0] every subset containing sample 0 wins → 2/3.
    """
    return _success_from_terms(_reranking_terms(correct, scores), k, N)


def _missing_reason(scores: Sequence[ArrayLike | None] | None, n_problems: int) -> str | None:
    if scores is None:
        return "no scores were given for this selector"
    if len(scores) != n_problems:
        return f"scores cover {len(scores)} problems but there are {n_problems}"
    for i, problem_scores in enumerate(scores):
        if problem_scores is None:
            return f"scores are missing (None) for problem {i}"
        if np.isnan(np.asarray(problem_scores, dtype=float)).any():
            return f"scores contain NaN for problem {i}"
    return None


def best_of_n_table(
    problems: Sequence[ArrayLike],
    selectors: Mapping[str, Sequence[ArrayLike | None] | None],
    Ns: Sequence[int],
    ks: Sequence[int],
) -> dict[str, dict[str, Any]]:
    """success@k|N of every selector, N in Ns and k in ks (pairs with k > N are left out).

    ``problems[i]`` holds problem i's correctness flags, ``selectors[name][i]`` its scores. Returns
    ``{name: {"available": True, "success": {N: {k: {"mean": float, "per_problem": list[float]}}}}}``;
    a selector whose scores are None or contain NaN anywhere becomes
    ``{"available": False, "reason": "..."}``: it is never replaced by another selector.
    Every N must be <= the smallest n_i (otherwise a ValueError names N and the problem).
    """
    flags = [_as_correct(c) for c in problems]
    for N in Ns:
        for i, f in enumerate(flags):
            if not 1 <= N <= f.size:
                raise ValueError(f"N={N} but problem {i} has only n={f.size} samples; choose N <= {f.size}")
    table: dict[str, dict[str, Any]] = {}
    for name, scores in selectors.items():
        reason = _missing_reason(scores, len(flags))
        if reason is not None:
            table[name] = {"available": False, "reason": reason}
            continue
        terms = [_reranking_terms(f, s) for f, s in zip(flags, scores)]
        success: dict[int, dict[int, dict[str, Any]]] = {}
        for N in Ns:
            success[N] = {}
            for k in ks:
                if k > N:
                    continue
                values = [_success_from_terms(t, k, N) for t in terms]
                success[N][k] = {"mean": float(np.mean(values)), "per_problem": values}
        table[name] = {"available": True, "success": success}
    return table


# --------------------------------------------------------------------------------- score constructors


def random_scores(n: int) -> np.ndarray:
    """Constant scores: with ties broken by expectation this is exactly the expected random selector."""
    return np.zeros(operator.index(n))


def length_scores(lengths: ArrayLike) -> np.ndarray:
    """score = −length (shorter completions preferred)."""
    return -np.asarray(lengths, dtype=float)


def _answer_groups(answers: Sequence[str | None]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for i, answer in enumerate(answers):
        if answer is not None:
            groups.setdefault(answer, []).append(i)
    return groups


def majority_scores(answers: Sequence[str | None]) -> np.ndarray:
    """score_i = #{j : answer_j == answer_i} / n over all n samples of the problem; None answers get 0.

    Answers are compared as exact strings (normalise them first). The shares are over all n samples, not
    over a subset: for a vote restricted to k samples use ``maj_at_k``.
    """
    scores = np.zeros(len(answers))
    for members in _answer_groups(answers).values():
        scores[members] = len(members) / len(answers)
    return scores


def _softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    if not temperature > 0:
        raise ValueError(f"temperature={temperature} must be > 0")
    logits = scores / temperature
    weights = np.exp(logits - logits.max())
    return weights / weights.sum()


def weighted_majority_scores(
    answers: Sequence[str | None], scores: ArrayLike, temperature: float = 1.0
) -> np.ndarray:
    """score_i = Σ_{j : answer_j == answer_i} p_j with p = softmax(scores/τ) over all n samples; None → 0."""
    p = _softmax(_as_scores(scores, len(answers), finite=True), temperature)
    out = np.zeros(len(answers))
    for members in _answer_groups(answers).values():
        out[members] = p[members].sum()
    return out


# ------------------------------------------------------------------------------------------- maj@k


def maj_at_k(correct: ArrayLike, answers: Sequence[str | None], k: int) -> dict[str, Any]:
    """maj@k for one problem: majority vote over a size-k subset, averaged over all C(n, k) subsets.

    None answers do not vote; a subset with no vote counts as wrong; a tie between answers is split
    uniformly (each tied answer wins with probability 1/#tied). All samples with one answer must agree on
    correctness. Exact closed form, no Monte Carlo: for a correct answer a (m_a samples) taking t votes,
        P(a wins) = Σ_t C(m_a, t) Σ_e [z^{k−t} y^e] Π_{b≠a} (Σ_{x<t} C(m_b,x) z^x + C(m_b,t) z^t y)
                    · (1+z)^{m_None} / (e+1) / C(n, k),
    where the polynomial counts subsets with every other answer below t except e answers tied at t.
    maj@k = Σ_{correct a} P(a wins). Returns {"value": float, "method": "exact"}.
    Example: answers [x, x, y], x correct, k=2: {x,x} wins, {x,y} ties (1/2), twice → (1 + 1/2 + 1/2)/3 = 2/3.
    """
    flags = _as_correct(correct)
    n = flags.size
    if len(answers) != n:
        raise ValueError(
            f"answers has {len(answers)} entries but correct has {n}; pass one answer per sample"
        )
    k = _check_range("k", k, 1, n, "n")
    groups = _answer_groups(answers)
    for answer, members in groups.items():
        if flags[members].any() != flags[members].all():
            raise ValueError(
                f"samples with answer {answer!r} disagree on correctness; grade answers consistently"
            )
    counts = {answer: len(members) for answer, members in groups.items()}
    n_none = n - sum(counts.values())
    table = _comb_table(n)
    total = 0.0
    for target in (a for a, members in groups.items() if flags[members[0]]):
        others = [m for a, m in counts.items() if a != target]
        for t in range(1, min(counts[target], k) + 1):
            poly = np.zeros((k + 1, len(others) + 1))  # poly[s, e]: s samples drawn, e answers tied at t
            poly[0, 0] = 1.0
            for m in others:
                new = np.zeros_like(poly)
                for x in range(min(m, t - 1) + 1):
                    new[x:] += table[m, x] * poly[: k + 1 - x]
                if m >= t:
                    new[t:, 1:] += table[m, t] * poly[: k + 1 - t, :-1]
                poly = new
            free = k - t  # slots left beyond the target's t votes, shared by other answers and None
            tied = sum(table[n_none, x] * poly[free - x] for x in range(min(n_none, free) + 1))  # (E,)
            total += table[counts[target], t] * float(np.sum(tied / np.arange(1, poly.shape[1] + 1)))
    return {"value": min(1.0, float(total / table[n, k])), "method": "exact"}


# ---------------------------------------------------------------------------- reward-weighted pass@k


def reward_weighted_pass_at_k(
    correct: ArrayLike, scores: ArrayLike, k: int, temperature: float = 1.0
) -> float:
    """Generalised pass@k with the correct count replaced by a reward-weighted mass (used for AIME).

    p = softmax(scores/τ) over the problem's n samples, m_eff = n · Σ_{j correct} p_j,
    value = 1 − Π_{j<k} max(0, (n − m_eff − j)/(n − j)), clipped to [0, 1]. Clamping each factor at 0 makes
    the all-wrong probability 0 once fewer than k "expected wrong" samples remain; for integer m_eff this is
    exactly pass@k, so constant scores give pass@k. Non-finite scores are an error (not weight 0).
    Example: n=2, correct=[1,0], scores=[ln 3, 0], k=1 → p=[3/4, 1/4], m_eff=1.5, value = 1 − 0.5/2 = 0.75.
    """
    flags = _as_correct(correct)
    n = flags.size
    k = _check_range("k", k, 1, n, "n")
    p = _softmax(_as_scores(scores, n, finite=True), temperature)
    m_eff = n * float(p[flags].sum())
    j = np.arange(k)
    all_wrong = float(np.prod(np.maximum(0.0, (n - m_eff - j) / (n - j))))
    return min(1.0, max(0.0, 1.0 - all_wrong))
