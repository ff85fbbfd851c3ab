"""Error localisation: ProcessBench F1, decision rules from step scores, hit@k, window hit and MAP
(docs/METHOD.md §8.3).

A trace's truth is ``first_error_step``: the index of its first wrong step, or None when no step is wrong.
A prediction is an index or None (no error predicted). Step scores z_0..z_{L−1} are a reward model's values
per step (higher = better). Every metric states its chance level where one is defined; rankings break ties
by the exact expectation over uniformly random orderings (docs/ARCHITECTURE.md (Runs and outputs)).

Two decision rules, each with one predict and one fit (:func:`fit_threshold`):

- ``below``: the first step whose value z_t is below τ (:func:`first_below_threshold`);
- ``largest``: the step of the largest signal s_t if it exceeds θ, else none (:func:`largest_signal`) —
  for the drop of a score, s = :func:`step_drops` (z); for the policy baselines a log-prob drop or an
  entropy rise.

Drop convention: d_t = z_{t−1} − z_t for t >= 1, and d_0 = initial − z_0 when an ``initial`` value (e.g. the
score of the empty prefix) is given, else d_0 = 0 (z_{−1} := z_0). With θ = 0 and a strict ">", step 0 can
then never be picked by ``largest`` on drops without an ``initial``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

Ranking = Literal["drop", "low"]


def _as_steps(step_scores: ArrayLike) -> np.ndarray:
    arr = np.asarray(step_scores, dtype=float)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"step scores must be a non-empty 1-D array, got shape {arr.shape}")
    if np.isnan(arr).any():
        raise ValueError(
            f"step scores contain NaN at step {int(np.flatnonzero(np.isnan(arr))[0])}; rescore the trace"
        )
    return arr


def _normalised(hit: float, chance: float) -> float | None:
    """(hit − chance) / (1 − chance); None when chance = 1 (every guess hits)."""
    return None if chance >= 1.0 else (hit - chance) / (1.0 - chance)


# ------------------------------------------------------------------------------------ decision rules


def step_drops(step_scores: ArrayLike, initial: float | None = None) -> np.ndarray:
    """d_t = z_{t−1} − z_t, with d_0 = initial − z_0 if ``initial`` is given, else 0 (module convention)."""
    z = _as_steps(step_scores)
    previous = np.concatenate([[z[0] if initial is None else float(initial)], z[:-1]])
    return previous - z


def first_below_threshold(step_scores: ArrayLike, tau: float) -> int | None:
    """Index of the first step with z_t < tau, or None (no error predicted)."""
    below = np.flatnonzero(_as_steps(step_scores) < tau)
    return int(below[0]) if below.size else None


def largest_signal(signal: ArrayLike, theta: float = 0.0) -> int | None:
    """argmax_t s_t (the first one on ties) if max_t s_t > θ, else None (rule ``largest``)."""
    s = _as_steps(signal)
    best = int(np.argmax(s))
    return best if s[best] > theta else None


# -------------------------------------------------------------------------------------- ProcessBench F1


def processbench_f1(truth: Sequence[int | None], pred: Sequence[int | None]) -> dict[str, Any]:
    """ProcessBench F1: harmonic mean of the accuracy on traces with an error and on traces without.

    acc_error = mean over traces with truth t* of [pred == t*]; acc_correct = mean over traces without an
    error of [pred is None]; f1 = 2·acc_error·acc_correct / (acc_error + acc_correct), 0 when either is 0.
    When a class is absent its accuracy is None, f1 is None and ``reason`` says why.
    Example: truth [1, None, 2, None], pred [1, None, 0, 3] → acc_error 1/2, acc_correct 1/2, f1 1/2.
    """
    if len(truth) != len(pred):
        raise ValueError(f"{len(truth)} truths but {len(pred)} predictions; pass one prediction per trace")
    error_hits = [p == t for t, p in zip(truth, pred) if t is not None]
    clean_hits = [p is None for t, p in zip(truth, pred) if t is None]
    acc_error = float(np.mean(error_hits)) if error_hits else None
    acc_correct = float(np.mean(clean_hits)) if clean_hits else None
    out: dict[str, Any] = {
        "acc_error": acc_error,
        "acc_correct": acc_correct,
        "n_error": len(error_hits),
        "n_correct": len(clean_hits),
    }
    if acc_error is None or acc_correct is None:
        missing = "with an error" if acc_error is None else "without an error"
        return {**out, "f1": None, "reason": f"no traces {missing}: F1 is undefined"}
    total = acc_error + acc_correct
    return {**out, "f1": 0.0 if total == 0 else 2 * acc_error * acc_correct / total, "reason": None}


def processbench_chance(truth: Sequence[int | None], n_steps: Sequence[int]) -> dict[str, Any]:
    """ProcessBench accuracies and F1 of the uniform random predictor on the given data.

    For a trace of L steps the random predictor picks each of {0, …, L−1, None} with probability 1/(L+1),
    so each accuracy is the mean of 1/(L+1) over its traces; f1 is the harmonic mean of the two expected
    accuracies (same shape as ``processbench_f1``).
    """
    if len(truth) != len(n_steps):
        raise ValueError(f"{len(truth)} truths but {len(n_steps)} step counts; pass one per trace")
    error = [1.0 / (n + 1) for t, n in zip(truth, n_steps) if t is not None]
    clean = [1.0 / (n + 1) for t, n in zip(truth, n_steps) if t is None]
    acc_error = float(np.mean(error)) if error else None
    acc_correct = float(np.mean(clean)) if clean else None
    if acc_error is None or acc_correct is None:
        return {"acc_error": acc_error, "acc_correct": acc_correct, "f1": None, "reason": "a class is absent"}
    f1 = 2 * acc_error * acc_correct / (acc_error + acc_correct)
    return {"acc_error": acc_error, "acc_correct": acc_correct, "f1": f1, "reason": None}


def fit_threshold(
    values: Sequence[ArrayLike],
    truth: Sequence[int | None],
    candidates: ArrayLike | None = None,
    rule: Literal["below", "largest"] = "below",
) -> dict[str, Any]:
    """Threshold maximising ProcessBench F1 on validation traces; ties go to the smallest threshold.

    rule ``below``: τ of :func:`first_below_threshold` over per-step values; default candidates are the
    midpoints of the sorted unique values plus one below and one above all of them (always / never flag
    step 0). rule ``largest``: θ of :func:`largest_signal` over per-step signals; default candidates are the
    midpoints of the sorted unique per-trace maxima plus one below and one above them.
    Returns {"rule", "threshold", "f1", "acc_error", "acc_correct"}. Both kinds of trace must be present.
    """
    if len(values) != len(truth):
        raise ValueError(f"{len(values)} traces but {len(truth)} truths; pass one truth per trace")
    if all(t is None for t in truth) or all(t is not None for t in truth):
        raise ValueError(
            "fitting a threshold needs traces with and without an error: F1 is undefined otherwise"
        )
    if rule not in ("below", "largest"):
        raise ValueError(f"rule={rule!r} is unknown; use 'below' or 'largest'")
    traces = [_as_steps(s) for s in values]
    if candidates is None:
        pool = np.unique(np.concatenate(traces) if rule == "below" else [z.max() for z in traces])
        candidates = np.concatenate([[pool[0] - 1.0], (pool[1:] + pool[:-1]) / 2, [pool[-1] + 1.0]])
    taus = np.unique(np.asarray(candidates, dtype=float))  # sorted ascending: argmax keeps the smallest
    error_hits = np.zeros(taus.size)
    clean_hits = np.zeros(taus.size)
    for z, t in zip(traces, truth):
        if rule == "below":
            # prefix minimum is non-increasing: the first step below tau = number of prefix minima >= tau
            prefix_min = np.minimum.accumulate(z)
            index = np.searchsorted(-prefix_min, -taus, side="right")
            pred = np.where(index == z.size, -1, index)
        else:
            pred = np.where(z.max() > taus, int(np.argmax(z)), -1)
        if t is None:
            clean_hits += pred == -1
        else:
            error_hits += pred == t
    acc_error = error_hits / sum(t is not None for t in truth)
    acc_correct = clean_hits / sum(t is None for t in truth)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.nan_to_num(2 * acc_error * acc_correct / (acc_error + acc_correct))
    best = int(np.argmax(f1))
    return {
        "rule": rule,
        "threshold": float(taus[best]),
        "f1": float(f1[best]),
        "acc_error": float(acc_error[best]),
        "acc_correct": float(acc_correct[best]),
    }


# ----------------------------------------------------------------------------------- ranking metrics


def _hit_in_top_k(signal: np.ndarray, target: int, k: int) -> float:
    """P(target among the top-k of ``signal`` (descending)) with ties broken uniformly at random."""
    above = int(np.sum(signal > signal[target]))
    tied = int(np.sum(signal == signal[target]))
    return float(np.clip((k - above) / tied, 0.0, 1.0))


def step_hit_at_k(
    step_scores: Sequence[ArrayLike],
    truth: Sequence[int | None],
    k: int,
    ranking: Ranking = "drop",
    initial: float | None = None,
) -> dict[str, Any]:
    """Step hit@k: is the first wrong step among the top-k steps? Averaged over traces with an error.

    ranking "drop" orders steps by d_t (largest first, module convention for d_0); "low" by z_t (lowest
    first). Ties count by expectation: with a steps ranked strictly above the truth and g tied with it,
    hit = clip((k − a)/g, 0, 1). chance = mean of min(k, L)/L (a uniformly random ranking).
    Returns {"hit", "chance", "normalised_hit", "n"}; hit and chance are None when no trace has an error.
    """
    if k < 1:
        raise ValueError(f"k={k} must be >= 1")
    if ranking not in ("drop", "low"):
        raise ValueError(f"ranking={ranking!r} is unknown; use 'drop' or 'low'")
    if len(step_scores) != len(truth):
        raise ValueError(f"{len(step_scores)} traces but {len(truth)} truths; pass one truth per trace")
    hits, chances = [], []
    for z, t in zip(step_scores, truth):
        if t is None:
            continue
        z = _as_steps(z)
        if not 0 <= t < z.size:
            raise ValueError(f"truth step {t} lies outside a trace of {z.size} steps")
        signal = step_drops(z, initial) if ranking == "drop" else -z
        hits.append(_hit_in_top_k(signal, t, k))
        chances.append(min(k, z.size) / z.size)
    if not hits:
        return {"hit": None, "chance": None, "normalised_hit": None, "n": 0}
    hit, chance = float(np.mean(hits)), float(np.mean(chances))
    return {"hit": hit, "chance": chance, "normalised_hit": _normalised(hit, chance), "n": len(hits)}


def window_hit(
    pred: Sequence[int | None], targets: Sequence[Sequence[int]], lengths: Sequence[int], w: int
) -> dict[str, Any]:
    """Hit@1 within window w: 1 if |t̂ − t*| <= w for some target t* (a None prediction misses).

    chance per trace = fraction of positions 0..L−1 within w of some target; hit and chance are averaged
    over traces and normalised_hit = (hit − chance)/(1 − chance) (None if chance = 1).
    Example: L = 10, targets {4}, w = 1 → positions 3, 4, 5 hit: chance 0.3; t̂ = 5 hits.
    """
    if not len(pred) == len(targets) == len(lengths):
        raise ValueError(f"got {len(pred)} predictions, {len(targets)} target sets, {len(lengths)} lengths")
    if w < 0:
        raise ValueError(f"window w={w} must be >= 0")
    if not pred:
        raise ValueError("window_hit needs at least one trace")
    hits, chances = [], []
    for p, target, length in zip(pred, targets, lengths):
        target = np.asarray(target, dtype=int)
        if target.size == 0 or target.min() < 0 or target.max() >= length:
            raise ValueError(f"targets {target.tolist()} must be non-empty positions in [0, {length})")
        distance = np.abs(np.arange(length)[:, None] - target[None, :]).min(axis=1)  # (L,)
        chances.append(float(np.mean(distance <= w)))
        hits.append(p is not None and bool(np.abs(target - p).min() <= w))
    hit, chance = float(np.mean(hits)), float(np.mean(chances))
    return {"hit": hit, "chance": chance, "normalised_hit": _normalised(hit, chance), "n": len(hits)}


def average_precision(signal: ArrayLike, targets: Sequence[int]) -> float:
    """Average precision of ranking positions by ``signal`` (descending) against a set of target positions.

    AP = (1/R) Σ_{targets i} (#targets ranked at or above i) / rank(i), in expectation over a uniformly
    random order inside ties: for a tie group of size g holding r_g targets after a positions (r_a
    targets), a target at in-group position q has E[#targets above it] = (q−1)(r_g−1)/(g−1), so
        E[AP] = (1/R) Σ_groups (r_g/g) Σ_{q=1}^{g} (r_a + 1 + (q−1)(r_g−1)/(g−1)) / (a + q).
    Example: signal [3, 1, 2], targets {1, 2} → ranks 3 and 2 → AP = ½(1/2 + 2/3) = 7/12.
    """
    s = _as_steps(signal)
    relevant = np.zeros(s.size, dtype=bool)
    target = np.asarray(targets, dtype=int)
    if target.size == 0 or target.min() < 0 or target.max() >= s.size:
        raise ValueError(f"targets {target.tolist()} must be non-empty positions in [0, {s.size})")
    relevant[target] = True
    _, group, sizes = np.unique(-s, return_inverse=True, return_counts=True)
    in_group = np.bincount(group, weights=relevant, minlength=sizes.size)
    total, above, targets_above = 0.0, 0, 0.0
    for g, r_g in zip(sizes, in_group):
        if r_g > 0:
            q = np.arange(1, g + 1)
            others = (q - 1) * (r_g - 1) / (g - 1) if g > 1 else np.zeros(1)
            total += r_g / g * float(np.sum((targets_above + 1 + others) / (above + q)))
        above += int(g)
        targets_above += r_g
    return total / relevant.sum()


def mean_average_precision(signals: Sequence[ArrayLike], targets: Sequence[Sequence[int]]) -> dict[str, Any]:
    """MAP over traces, with its chance level (mean AP of a constant signal, i.e. a random ranking).

    Returns {"map", "chance", "n"}.
    """
    if len(signals) != len(targets) or not signals:
        raise ValueError(
            f"got {len(signals)} signals and {len(targets)} target sets; pass one of each per trace"
        )
    values = [average_precision(s, t) for s, t in zip(signals, targets)]
    chance = [average_precision(np.zeros(np.size(s)), t) for s, t in zip(signals, targets)]
    return {"map": float(np.mean(values)), "chance": float(np.mean(chance)), "n": len(values)}
