"""Error localisation at evaluation: per-trace signals of every method, decision rules, metrics, fitting.

A *trace* is a completion with known truth (its first wrong step, or None). Each localisation *method*
gives, per step, a ``signal`` (higher = more likely the first error; used by hit@k and MAP) and, for
"below" rules, per-step ``values`` (lower = worse); and one predicted token for the token window hit.

Methods (docs/EVALUATION_GUIDE.md §5):

- ``reward``: values = the reward model's step scores z_j; rule: the first step with z_j < τ; signal =
  the drop z_{j−1} − z_j with z_{−1} = 0 (the score before the completion, docs/METHOD.md).
- ``reward_drop``: the same signal; rule: the step of the largest drop if it exceeds θ.

  Unfitted τ and θ: 0 for a ``gail`` reward model, whose score is the discriminator's logit (τ = 0 ⇔
  σ(score) < ½). An ``airl`` score is no logit (the logit is f − log π; under ``log_prob`` the score is
  a running log-likelihood, below 0 from the first step and falling at every one), so 0 means nothing
  there: without a fitted τ/θ the decision (ProcessBench F1, ``predicted_first_error_step``) is refused
  and says to fit it on validation; the threshold-free measures (hit@k, window hit, MAP) stay.
- ``policy_low_prob``: values = the lowest log-probability the policy gives a token of the step; rule: the
  step of the first token with probability below τ (τ fitted on validation; unavailable otherwise).
- ``policy_logprob_drop``: signal = the largest drop log π(y_{t−1}) − log π(y_t) inside the step.
- ``policy_entropy_rise``: signal = the largest rise of the policy's entropy H_t − H_{t−1} inside the step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reasoning_irl.metrics.bootstrap import bootstrap_ci, bootstrap_ci_indices
from reasoning_irl.metrics.localisation import (
    average_precision,
    first_below_threshold,
    fit_threshold,
    largest_signal,
    processbench_chance,
    processbench_f1,
    step_drops,
    step_hit_at_k,
    window_hit,
)
from reasoning_irl.rewards.forms import build_form

METHODS: dict[str, tuple[str, str]] = {
    # name: (rule, description of the signal)
    "reward": ("below", "first step whose reward score is below τ"),
    "reward_drop": ("largest", "step of the largest drop of the reward score, if above θ"),
    "policy_low_prob": ("below", "step of the first token the policy gives log-probability below log τ"),
    "policy_logprob_drop": ("largest", "step of the largest drop of the policy's token log-probability"),
    "policy_entropy_rise": ("largest", "step of the largest rise of the policy's token entropy"),
}
DEFAULT_THRESHOLDS = {
    "reward": 0.0,
    "reward_drop": 0.0,
    "policy_logprob_drop": 0.0,
    "policy_entropy_rise": 0.0,
}


@dataclass
class MethodSignal:
    signal: list[float]
    values: list[float] | None = None
    token_pred: int | None = None
    token_targets: list[int] | None = None
    n_tokens: int | None = None
    #: Why the method's default threshold does not apply to this signal (None: it applies).
    unfitted: str | None = None


@dataclass
class Trace:
    key: str
    truth: int | None
    n_steps: int
    methods: dict[str, MethodSignal] = field(default_factory=dict)


def step_of_token(offsets: Sequence[tuple[int, int]], spans: Sequence[Any]) -> list[int | None]:
    """For each token, the index of the step its character span overlaps (None: outside every step)."""
    out: list[int | None] = []
    j = 0
    for start, end in offsets:
        while j < len(spans) and spans[j].end <= start:
            j += 1
        inside = j < len(spans) and start < spans[j].end and max(end, start + 1) > spans[j].start
        out.append(j if inside else None)
    return out


def tokens_of_step(token_steps: Sequence[int | None], step: int | None) -> list[int] | None:
    if step is None:
        return None
    tokens = [t for t, s in enumerate(token_steps) if s == step]
    return tokens or None


def reward_signals(
    step_scores: Sequence[float],
    position_scores: Sequence[float],
    position_tokens: Sequence[int],
    token_steps: Sequence[int | None],
    truth: int | None,
    form: str = "gail",
) -> dict[str, MethodSignal]:
    """``reward`` and ``reward_drop`` signals from a scored sample (step scores must all be present);
    ``form`` is the reward model's discriminator form (it decides whether τ = 0 means anything)."""
    z = np.asarray(step_scores, dtype=float)
    drops = step_drops(z, initial=0.0)  # z_{−1} = 0: the score before the completion
    position_drops = step_drops(position_scores, initial=0.0)
    best = int(np.argmax(position_drops))
    token_pred = int(position_tokens[best]) if position_drops[best] > 0 else None
    common = {
        "token_pred": token_pred,
        "token_targets": tokens_of_step(token_steps, truth),
        "n_tokens": len(token_steps),
        "unfitted": unfitted_reason(form),
    }
    return {
        "reward": MethodSignal(drops.tolist(), z.tolist(), **common),
        "reward_drop": MethodSignal(drops.tolist(), None, **common),
    }


def policy_signals(
    logprobs: Sequence[float],
    entropies: Sequence[float],
    token_steps: Sequence[int | None],
    n_steps: int,
    truth: int | None,
) -> dict[str, MethodSignal]:
    """The three policy baselines from per-token log-probs and entropies of the completion tokens."""
    lp = np.asarray(logprobs, dtype=float)
    ent = np.asarray(entropies, dtype=float)
    lp_drop = np.concatenate([[0.0], lp[:-1] - lp[1:]])
    ent_rise = np.concatenate([[0.0], ent[1:] - ent[:-1]])
    low = np.full(n_steps, 0.0)
    drop = np.full(n_steps, -np.inf)
    rise = np.full(n_steps, -np.inf)
    for t, s in enumerate(token_steps[: lp.size]):
        if s is None or s >= n_steps:
            continue
        low[s] = min(low[s], lp[t])
        drop[s] = max(drop[s], lp_drop[t])
        rise[s] = max(rise[s], ent_rise[t])
    drop[~np.isfinite(drop)] = 0.0
    rise[~np.isfinite(rise)] = 0.0
    in_step = np.array([s is not None for s in token_steps[: lp.size]], dtype=bool)
    targets = tokens_of_step(token_steps, truth)

    def argmax_token(values: np.ndarray) -> int | None:
        masked = np.where(in_step, values, -np.inf)
        return int(np.argmax(masked)) if np.isfinite(masked).any() else None

    common = {"token_targets": targets, "n_tokens": len(token_steps)}
    return {
        "policy_low_prob": MethodSignal((-low).tolist(), low.tolist(), argmax_token(-lp), **common),
        "policy_logprob_drop": MethodSignal(drop.tolist(), None, argmax_token(lp_drop), **common),
        "policy_entropy_rise": MethodSignal(rise.tolist(), None, argmax_token(ent_rise), **common),
    }


# ------------------------------------------------------------------------------------------ decisions


def unfitted_reason(form: str) -> str | None:
    """Why the reward methods have no unfitted threshold under ``form`` (None for ``gail``: τ = θ = 0)."""
    if build_form(form).score_is_logit:
        return None
    return (f"the reward model's form is {form}: its score is no logit (under log_prob a running "
            "log-likelihood), so the default τ = 0 means nothing; fit τ on validation "
            "(eval.fit_on=validation, then eval.calibration_path)")


def unfitted_threshold(method: str, form: str) -> float | None:
    """The threshold of ``method`` when none was fitted (None: it must be fitted)."""
    if method.startswith("reward") and unfitted_reason(form):
        return None
    return DEFAULT_THRESHOLDS.get(method)


def predict(method: str, signal: MethodSignal, threshold: float) -> int | None:
    if METHODS[method][0] == "below":
        return first_below_threshold(signal.values, threshold)
    return largest_signal(signal.signal, threshold)


def fit_localisation(traces: Sequence[Trace]) -> dict[str, Any]:
    """Decision thresholds of every available method, fitted for ProcessBench F1 on (validation) traces."""
    out: dict[str, Any] = {}
    truth = [t.truth for t in traces]
    if not traces or all(x is None for x in truth) or all(x is not None for x in truth):
        return {"available": False, "reason": "fitting needs traces with and without an error"}
    for method, (rule, _) in METHODS.items():
        if not all(method in t.methods for t in traces):
            continue
        signals = [t.methods[method] for t in traces]
        out[method] = fit_threshold([s.values if rule == "below" else s.signal for s in signals], truth, rule=rule)
    return out


# -------------------------------------------------------------------------------------------- metrics


def localisation_metrics(
    traces: Sequence[Trace],
    *,
    fitted: Mapping[str, Any] | None,
    hit_ks: Sequence[int],
    windows: Sequence[int],
    n_resamples: int,
    seed: int,
) -> dict[str, Any]:
    """ProcessBench F1, step hit@k, token window hit and MAP of every method, each with its chance level."""
    if not traces:
        return {
            "available": False,
            "reason": "no trace with a known first wrong step (the task cannot check steps)",
        }
    truth = [t.truth for t in traces]
    with_error = [i for i, t in enumerate(truth) if t is not None]
    n_steps = [t.n_steps for t in traces]
    out: dict[str, Any] = {
        "available": True,
        "n_traces": len(traces),
        "n_with_error": len(with_error),
        "f1_definition": "harmonic mean of the accuracy on traces with an error (predicted step == first wrong "
        "step) and on traces without (no error predicted)",
        "chance": processbench_chance(truth, n_steps),
        "methods": {},
    }
    for method, (rule, description) in METHODS.items():
        if not all(method in t.methods for t in traces):
            source = "reward" if method.startswith("reward") else "policy log-probabilities"
            out["methods"][method] = {
                "available": False,
                "reason": f"{source} were not computed for these traces",
            }
            continue
        signals = [t.methods[method] for t in traces]
        entry: dict[str, Any] = {"available": True, "description": description}
        fit = (fitted or {}).get(method)
        refused = None
        if fit is not None:
            threshold, fitted_on = float(fit["threshold"]), fit.get("fitted_on", "validation")
        else:
            threshold, fitted_on = DEFAULT_THRESHOLDS.get(method), None
            refused = next((s.unfitted for s in signals if s.unfitted), None)
            if refused:
                threshold = None
        rule_text = (
            "first step with value < τ" if rule == "below" else "argmax step of the signal if > θ, else none"
        )
        entry["decision_rule"] = {"rule": rule_text, "threshold": threshold, "fitted_on": fitted_on}
        if threshold is None:
            entry["processbench"] = {
                "available": False,
                "reason": (refused if fit is None and refused else "τ of this baseline must be fitted on "
                           "validation (eval.fit_on=validation, then eval.calibration_path)"),
            }
        else:
            pred = [predict(method, s, threshold) for s in signals]
            entry["processbench"] = _f1_ci(truth, pred, n_resamples, seed)
        entry["step_hit"] = {}
        for k in hit_ks:
            per = [
                step_hit_at_k([-np.asarray(signals[i].signal)], [truth[i]], k, ranking="low")
                for i in with_error
            ]
            entry["step_hit"][str(k)] = _per_trace(per, "hit", n_resamples, seed)
        entry["token_window_hit"] = {}
        usable = [i for i in with_error if signals[i].token_targets]
        for w in windows:
            per = [
                window_hit([signals[i].token_pred], [signals[i].token_targets], [signals[i].n_tokens], w)
                for i in usable
            ]
            entry["token_window_hit"][str(w)] = _per_trace(per, "hit", n_resamples, seed)
        ap = [average_precision(signals[i].signal, [truth[i]]) for i in with_error]
        ap_chance = [average_precision(np.zeros(n_steps[i]), [truth[i]]) for i in with_error]
        entry["map"] = (
            {"map": _boot(ap, n_resamples, seed), "chance": float(np.mean(ap_chance)), "n": len(ap)}
            if ap
            else {"map": None, "chance": None, "n": 0}
        )
        out["methods"][method] = entry
    return out


def _boot(values: Sequence[float], n_resamples: int, seed: int) -> dict[str, Any]:
    ci = bootstrap_ci(np.asarray(values, dtype=float), n_resamples=n_resamples, seed=seed)
    return {"mean": ci["mean"], "low": ci["low"], "high": ci["high"]}


def _per_trace(per: Sequence[Mapping[str, Any]], key: str, n_resamples: int, seed: int) -> dict[str, Any]:
    if not per:
        return {"hit": None, "chance": None, "normalised_hit": None, "n": 0}
    hit = _boot([p[key] for p in per], n_resamples, seed)
    chance = float(np.mean([p["chance"] for p in per]))
    normalised = None if chance >= 1 else (hit["mean"] - chance) / (1 - chance)
    return {"hit": hit, "chance": chance, "normalised_hit": normalised, "n": len(per)}


def _f1_ci(
    truth: Sequence[int | None], pred: Sequence[int | None], n_resamples: int, seed: int
) -> dict[str, Any]:
    point = processbench_f1(truth, pred)
    out: dict[str, Any] = {
        "available": point["f1"] is not None,
        "n_error": point["n_error"],
        "n_correct": point["n_correct"],
    }
    for key in ("f1", "acc_error", "acc_correct"):

        def stat(idx: np.ndarray, key: str = key) -> float:
            value = processbench_f1([truth[i] for i in idx], [pred[i] for i in idx])[key]
            return float("nan") if value is None else float(value)

        ci = bootstrap_ci_indices(len(truth), stat, n_resamples, seed)
        out[key] = (
            None
            if point[key] is None
            else {"mean": point[key], "low": _finite(ci["low"]), "high": _finite(ci["high"])}
        )
    if point.get("reason"):
        out["reason"] = point["reason"]
    return out


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None
