"""From per-problem results to ``metrics.json``: pass@k, maj@k, oracle, best-of-N, calibration; ``summarise``.

Evaluation keeps one :class:`ProblemResult` per problem (flags, vote keys, lengths and one value per sample
for every selector) — never the texts — so metrics need memory linear in the number of samples, not in
the size of the input file. Every metric comes with a 95% percentile bootstrap interval over problems
(:mod:`reasoning_irl.eval.bootstrap`; the same seed, hence the same resamples, for every metric).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

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

#: Selectors of best-of-N, in report order, with what each one ranks by.
SELECTORS: dict[str, str] = {
    "reward": "the reward model's sequence score (aggregation in calibration.reward_aggregation)",
    "reward_last": "reward score at the last scored position (q_K, the sum of the rewards)",
    "reward_mean": "mean reward score over the scored positions",
    "reward_min_step": "minimum reward score over the steps",
    "reward_discounted": "discounted mean of the scores, weight γ^(K−1−k) (the tail weighs most)",
    "random": "constant score: the exact expectation of a uniformly random pick",
    "shortest": "−(completion length in characters)",
    "policy_mean_logprob": "mean policy log-probability of the completion tokens",
    "majority": "share of the problem's samples with the same (normalised) answer",
    "reward_weighted_majority": "Σ softmax(reward) over samples with the same answer",
}
REWARD_AGGREGATIONS = ("last", "mean", "min_step", "discounted")
CALIBRATED = ("reward", "policy_mean_logprob")


@dataclass
class ProblemResult:
    problem_id: str
    correct: list[bool]
    votes: list[str | None]
    lengths: list[int]
    #: selector → one value per sample; a selector missing here is unavailable for this problem.
    scores: dict[str, list[float]] = field(default_factory=dict)


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


def reward_selector(problem: ProblemResult, aggregation: str) -> list[float] | None:
    return problem.scores.get(f"reward_{aggregation}")


def selector_table(
    results: Sequence[ProblemResult], aggregation: str, missing: Mapping[str, str], temperature: float = 1.0
) -> dict[str, list[np.ndarray] | None]:
    """Per-problem score arrays of every selector (None: unavailable)."""
    table: dict[str, list[np.ndarray] | None] = {}
    for name in SELECTORS:
        per_problem: list[np.ndarray] = []
        for p in results:
            if name == "reward":
                values = reward_selector(p, aggregation)
            elif name == "random":
                values = M.random_scores(len(p.correct))
            elif name == "shortest":
                values = M.length_scores(p.lengths)
            elif name == "majority":
                values = M.majority_scores(p.votes)
            elif name == "reward_weighted_majority":
                base = reward_selector(p, aggregation)
                values = None if base is None else M.weighted_majority_scores(p.votes, base, temperature)
            else:
                values = p.scores.get(name)
            if values is None:
                per_problem = None  # type: ignore[assignment]
                break
            per_problem.append(np.asarray(values, dtype=float))
        table[name] = per_problem
    return table


def _unavailable(name: str, missing: Mapping[str, str]) -> dict[str, Any]:
    if name.startswith("reward"):
        reason = missing.get("reward", "reward scores were not computed")
    elif name.startswith("policy"):
        reason = missing.get("policy", "policy log-probabilities were not computed")
    else:
        reason = "scores missing for some problem"
    return {"available": False, "reason": reason}


def sample_metrics(
    results: Sequence[ProblemResult],
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
    """pass@k, maj@k, oracle, best-of-N, reward-weighted pass@k and calibration of sample results."""
    if not results:
        raise ValueError("no problems were evaluated: the input is empty (or eval.max_problems=0)")
    flags = [np.asarray(p.correct, dtype=bool) for p in results]
    n_min, n_max = min(f.size for f in flags), max(f.size for f in flags)
    out: dict[str, Any] = {
        "n_problems": len(results),
        "n_samples": int(sum(f.size for f in flags)),
        "samples_per_problem": {"min": n_min, "max": n_max},
        "accuracy": _num(np.mean(np.concatenate(flags))),
        "answer_rate": _num(np.mean([v is not None for p in results for v in p.votes])),
    }
    valid_ks = [k for k in ks if k <= n_min]
    skipped = {
        str(k): {"available": False, "reason": f"k={k} exceeds the {n_min} samples of the smallest problem"}
        for k in ks
        if k > n_min
    }
    out["pass_at_k"] = {
        **{str(k): _ci(M.pass_at_k_per_problem(flags, k), n_resamples, seed) for k in valid_ks},
        **skipped,
    }
    out["maj_at_k"] = {
        **{
            str(k): _ci(M.maj_at_k_per_problem(flags, [p.votes for p in results], k), n_resamples, seed)
            for k in valid_ks
        },
        **skipped,
    }
    Ns = sorted({N for N in (Ns or default_ns(n_min)) if 1 <= N <= n_min}) or [n_min]
    out["oracle_at_n"] = {str(N): _ci([M.oracle_at_n(f, N) for f in flags], n_resamples, seed) for N in Ns}
    table = selector_table(results, aggregation, missing, temperature)
    best: dict[str, Any] = {}
    available = {k: v for k, v in table.items() if v is not None}
    computed = M.best_of_n_table(flags, available, Ns, valid_ks or [1])
    for name, description in SELECTORS.items():
        if table[name] is None:
            best[name] = {**_unavailable(name, missing), "description": description}
            continue
        entry = computed[name]
        if not entry["available"]:
            best[name] = {**entry, "description": description}
            continue
        best[name] = {
            "available": True,
            "description": description,
            "success": {
                str(N): {str(k): _ci(cell["per_problem"], n_resamples, seed) for k, cell in by_k.items()}
                for N, by_k in entry["success"].items()
            },
        }
    out["best_of_n"] = {"Ns": Ns, "ks": valid_ks or [1], "selectors": best}
    rewards = table["reward"]
    if rewards is None:
        out["reward_weighted_pass_at_k"] = _unavailable("reward", missing)
    else:
        out["reward_weighted_pass_at_k"] = {
            "available": True,
            "temperature": temperature,
            "values": {
                str(k): _ci(
                    [M.reward_weighted_pass_at_k(f, s, k, temperature) for f, s in zip(flags, rewards)],
                    n_resamples,
                    seed,
                )
                for k in valid_ks
            },
        }
    out["calibration"] = {
        name: calibration_metrics(
            flags, table[name], (platt or {}).get(name), n_resamples, seed, _unavailable(name, missing)
        )
        for name in CALIBRATED
    }
    return out


def calibration_metrics(
    flags: Sequence[np.ndarray],
    scores: Sequence[np.ndarray] | None,
    platt: Mapping[str, Any] | None,
    n_resamples: int,
    seed: int,
    unavailable: Mapping[str, Any],
) -> dict[str, Any]:
    """AUROC, ECE (10 bins) and Brier of σ(score) and of the Platt-scaled score, pooled over samples."""
    if scores is None:
        return dict(unavailable)
    labels = np.concatenate(flags)
    values = np.concatenate(scores)
    bounds = np.cumsum([0] + [f.size for f in flags])
    ranges = [np.arange(bounds[i], bounds[i + 1]) for i in range(len(flags))]

    def boot(fn) -> dict[str, Any]:
        def stat(idx: np.ndarray) -> float:
            rows = np.concatenate([ranges[i] for i in idx])
            return fn(labels[rows], values[rows])

        return _compact(bootstrap_ci_indices(len(flags), stat, n_resamples, seed))

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
