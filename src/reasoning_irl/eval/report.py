"""From per-problem results to ``metrics.json``: pass@k, maj@k, oracle, best-of-N, calibration.

Evaluation keeps the graded problems in :class:`~reasoning_irl.eval.results.Results` (compact numpy
columns, never the texts). Every metric comes with a 95% percentile bootstrap interval over problems
(:mod:`reasoning_irl.metrics.bootstrap`; the same seed, hence the same resamples, for every metric).
``summarise`` (a text table of ``metrics.json``) is :mod:`reasoning_irl.eval.summary`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from reasoning_irl.config.reward import EVAL_AGGREGATIONS
from reasoning_irl.eval.results import Results
from reasoning_irl.metrics import reranking as M
from reasoning_irl.metrics.bootstrap import bootstrap_ci, bootstrap_ci_indices
from reasoning_irl.metrics.calibration import (
    apply_platt,
    auroc,
    brier,
    ece,
    reliability_diagram,
    score_to_probability,
)

#: Selectors of best-of-N, in report order, with what each one ranks by.
SELECTORS: dict[str, str] = {
    "reward": "the reward model's sequence score (aggregation in calibration.reward_aggregation)",
    "reward_last": "reward score at the last scored position (q_K, the sum of the rewards)",
    "reward_mean": "mean reward score over the scored positions",
    "reward_min": "minimum reward score over the scored positions (reward.aggregation=min)",
    "reward_min_step": "minimum reward score over the steps",
    "reward_discounted": "discounted mean of the scores, weight γ^(K−1−k) (the tail weighs most)",
    "random": "constant score: the exact expectation of a uniformly random pick",
    "shortest": "−(completion length in characters)",
    "policy_mean_logprob": "mean policy log-probability of the completion tokens",
    "majority": "share of the problem's samples with the same (normalised) answer",
    "reward_weighted_majority": "Σ softmax(reward) over samples with the same answer",
}
REWARD_AGGREGATIONS = EVAL_AGGREGATIONS  # reward.aggregation's names, and min_step, discounted
CALIBRATED = ("reward", "policy_mean_logprob")


def _ci(values: Any, n_resamples: int, seed: int) -> dict[str, Any]:
    out = bootstrap_ci(np.asarray(values, dtype=float), n_resamples=n_resamples, seed=seed)
    return _compact(out)


def _compact(out: Mapping[str, Any]) -> dict[str, Any]:
    result = {"mean": _num(out["mean"]), "low": _num(out["low"]), "high": _num(out["high"])}
    if out.get("n_undefined"):
        result["n_undefined"] = out["n_undefined"]
    return result


def _num(value: Any) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def default_ns(n_min: int) -> list[int]:
    """1, 2, 4, … up to n_min, plus n_min itself."""
    ns, N = [], 1
    while N < n_min:
        ns.append(N)
        N *= 2
    return ns + [n_min]


ProblemScores = Callable[[int, int], np.ndarray]


def selector_scores(
    results: Results, name: str, aggregation: str, temperature: float = 1.0
) -> ProblemScores | None:
    """``scores(a, b)``: a selector's values on the sample rows a:b of one problem; None: unavailable."""
    if name == "random":
        return lambda a, b: M.random_scores(b - a)
    if name == "shortest":
        return lambda a, b: M.length_scores(results.length.values[a:b])
    if name == "majority":
        return lambda a, b: M.majority_scores(results.votes(a, b))
    stored = results.scores(f"reward_{aggregation}" if name in ("reward", "reward_weighted_majority") else name)
    if stored is None:
        return None
    if name == "reward_weighted_majority":
        return lambda a, b: M.weighted_majority_scores(results.votes(a, b), stored[a:b], temperature)
    return lambda a, b: stored[a:b]


def _unavailable(name: str, missing: Mapping[str, str]) -> dict[str, Any]:
    if name.startswith("reward"):
        reason = missing.get("reward", "reward scores were not computed")
    elif name.startswith("policy"):
        reason = missing.get("policy", "policy log-probabilities were not computed")
    else:
        reason = "scores missing for some problem"
    return {"available": False, "reason": reason}


def per_problem(results: Results, value: Callable[[int, int], float]) -> np.ndarray:
    """``value(a, b)`` of every problem (its sample rows a:b), shape (P,)."""
    bounds = results.bounds
    return np.array([value(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])], dtype=float)


def best_of_n(results: Results, scores: ProblemScores, Ns: Sequence[int], ks: Sequence[int]) -> dict[str, Any]:
    """success@k|N of one selector, problem by problem (:func:`metrics.best_of_n_table` of each problem).

    Returns ``{"available": True, "success": {N: {k: per-problem array}}}``, or unavailable (with the
    first problem whose scores hold NaN, as ``best_of_n_table`` reports it).
    """
    flags, bounds = results.correct.values, results.bounds
    pairs = [(N, k) for N in Ns for k in ks if k <= N]
    values = {pair: np.empty(len(results)) for pair in pairs}
    for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        s = scores(int(a), int(b))
        if np.isnan(np.asarray(s, dtype=float)).any():
            return {"available": False, "reason": f"scores contain NaN for problem {i}"}
        success = M.best_of_n_table([flags[a:b]], {"s": [s]}, Ns, ks)["s"]["success"]
        for N, k in pairs:
            values[N, k][i] = success[N][k]["per_problem"][0]
    return {"available": True, "success": {N: {k: values[N, k] for k in ks if k <= N} for N in Ns}}


def sample_metrics(
    results: Results,
    *,
    ks: Sequence[int],
    Ns: Sequence[int] | None,
    aggregation: str,
    missing: Mapping[str, str],
    platt: Mapping[str, Any] | None,
    n_resamples: int,
    seed: int,
    temperature: float = 1.0,
) -> dict[str, Any]:
    """pass@k, maj@k, oracle, best-of-N, reward-weighted pass@k and calibration of the graded problems."""
    if not len(results):
        raise ValueError("no problems were evaluated: the input is empty (or eval.max_problems=0)")
    n, c, flags = results.n.values, results.correct_count.values, results.correct.values
    n_min, n_max = int(n.min()), int(n.max())
    out: dict[str, Any] = {
        "n_problems": len(results),
        "n_samples": int(n.sum()),
        "samples_per_problem": {"min": n_min, "max": n_max},
        "accuracy": _num(np.mean(flags)),
        "answer_rate": _num(np.mean(results.vote.values >= 0)),
    }
    valid_ks = [k for k in ks if k <= n_min]
    skipped = {
        str(k): {"available": False, "reason": f"k={k} exceeds the {n_min} samples of the smallest problem"}
        for k in ks
        if k > n_min
    }

    def pass_at(k: int) -> np.ndarray:  # pass@k and oracle@k of each problem, from its n and c
        return np.array([M.pass_at_k(int(ni), int(ci), k) for ni, ci in zip(n, c)])

    out["pass_at_k"] = {**{str(k): _ci(pass_at(k), n_resamples, seed) for k in valid_ks}, **skipped}
    out["maj_at_k"] = {**{str(k): _ci(results.maj[k].values, n_resamples, seed) for k in valid_ks}, **skipped}
    too_many = sorted(N for N in (Ns or ()) if N > n_min)
    if too_many:  # never reported as best-of-n_min under the name asked for
        raise ValueError(
            f"eval.best_of_ns={list(Ns or ())}: N={too_many[0]} exceeds the {n_min} samples of the smallest "
            f"problem; use N <= {n_min} (or null: 1, 2, 4, …), or sample more completions (sampling.n_samples)"
        )
    Ns = sorted({N for N in (Ns or default_ns(n_min)) if 1 <= N <= n_min}) or [n_min]
    out["oracle_at_n"] = {str(N): _ci(pass_at(N), n_resamples, seed) for N in Ns}
    best: dict[str, Any] = {}
    for name, description in SELECTORS.items():
        scores = selector_scores(results, name, aggregation, temperature)
        entry = None if scores is None else best_of_n(results, scores, Ns, valid_ks or [1])
        if entry is None or not entry["available"]:
            best[name] = {**(entry or _unavailable(name, missing)), "description": description}
            continue
        best[name] = {
            "available": True,
            "description": description,
            "success": {
                str(N): {str(k): _ci(values, n_resamples, seed) for k, values in by_k.items()}
                for N, by_k in entry["success"].items()
            },
        }
    out["best_of_n"] = {"Ns": Ns, "ks": valid_ks or [1], "selectors": best}
    rewards = results.scores(f"reward_{aggregation}")
    if rewards is None:
        out["reward_weighted_pass_at_k"] = _unavailable("reward", missing)
    else:
        out["reward_weighted_pass_at_k"] = {
            "available": True,
            "temperature": temperature,
            "values": {
                str(k): _ci(
                    per_problem(
                        results,
                        lambda a, b, k=k: M.reward_weighted_pass_at_k(flags[a:b], rewards[a:b], k, temperature),
                    ),
                    n_resamples,
                    seed,
                )
                for k in valid_ks
            },
        }
    out["calibration"] = {
        name: calibration_metrics(
            results,
            results.scores(f"reward_{aggregation}" if name == "reward" else name),
            (platt or {}).get(name),
            n_resamples,
            seed,
            _unavailable(name, missing),
        )
        for name in CALIBRATED
    }
    return out


def problem_rows(bounds: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """The sample rows of problems ``idx`` (with repeats, in order): ``concatenate(arange(bounds[i], bounds[i+1]))``."""
    starts, sizes = bounds[idx], bounds[idx + 1] - bounds[idx]
    ends = np.cumsum(sizes)
    return np.arange(ends[-1]) + np.repeat(starts - (ends - sizes), sizes)


def calibration_metrics(
    results: Results,
    values: np.ndarray | None,
    platt: Mapping[str, Any] | None,
    n_resamples: int,
    seed: int,
    unavailable: Mapping[str, Any],
) -> dict[str, Any]:
    """AUROC, ECE (10 bins) and Brier of σ(score) and of the Platt-scaled score, pooled over samples."""
    if values is None:
        return dict(unavailable)
    labels, bounds = results.correct.values, results.bounds

    def boot(fn) -> dict[str, Any]:
        def stat(idx: np.ndarray) -> float:
            rows = problem_rows(bounds, idx)
            return fn(labels[rows], values[rows])

        return _compact(bootstrap_ci_indices(len(results), stat, n_resamples, seed))

    raw = score_to_probability(values)
    out: dict[str, Any] = {"available": True, "n": int(labels.size), "positive_rate": _num(labels.mean())}
    if labels.all() or not labels.any():
        out["auroc"] = {"mean": None, "reason": "only one class (all samples correct or all wrong)"}
    else:
        out["auroc"] = boot(auroc)
    out["raw"] = {
        "probability": "sigmoid(score)",
        "ece": boot(lambda y, s: ece(y, score_to_probability(s))),
        "brier": boot(lambda y, s: brier(y, score_to_probability(s))),
        "reliability": _clean(reliability_diagram(labels, raw)),
    }
    if platt is None:
        out["platt"] = {
            "available": False,
            "reason": "no Platt parameters: fit them with eval.fit_on=validation "
            "and pass the written calibration.json as eval.calibration_path",
        }
    else:
        a, b = float(platt["a"]), float(platt["b"])
        out["platt"] = {
            "available": True,
            "a": a,
            "b": b,
            "fitted_on": platt.get("fitted_on", "validation"),
            "ece": boot(lambda y, s: ece(y, apply_platt(s, a, b))),
            "brier": boot(lambda y, s: brier(y, apply_platt(s, a, b))),
            "reliability": _clean(reliability_diagram(labels, apply_platt(values, a, b))),
        }
    return out


def _clean(obj: Any) -> Any:
    """NaN → None, recursively (JSON has no NaN)."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj
