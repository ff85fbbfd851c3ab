"""The result tables, each built from the runs' ``metrics.json`` (schema v1, docs/EVALUATION_GUIDE.md).

``pass_at_k`` (pass@k per run), ``reward_weighted_pass_at_k``, ``reranking_gain`` (success@1|N of every
best-of-N selector and its gain over a random pick), ``calibration`` (AUROC, ECE before and after Platt
scaling, Brier), ``localisation`` (first-error-step detection against chance) and, for transfer specs,
``transfer`` (reward run × policy run).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reasoning_irl.plots.load import RunOutputs
from reasoning_irl.plots.tables import Cell, Table

SELECTOR_LABELS = {
    "reward": "reward model", "reward_last": "reward: last score", "reward_mean": "reward: mean score",
    "reward_min_step": "reward: min step score", "reward_discounted": "reward: discounted mean",
    "random": "random", "shortest": "shortest", "policy_mean_logprob": "policy mean log-prob",
    "majority": "majority vote", "reward_weighted_majority": "reward-weighted majority",
}
SCORE_LABELS = {"reward": "reward model score", "policy_mean_logprob": "policy mean log-prob"}
LOCALISATION_LABELS = {
    "reward": "reward score < τ", "reward_drop": "reward largest drop", "policy_low_prob": "policy low prob",
    "policy_logprob_drop": "policy log-prob drop", "policy_entropy_rise": "policy entropy rise",
}


def selector_label(name: str, metrics: Mapping[str, Any] | None = None) -> str:
    label = SELECTOR_LABELS.get(name, name)
    if name == "reward" and metrics is not None:
        aggregation = metrics.get("computed", {}).get("reward_aggregation")
        if aggregation:
            label += f" ({aggregation})"
    return label


def _sorted_keys(keys: Any) -> list[str]:
    return sorted({str(k) for k in keys}, key=lambda k: (float(k), k))


def _evaluated(runs: Sequence[RunOutputs]) -> list[RunOutputs]:
    return [r for r in runs if r.eval is not None]


def pass_at_k_table(runs: Sequence[RunOutputs]) -> Table:
    runs = _evaluated(runs)
    ks = _sorted_keys(k for r in runs for k in r.eval.metrics.get("pass_at_k", {}))
    table = Table("pass_at_k", "pass@k (%), 95% bootstrap interval over problems",
                  ["Run", "Method", "Task", "Samples/problem"] + [f"pass@{k}" for k in ks],
                  note="Unbiased pass@k estimator (Chen et al., 2021) from each run's metrics.json.")
    for task in sorted({r.task for r in runs}):
        for r in (r for r in runs if r.task == task):
            m = r.eval.metrics
            per = m.get("samples_per_problem", {})
            n = f"{per.get('min')}" if per.get("min") == per.get("max") else f"{per.get('min')}–{per.get('max')}"
            table.add([r.label, r.description, task, n] + [Cell.of(m.get("pass_at_k", {}).get(k)) for k in ks])
        table.group_break()
    return table


def reward_weighted_table(runs: Sequence[RunOutputs]) -> Table:
    runs = [r for r in _evaluated(runs) if r.eval.metrics.get("reward_weighted_pass_at_k", {}).get("available")]
    ks = _sorted_keys(k for r in runs for k in r.eval.metrics["reward_weighted_pass_at_k"]["values"])
    table = Table("reward_weighted_pass_at_k", "Reward-weighted pass@k (%) against plain pass@k",
                  ["Run", "Task"] + [f"{kind}@{k}" for k in ks for kind in ("pass", "weighted")],
                  note="Weighted: correct mass under softmax(score/τ) over a problem's samples (docs/METHOD.md §8.2).")
    for r in runs:
        m = r.eval.metrics
        cells = []
        for k in ks:
            cells += [Cell.of(m.get("pass_at_k", {}).get(k)), Cell.of(m["reward_weighted_pass_at_k"]["values"].get(k))]
        table.add([r.label, r.task] + cells)
    return table


def _success(selector: Mapping[str, Any], N: str, k: str = "1") -> Any:
    return selector.get("success", {}).get(N, {}).get(k)


def reranking_gain_table(runs: Sequence[RunOutputs], k: str = "1") -> Table:
    runs = [r for r in _evaluated(runs) if r.eval.metrics.get("best_of_n")]
    Ns = _sorted_keys(N for r in runs for N in r.eval.metrics["best_of_n"]["Ns"])
    table = Table("reranking_gain", f"Best-of-N: success@{k}|N (%) of every selector; Δ = gain over a random "
                  "pick at the run's largest N (percentage points)",
                  ["Run", "Selector"] + [f"N={N}" for N in Ns] + ["Δ vs random"],
                  note="Ties are broken by the exact expectation over random orderings; success@k|N averages "
                       "over all N-subsets of a problem's samples.")
    unavailable: dict[tuple[str, str], list[str]] = {}
    for r in runs:
        best = r.eval.metrics["best_of_n"]
        n_max = str(max(best["Ns"]))
        random = _success(best["selectors"].get("random", {}), n_max, k)
        top = max((_success(s, n_max, k) or {}).get("mean") or -1.0
                  for s in best["selectors"].values() if s.get("available"))
        for name, selector in best["selectors"].items():
            if not selector.get("available"):
                unavailable.setdefault((r.label, selector.get("reason") or "not computed"), []).append(
                    selector_label(name, r.eval.metrics))
                continue
            cells = [Cell.of(_success(selector, N, k)) for N in Ns]
            value = _success(selector, n_max, k)
            delta = Cell(kind="na")
            if value and random and value.get("mean") is not None and random.get("mean") is not None:
                delta = Cell(value["mean"] - random["mean"], kind="delta")
            if value and value.get("mean") == top and name != "random":
                cells[Ns.index(n_max)] = Cell(**{**cells[Ns.index(n_max)].__dict__, "bold": True})
            table.add([r.label, selector_label(name, r.eval.metrics)] + cells + [delta])
        table.add([r.label, "oracle (any correct)"] + [Cell.of(r.eval.metrics.get("oracle_at_n", {}).get(N))
                                                        for N in Ns] + [Cell(kind="na")])
        table.group_break()
    for (label, reason), names in unavailable.items():
        table.note += f" {label}: {', '.join(names)} unavailable ({reason})."
    return table


def calibration_table(runs: Sequence[RunOutputs]) -> Table:
    table = Table("calibration", "Calibration of σ(score) as P(correct) (%): AUROC, ECE (10 bins) and Brier",
                  ["Run", "Score", "Samples", "AUROC", "ECE σ(score)", "ECE Platt", "Brier σ(score)"],
                  note="A discriminator's σ(score) is P(expert), not P(correct): compare ECE after Platt scaling "
                       "fitted on validation (n/a when no calibration.json was given).")
    for r in _evaluated(runs):
        for name, cal in r.eval.metrics.get("calibration", {}).items():
            if not cal.get("available"):
                continue
            platt = cal.get("platt", {})
            table.add([r.label, SCORE_LABELS.get(name, name), Cell(cal.get("n"), kind="int"), Cell.of(cal.get("auroc")),
                       Cell.of(cal["raw"].get("ece")), Cell.of(platt.get("ece")) if platt.get("available") else
                       Cell(kind="na"), Cell.of(cal["raw"].get("brier"))])
        table.group_break()
    return table


def localisation_table(runs: Sequence[RunOutputs]) -> Table:
    runs = [r for r in _evaluated(runs) if r.eval.metrics.get("localisation", {}).get("available")]
    methods = [m for r in runs for m in r.eval.metrics["localisation"]["methods"].values() if m.get("available")]
    hit_ks = _sorted_keys(k for m in methods for k in m.get("step_hit", {}))
    windows = _sorted_keys(w for m in methods for w in m.get("token_window_hit", {}))
    table = Table("localisation", "First-error localisation (%): ProcessBench F1, step and token hits, MAP",
                  ["Run", "Method", "F1", "Acc. (error)", "Acc. (no error)"] + [f"Step hit@{k}" for k in hit_ks]
                  + [f"Token hit ±{w}" for w in windows] + ["MAP"],
                  note="F1: harmonic mean of the exact first-wrong-step accuracy on traces with an error and the "
                       "no-error accuracy on the others. 'chance' rows give the uniform-guess baseline.")
    for r in runs:
        loc = r.eval.metrics["localisation"]
        chance_hits = {}
        for name, m in loc["methods"].items():
            label = LOCALISATION_LABELS.get(name, name)
            if not m.get("available"):
                table.add([r.label, label] + [Cell(kind="na")] * (len(table.columns) - 2))
                continue
            pb = m.get("processbench", {})
            pb_cells = ([Cell.of(pb.get(x)) for x in ("f1", "acc_error", "acc_correct")] if pb.get("available")
                        else [Cell(kind="na")] * 3)
            steps = [Cell.of((m.get("step_hit", {}).get(k) or {}).get("hit")) for k in hit_ks]
            tokens = [Cell.of((m.get("token_window_hit", {}).get(w) or {}).get("hit")) for w in windows]
            for k in hit_ks:
                chance_hits.setdefault(("step", k), (m.get("step_hit", {}).get(k) or {}).get("chance"))
            for w in windows:
                chance_hits.setdefault(("token", w), (m.get("token_window_hit", {}).get(w) or {}).get("chance"))
            chance_hits.setdefault("map", (m.get("map") or {}).get("chance"))
            table.add([r.label, label] + pb_cells + steps + tokens + [Cell.of((m.get("map") or {}).get("map"))])
        chance = loc.get("chance", {})
        table.add([r.label, "chance"] + [Cell.of(chance.get(x)) for x in ("f1", "acc_error", "acc_correct")]
                  + [Cell.of(chance_hits.get(("step", k))) for k in hit_ks]
                  + [Cell.of(chance_hits.get(("token", w))) for w in windows] + [Cell.of(chance_hits.get("map"))])
        table.group_break()
    return table


def transfer_cell(outputs: RunOutputs, k: str = "1") -> dict[str, Any] | None:
    """success@k|N of the reward selector and of random at the largest N, with the oracle (None: unavailable)."""
    best = outputs.eval.metrics.get("best_of_n") if outputs.eval else None
    if not best or not best["selectors"].get("reward", {}).get("available"):
        return None
    N = str(max(best["Ns"]))
    reward = _success(best["selectors"]["reward"], N, k)
    random = _success(best["selectors"]["random"], N, k)
    if not reward or not random or reward.get("mean") is None or random.get("mean") is None:
        return None
    return {"N": N, "reward": reward, "random": random, "gain": reward["mean"] - random["mean"],
            "oracle": outputs.eval.metrics.get("oracle_at_n", {}).get(N)}


def transfer_table(rows: Sequence[tuple[str, str, str, str, RunOutputs]]) -> Table:
    """``rows``: (reward run, policy run, reward axis value, policy axis value, outputs)."""
    table = Table("transfer", "Transfer: a reward model reranks another run's samples — success@1|N (%)",
                  ["Reward run", "Policy run", "Reward's", "Policy's", "N", "Random", "Reward", "Δ", "Oracle"],
                  note="Δ: reward-reranked minus random pick, percentage points.")
    for reward_run, policy_run, reward_axis, policy_axis, outputs in rows:
        cell = transfer_cell(outputs)
        if cell is None:
            table.add([reward_run, policy_run, reward_axis, policy_axis] + [Cell(kind="na")] * 5)
            continue
        table.add([reward_run, policy_run, reward_axis, policy_axis, Cell(float(cell["N"]), kind="int"),
                   Cell.of(cell["random"]), Cell.of(cell["reward"]), Cell(cell["gain"], kind="delta"),
                   Cell.of(cell["oracle"])])
    return table
