"""The figures (PNG and PDF), each drawn from ``metrics.json``/``samples.jsonl``/``metrics.jsonl`` values.

Every function takes plain data and returns a matplotlib figure; :func:`save_figure` writes it
deterministically (no creation date in the PDF, a fixed ``Software`` in the PNG), so the same inputs
give byte-identical files.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

STYLE = {
    "figure.dpi": 100, "savefig.dpi": 150, "font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9,
    "legend.fontsize": 8, "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
    "axes.spines.right": False, "font.family": "DejaVu Sans", "svg.hashsalt": "reasoning-irl",
    # Unhinted glyph advances: monospace text then has the exact width the token views lay boxes out for.
    "text.hinting": "none",
}
PNG_METADATA = {"Software": "reasoning-irl plots"}
PDF_METADATA = {"CreationDate": None, "ModDate": None, "Creator": "reasoning-irl plots", "Producer": "matplotlib"}
METHOD_COLOURS = {"sft": "#7f7f7f", "grpo": "#ff7f0e"}
AIRL_COLOURS = ["#1f77b4", "#2ca02c", "#9467bd", "#17becf", "#8c564b", "#bcbd22", "#e377c2", "#393b79"]
SELECTOR_STYLES = {
    "reward": ("#1f77b4", "o", 2.4), "reward_last": ("#6baed6", "^", 1.2), "reward_mean": ("#3182bd", "v", 1.2),
    "reward_min_step": ("#9ecae1", "<", 1.2), "reward_discounted": ("#08519c", ">", 1.2),
    "random": ("#000000", "s", 1.6), "shortest": ("#8c564b", "D", 1.2), "policy_mean_logprob": ("#ff7f0e", "P", 1.2),
    "majority": ("#2ca02c", "X", 1.2), "reward_weighted_majority": ("#9467bd", "*", 1.2),
}


def style():
    """The rcParams of every figure (use as ``with style(): ...``)."""
    return plt.rc_context(STYLE)


def save_figure(fig: Any, stem: Path) -> list[Path]:
    """Write ``stem.png`` and ``stem.pdf`` deterministically and close the figure."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    with style():  # text is laid out at draw time, with the rcParams in force then
        fig.savefig(paths[0], metadata=PNG_METADATA, bbox_inches="tight")
        fig.savefig(paths[1], metadata=PDF_METADATA, bbox_inches="tight")
    plt.close(fig)
    return paths


def run_colours(methods: Sequence[str]) -> list[str]:
    """SFT grey, GRPO orange, AIRL variants in distinct cool colours (in order of appearance)."""
    colours, n_airl = [], 0
    for method in methods:
        if method in METHOD_COLOURS:
            colours.append(METHOD_COLOURS[method])
        else:
            colours.append(AIRL_COLOURS[n_airl % len(AIRL_COLOURS)])
            n_airl += 1
    return colours


def _interval(entries: Sequence[Mapping[str, Any] | None]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mean = np.array([e.get("mean") if e and e.get("mean") is not None else np.nan for e in entries], dtype=float)
    low = np.array([e.get("low") if e and e.get("low") is not None else np.nan for e in entries], dtype=float)
    high = np.array([e.get("high") if e and e.get("high") is not None else np.nan for e in entries], dtype=float)
    return 100 * mean, 100 * np.where(np.isnan(low), mean, low), 100 * np.where(np.isnan(high), mean, high)


def pass_at_k_figure(task: str, curves: Sequence[tuple[str, str, Mapping[str, Any]]]) -> Any:
    """pass@k against k with 95% intervals; ``curves``: (label, method, ``metrics["pass_at_k"]``)."""
    with style():
        fig, ax = plt.subplots(figsize=(5.2, 3.4))
        n = len(curves)
        ks_all = sorted({int(k) for _, _, p in curves for k, v in p.items() if v.get("mean") is not None})
        for i, ((label, method, pass_at_k), colour) in enumerate(zip(curves, run_colours([c[1] for c in curves]))):
            ks = sorted(int(k) for k, v in pass_at_k.items() if v.get("mean") is not None)
            mean, low, high = _interval([pass_at_k[str(k)] for k in ks])
            # Small horizontal offsets keep overlapping error bars readable (multiplicative: log axis).
            x = np.array(ks, dtype=float) * (1 + 0.04 * (i - (n - 1) / 2))
            ax.errorbar(x, mean, yerr=[mean - low, high - mean], label=label, color=colour, marker="o", ms=4,
                        lw=1.6, capsize=3, linestyle="--" if method in ("sft", "grpo") else "-")
        ax.set_xscale("log", base=2)
        ax.set_xticks(ks_all, [str(k) for k in ks_all])
        ax.minorticks_off()
        ax.set_xlabel("k (samples)")
        ax.set_ylabel("pass@k (%)")
        ax.set_title(f"pass@k on {task} (95% bootstrap intervals)")
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
        return fig


def best_of_n_figure(label: str, best_of_n: Mapping[str, Any], oracle: Mapping[str, Any],
                     labels: Mapping[str, str], k: str = "1") -> Any:
    """success@k|N against N for every available selector, with the oracle (any sample correct)."""
    Ns = [int(N) for N in best_of_n["Ns"]]
    with style():
        fig, ax = plt.subplots(figsize=(6.2, 3.6))
        unavailable = []
        for name, selector in best_of_n["selectors"].items():
            if not selector.get("available"):
                unavailable.append(labels.get(name, name))
                continue
            colour, marker, width = SELECTOR_STYLES.get(name, ("#444444", ".", 1.0))
            mean, low, high = _interval([selector["success"].get(str(N), {}).get(k) for N in Ns])
            ax.plot(Ns, mean, color=colour, marker=marker, lw=width, ms=4, label=labels.get(name, name),
                    zorder=3 if name == "reward" else 2)
            if name in ("reward", "random"):
                ax.fill_between(Ns, low, high, color=colour, alpha=0.12, lw=0)
        mean, _, _ = _interval([oracle.get(str(N)) for N in Ns])
        ax.plot(Ns, mean, color="#d62728", ls=":", lw=1.4, label="oracle (any correct)")
        ax.set_xscale("log", base=2)
        ax.set_xticks(Ns, [str(N) for N in Ns])
        ax.minorticks_off()
        ax.set_xlabel("N (samples per problem)")
        ax.set_ylabel(f"success@{k}|N (%)")
        ax.set_title(f"Best-of-N selection — {label}")
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
        if unavailable:
            fig.text(0.01, -0.02, "unavailable: " + ", ".join(unavailable), fontsize=7, color="#666666",
                     va="top", wrap=True)
        return fig


def reliability_figure(label: str, calibration: Mapping[str, Any], labels: Mapping[str, str]) -> Any:
    """Reliability diagram per calibrated score: accuracy against σ(score) per bin (and after Platt)."""
    names = [n for n, c in calibration.items() if c.get("available")]
    with style():
        fig, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names), 3.6), squeeze=False)
        for ax, name in zip(axes[0], names):
            cal = calibration[name]
            variants = [("σ(score)", cal["raw"], "#1f77b4")]
            if cal.get("platt", {}).get("available"):
                variants.append(("Platt", cal["platt"], "#ff7f0e"))
            ax.plot([0, 1], [0, 1], color="#999999", ls="--", lw=1, label="perfect")
            for j, (variant, values, colour) in enumerate(variants):
                rel = values["reliability"]
                lower, upper = np.array(rel["lower"]), np.array(rel["upper"])
                acc = np.array([np.nan if a is None else a for a in rel["accuracy"]], dtype=float)
                width = (upper - lower) / len(variants)
                ece = values.get("ece", {}).get("mean")
                ax.bar(lower + j * width, np.nan_to_num(acc), width=width * 0.95, align="edge", color=colour,
                       alpha=0.6, edgecolor=colour,
                       label=f"{variant}" + (f", ECE {100 * ece:.1f}%" if ece is not None else ""))
                for lo, count, a in zip(lower, rel["count"], acc):
                    if count:
                        ax.text(lo + (j + 0.5) * width[0], (0 if np.isnan(a) else a) + 0.015, f"n={count}",
                                ha="center", va="bottom", fontsize=6, color="#555555")
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1.1)
            ax.set_xlabel("predicted probability")
            ax.set_ylabel("fraction correct")
            auroc = (cal.get("auroc") or {}).get("mean")
            ax.set_title(f"{labels.get(name, name)}" + (f"\nAUROC {100 * auroc:.1f}%" if auroc is not None else ""))
            ax.legend(loc="upper left", frameon=False, fontsize=7)
        fig.suptitle(f"Reliability (n = samples per bin) — {label}")
        fig.tight_layout()
        return fig


def score_histogram_figure(label: str, scores: Mapping[str, tuple[Sequence[float], Sequence[bool]]],
                           labels: Mapping[str, str], aurocs: Mapping[str, float | None]) -> Any:
    """Histograms of each score for correct and wrong samples (shared bins, densities), with the means."""
    names = list(scores)
    with style():
        fig, axes = plt.subplots(1, len(names), figsize=(4.0 * len(names), 3.2), squeeze=False)
        for ax, name in zip(axes[0], names):
            values, correct = np.asarray(scores[name][0], dtype=float), np.asarray(scores[name][1], dtype=bool)
            lo, hi = float(values.min()), float(values.max())
            if hi - lo < 1e-12:
                lo, hi = lo - 0.5, hi + 0.5
            bins = np.linspace(lo, hi, min(30, max(8, int(math.sqrt(values.size)) + 1)) + 1)
            for subset, text, colour in ((correct, "correct", "#2ca02c"), (~correct, "wrong", "#d62728")):
                if subset.any():
                    ax.hist(values[subset], bins=bins, density=True, alpha=0.35, color=colour, edgecolor=colour,
                            histtype="stepfilled", lw=1.2, label=f"{text} (n={int(subset.sum())})")
                    ax.axvline(values[subset].mean(), color=colour, lw=1.4, ls="--")
            auroc = aurocs.get(name)
            ax.set_title(labels.get(name, name) + (f" — AUROC {100 * auroc:.1f}%" if auroc is not None else ""))
            ax.xaxis.set_major_locator(MaxNLocator(5))
            ax.set_xlabel("score (dashed: mean)")
            ax.set_ylabel("density")
            ax.legend(frameon=False)
        fig.suptitle(f"Scores of correct and wrong samples — {label}", y=1.02)
        fig.tight_layout()
        return fig


def training_figure(label: str, series: Mapping[str, tuple[Sequence[float], Sequence[float]]]) -> Any:
    """One small panel per training-log key, against the step."""
    names = list(series)
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    with style():
        fig, axes = plt.subplots(rows, cols, figsize=(3.3 * cols, 2.4 * rows), squeeze=False)
        for ax, name in zip(axes.flat, names):
            steps, values = series[name]
            ax.plot(steps, values, color="#1f77b4", lw=1.4, marker="o" if len(steps) <= 30 else None, ms=2.5)
            ax.set_title(name)
            ax.set_xlabel("step")
        for ax in list(axes.flat)[len(names):]:
            ax.set_visible(False)
        fig.suptitle(f"Training log — {label}", y=1.01)
        fig.tight_layout()
        return fig


def transfer_heatmap(rows: Sequence[str], columns: Sequence[str], gain: np.ndarray, reward: np.ndarray,
                     axes_name: str, N: str) -> Any:
    """Gain of reward reranking over random (percentage points), reward's axis × policy's axis."""
    limit = float(np.nanmax(np.abs(gain))) if np.isfinite(gain).any() else 1.0
    limit = max(limit, 1e-6) * 100
    with style():
        fig, ax = plt.subplots(figsize=(2.8 + 1.3 * len(columns), 1.2 + 0.8 * len(rows)))
        image = ax.imshow(100 * gain, cmap="RdBu", vmin=-limit, vmax=limit, aspect="auto")
        ax.grid(False)
        for i in range(len(rows)):
            for j in range(len(columns)):
                if np.isfinite(gain[i, j]):
                    ax.text(j, i, f"{100 * reward[i, j]:.1f}\n({100 * gain[i, j]:+.1f})", ha="center", va="center",
                            fontsize=8, color="white" if abs(100 * gain[i, j]) > 0.6 * limit else "black")
                else:
                    ax.text(j, i, "—", ha="center", va="center", color="#888888")
        ax.set_xticks(range(len(columns)), columns, rotation=30, ha="right")
        ax.set_yticks(range(len(rows)), rows)
        ax.set_xlabel(f"policy's {axes_name} (samples reranked)")
        ax.set_ylabel(f"reward model's {axes_name}")
        ax.set_title(f"Transfer: success@1|{N} (%) (gain over random, pp)")
        fig.colorbar(image, ax=ax, label="gain over random (pp)", shrink=0.85)
        fig.tight_layout()
        return fig
