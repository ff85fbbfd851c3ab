"""From per-problem results to ``metrics.json``: pass@k, maj@k, oracle, best-of-N, calibration; ``summarise``.

Evaluation keeps the graded problems in :class:`Results`, compact numpy columns and never the texts:
per problem, as soon as its rows are complete, its number of samples n, correct count c and maj@k
(k in ``eval.ks``); per sample, only what a metric needs over all samples or for an N known only at the
end (the smallest n): the correctness flag (bool), the vote group of its answer (int32), its length and
one float64 value per stored score selector (13 bytes plus 8 per selector, at most 53 per sample), and
no Python object per sample.
Every metric comes with a 95% percentile bootstrap interval over problems
(:mod:`reasoning_irl.eval.bootstrap`; the same seed, hence the same resamples, for every metric).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from reasoning_irl.config.reward import EVAL_AGGREGATIONS
from reasoning_irl.eval import metrics as M
from reasoning_irl.eval.bootstrap import bootstrap_ci, bootstrap_ci_indices
from reasoning_irl.eval.calibration import (
    apply_platt,
    auroc,
    brier,
    ece,
    reliability_diagram,
    score_to_probability,
)
from reasoning_irl.eval.inputs import answer_lines

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


class Column:
    """A growable 1-D numpy array: appends are amortised O(1) (capacity doubles), no object per value."""

    def __init__(self, dtype: Any, capacity: int = 1024) -> None:
        self._data = np.empty(capacity, dtype=dtype)
        self.size = 0

    def extend(self, values: Any) -> None:
        values = np.asarray(values, dtype=self._data.dtype).ravel()
        end = self.size + values.size
        if end > self._data.size:
            grown = np.empty(max(end, 2 * self._data.size), dtype=self._data.dtype)
            grown[: self.size] = self._data[: self.size]
            self._data = grown
        self._data[self.size : end] = values
        self.size = end

    @property
    def values(self) -> np.ndarray:
        return self._data[: self.size]


@dataclass
class ProblemResult:
    """One graded problem, as views into :class:`Results` (what calibration fitting reads)."""

    correct: np.ndarray
    #: selector → one value per sample; a selector missing here is unavailable.
    scores: dict[str, np.ndarray]


class Results:
    """The graded problems of an evaluation, in columns (see the module docstring)."""

    def __init__(self, ks: Sequence[int]) -> None:
        self.ks = sorted(set(ks))
        self.n, self.correct_count = Column(np.int64), Column(np.int64)
        self.maj = {k: Column(np.float64) for k in self.ks}  # maj@k of each problem, NaN for k > n
        self.correct, self.vote, self.length = Column(bool), Column(np.int32), Column(np.int64)
        self._scores: dict[str, Column] = {}
        self.incomplete: set[str] = set()  # selectors some problem lacks: unavailable

    def add(
        self, correct: Sequence[bool], votes: Sequence[str | None], lengths: Sequence[int], scores: Mapping[str, Any]
    ) -> None:
        """Keep one graded problem: its flags, vote keys (None: no answer), lengths and selector scores."""
        flags = np.asarray(correct, dtype=bool)
        n = flags.size
        if not len(self):
            self._scores = {name: Column(np.float64) for name in scores}
        else:  # a selector some problem lacks is unavailable for all
            self.incomplete |= (set(self._scores) | self.incomplete) ^ set(scores)
            for name in self.incomplete:
                self._scores.pop(name, None)
        for name, column in self._scores.items():
            column.extend(scores[name])
        for k, column in self.maj.items():
            column.extend(M.maj_at_k(flags, votes, k)["value"] if k <= n else np.nan)
        groups: dict[str, int] = {}
        self.vote.extend([-1 if v is None else groups.setdefault(v, len(groups)) for v in votes])
        self.n.extend(n)
        self.correct_count.extend(int(flags.sum()))
        self.correct.extend(flags)
        self.length.extend(lengths)

    def __len__(self) -> int:
        return self.n.size

    @property
    def bounds(self) -> np.ndarray:
        """Sample rows of problem i: ``bounds[i]:bounds[i + 1]``."""
        return np.concatenate([[0], np.cumsum(self.n.values)])

    def scores(self, name: str) -> np.ndarray | None:
        """Every sample's value of a stored selector (``reward_*``, ``policy_mean_logprob``), None if missing."""
        column = self._scores.get(name)
        return None if column is None else column.values

    def __iter__(self) -> Iterator[ProblemResult]:
        bounds = self.bounds
        for a, b in zip(bounds[:-1], bounds[1:]):
            yield ProblemResult(
                self.correct.values[a:b], {name: c.values[a:b] for name, c in self._scores.items()}
            )

    def votes(self, a: int, b: int) -> list[int | None]:
        """Vote groups of rows a:b as ``metrics`` expects answers (None: no answer; equal = same answer)."""
        return [None if v < 0 else int(v) for v in self.vote.values[a:b]]
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


# --------------------------------------------------------------------------------------------- summary


def _fmt(cell: Any) -> str:
    if isinstance(cell, (int, float)) and not isinstance(cell, bool):
        return f"{100 * cell:.1f}"
    if not isinstance(cell, Mapping) or cell.get("mean") is None:
        return "n/a"
    if cell.get("low") is None:
        return f"{100 * cell['mean']:.1f}"
    return f"{100 * cell['mean']:.1f} [{100 * cell['low']:.1f}, {100 * cell['high']:.1f}]"


def summarise(metrics: Mapping[str, Any]) -> str:
    """A short text table of a ``metrics.json``: pass@k, best-of-N, calibration, localisation (in %)."""
    lines = [
        f"evaluation: mode={metrics.get('mode')} task={metrics.get('task')} split={metrics.get('split')} "
        f"problems={metrics.get('n_problems')} samples={metrics.get('n_samples')}"
    ]
    lines += answer_lines(metrics)
    if "maj_at_k" in metrics:
        lines.append(
            "  pass@k      " + "  ".join(f"k={k}: {_fmt(v)}" for k, v in metrics["pass_at_k"].items())
        )
        lines.append(
            "  maj@k       " + "  ".join(f"k={k}: {_fmt(v)}" for k, v in metrics["maj_at_k"].items())
        )
    best = metrics.get("best_of_n")
    if best:
        N = str(max(best["Ns"]))
        lines.append(f"  best-of-{N} success@1 by selector:")
        for name, entry in best["selectors"].items():
            value = _fmt(entry["success"][N].get("1")) if entry.get("available") else "unavailable"
            lines.append(f"    {name:<26} {value}")
        lines.append(f"    {'oracle':<26} {_fmt(metrics['oracle_at_n'].get(N))}")
    for name, cal in (metrics.get("calibration") or {}).items():
        if cal.get("available"):
            platt = _fmt(cal["platt"]["ece"]) if cal["platt"].get("available") else "n/a"
            lines.append(
                f"  calibration {name}: AUROC {_fmt(cal['auroc'])}  ECE raw {_fmt(cal['raw']['ece'])}"
                f"  ECE Platt {platt}"
            )
    loc = metrics.get("localisation")
    if loc and loc.get("available"):
        lines.append(f"  localisation ({loc['n_traces']} traces, {loc['n_with_error']} with an error):")
        for name, entry in loc["methods"].items():
            if not entry.get("available"):
                lines.append(f"    {name:<22} unavailable")
                continue
            f1 = entry["processbench"]
            hit = entry["step_hit"].get("1", {})
            f1_text = _fmt(f1.get("f1")) if f1.get("available", True) else "n/a"
            lines.append(
                f"    {name:<22} F1 {f1_text}  hit@1 {_fmt(hit.get('hit'))} (chance {_fmt(hit.get('chance'))})"
                f"  MAP {_fmt(entry['map'].get('map'))}"
            )
    return "\n".join(lines)
