"""Issue 19 item 2: the learned reward's quality on the policy's natural errors against critic updates.

The feasibility protocol's critic (``bench/quality.py`` group ``feasibility``: the critic trained alone,
one update of 32 experts + 32 policy samples + 32 perturbed experts per step, lr 3e-4) with the
``log_ratio`` head (cells ``feas_natural…``) and the default ``log_prob`` head (``feas_log_prob…``). Each
point is the reward model after that many updates — a checkpoint of a run of the curve, or for 0 updates
the run of the ``…_0`` cell, which makes none — evaluated the way every quality cell is: fit aggregation,
localisation threshold and Platt scaling on 100 validation problems, measure on 100 test problems × 16
samples at T = 1.0. The policy is the frozen warm start of the seed at every point, so the points of one
seed rerank the same samples. Each point keeps both splits: validation (where the aggregation is fitted,
and where a default's budget is chosen) and test.

    python bench/quality.py --cells feas_natural_0 feas_natural_3k feas_log_prob_0 feas_log_prob --seeds 0 1 2
    python bench/critic_budget.py --seeds 0 1 2   # evaluates the checkpoints that exist, then table and figure

A point is measured on the runs of this checkout only: a cell's own evaluation stands in for a point
when its ``best/reward_model`` is that step and its run is here, so that every point of a seed comes
from one warm start (a result copied from another checkout may come from another). One JSON per point
in ``bench/results/critic_budget/`` (skipped when it exists: resumable); the table (mean ± sd over the
seeds that reached a point, their count beside it) goes to stdout and the figure to
``bench/results/critic_budget.png``. A budget no run reached is listed as not run, never interpolated.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import quality  # noqa: E402  (bench/ is on sys.path when run as a script)
from cells import already_done  # noqa: E402

OUT = quality.ROOT / "bench" / "results" / "critic_budget"
#: head → (the cell that makes no update, the cells whose checkpoints give the other points, in order)
CURVES = {"log_ratio": ("feas_natural_0", "feas_natural", "feas_natural_1k", "feas_natural_3k"),
          "log_prob": ("feas_log_prob_0", "feas_log_prob"),
          # issue 19 item 4: the same head with gold labels — label switching, and an outcome reward model
          "log_prob_relabel": ("feas_log_prob_0", "feas_relabel"),
          "log_prob_orm": ("feas_log_prob_0", "feas_orm")}
UPDATES = (0, 100, 300, 1000, 3000)
SPLITS = ("validation", "test")
METRICS = {"best-of-16": lambda s: s["best_of_n"]["reward"]["mean"],
           "AUROC": lambda s: s["auroc"]["reward"]["mean"],
           "localisation F1": lambda s: s["localisation"]["methods"]["reward"]["f1"]["mean"]}
BASELINES = {"best-of-16": lambda s: s["best_of_n"]["policy_mean_logprob"]["mean"],
             "AUROC": lambda s: s["auroc"]["policy_mean_logprob"]["mean"],
             "localisation F1": lambda s: s["localisation"]["methods"]["policy_low_prob"]["f1"]["mean"]}


def checkpoint_of(head: str, updates: int, seed: int) -> tuple[Path, str] | None:
    """(run folder, checkpoint) holding the reward model after ``updates`` critic updates, or None."""
    untrained, *trained = CURVES[head]
    checkpoint = "best" if updates == 0 else f"checkpoints/step-{updates}"
    for name in [untrained] if updates == 0 else trained:  # the same seed and data order: any run that got there
        run_dir = quality.configs(name, seed)[2]
        if (run_dir / checkpoint / "reward_model").is_dir():
            return run_dir, checkpoint
    return None


def validation_summary(run_dir: Path, checkpoint: str) -> dict | None:
    """The summary of the validation run that ``quality.evaluate`` fitted on (None if it wrote none)."""
    path = run_dir / checkpoint / "eval" / "generate_arith_validation" / "metrics.json"
    return quality.summary(json.loads(path.read_text())) if path.is_file() else None


def cell_result(head: str, updates: int, seed: int) -> dict | None:
    """A quality cell of the curve whose ``best/reward_model`` is the one after ``updates`` updates and
    whose run is here: its evaluation is this point's (same reward model, samples and settings)."""
    for name in CURVES[head]:
        path = quality.RESULTS / f"{name}-seed{seed}.json"
        result = json.loads(path.read_text()) if path.is_file() else None
        run_dir = quality.configs(name, seed)[2]
        if (result and (result.get("selection") or {}).get("reward_model", {}).get("step") == updates
                and (run_dir / "best" / "reward_model").is_dir()):
            return {"settings": {"head": head, "updates": updates, "seed": seed, "from_cell": name,
                                 "eval": result["settings"]["eval"]},
                    "summary": result["summary"], "validation": validation_summary(run_dir, "best")}
    return None


def point(head: str, updates: int, seed: int) -> dict | None:
    path = OUT / f"{head}-{updates}-seed{seed}.json"
    if not path.is_file() and (reused := cell_result(head, updates, seed)) is not None:
        return reused
    found = checkpoint_of(head, updates, seed)
    if found is None:  # the run is not here (another checkout): a point measured before still counts
        return json.loads(path.read_text()) if path.is_file() else None
    run_dir, checkpoint = found
    wanted = {"head": head, "updates": updates, "seed": seed, "run": str(run_dir.relative_to(quality.ROOT)),
              "checkpoint": checkpoint, "eval": quality.EVAL}
    if not already_done(path, wanted, "settings"):
        metrics, seconds = quality.evaluate(run_dir, checkpoint, seed, reward=True)
        OUT.mkdir(parents=True, exist_ok=True)
        result = {"settings": wanted, "summary": quality.summary(metrics),
                  "validation": validation_summary(run_dir, checkpoint), "seconds": round(seconds, 1)}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(result, indent=1))
        tmp.replace(path)
    return json.loads(path.read_text())


def split_summary(result: dict, split: str) -> dict | None:
    return result.get("summary") if split == "test" else result.get("validation")


def spread(results: list[dict], split: str, value) -> tuple[float, float, int] | None:
    """(mean, sd, seeds) of ``value`` in percent over the results that have ``split``; None if none has."""
    values = [100 * value(s) for r in results if (s := split_summary(r, split)) is not None]
    if not values:
        return None
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0, len(values)


def _cell(reward: tuple | None, policy: tuple | None) -> str:
    if reward is None:
        return "not run"
    sd = f" ± {reward[1]:.1f}" if reward[2] > 1 else ""
    return f"{reward[0]:.1f}{sd} / {policy[0]:.1f} ({reward[2]})"


def table(points: dict[tuple[str, int], list[dict]]) -> str:
    lines = []
    for split in SPLITS:
        lines += ["", f"{split}: reward / policy (seeds)", "",
                  "| head | updates | " + " | ".join(METRICS) + " |", "|---|---|" + "---|" * len(METRICS)]
        for (head, updates), results in points.items():
            cells = [_cell(spread(results, split, METRICS[m]), spread(results, split, BASELINES[m])) for m in METRICS]
            lines.append(f"| `{head}` | {updates} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def figure(points: dict[tuple[str, int], list[dict]]) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(SPLITS), len(METRICS), figsize=(4 * len(METRICS), 3.2 * len(SPLITS)), squeeze=False)
    for row, split in zip(axes, SPLITS):
        for ax, name in zip(row, METRICS):
            for head in CURVES:
                done = [(u, m) for (h, u), rs in points.items()
                        if h == head and (m := spread(rs, split, METRICS[name]))]
                if done:
                    ax.errorbar([u for u, _ in done], [m[0] for _, m in done], yerr=[m[1] for _, m in done],
                                marker="o", capsize=3, label=head)
            policy = [m for rs in points.values() if (m := spread(rs, split, BASELINES[name]))]
            if policy:  # the policy's own score, averaged over the points (each seed has one warm start)
                ax.axhline(statistics.fmean(m[0] for m in policy), color="grey", linestyle="--", label="policy")
            ax.set_xscale("symlog", linthresh=100)
            ax.set_xticks(UPDATES, [str(u) for u in UPDATES])
            ax.set_xlabel("critic updates")
            ax.set_title(f"{name} ({split})")
    fig.tight_layout()
    legend = {label: handle for ax in axes.flat for handle, label in zip(*ax.get_legend_handles_labels())}
    handles, labels = list(legend.values()), list(legend)
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False, bbox_to_anchor=(0.5, -0.04))
    path = quality.ROOT / "bench" / "results" / "critic_budget.png"
    fig.savefig(path, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args(argv)
    start = time.perf_counter()
    # The cheapest answers first (resumable: a later run adds the rest): every head at 100 updates, then 0, …
    order = sorted(((h, u) for h in CURVES for u in UPDATES), key=lambda p: (UPDATES.index(p[1]) != 1, p[1], p[0]))
    done = {(key, seed): point(*key, seed) for seed in args.seeds for key in order}
    points = {(head, u): [r for seed in args.seeds if (r := done[(head, u), seed]) is not None]
              for head in CURVES for u in UPDATES}
    print(table(points))
    print(f"figure: {figure(points).relative_to(quality.ROOT)} ({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
