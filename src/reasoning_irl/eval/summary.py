"""``summarise``: a short text table of a ``metrics.json`` (pass@k, best-of-N, calibration, localisation)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reasoning_irl.eval.inputs import answer_lines


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
