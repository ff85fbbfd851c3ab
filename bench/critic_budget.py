"""Issue 19 item 2: the learned reward's quality on the policy's natural errors against critic updates.

The feasibility protocol's critic (``bench/quality.py`` group ``feasibility``: the critic trained alone,
one update of 32 experts + 32 policy samples + 32 perturbed experts per step, lr 3e-4) with the
``log_ratio`` head (cell ``feas_natural``) and the default ``log_prob`` head (``feas_log_prob``). Each
point is the reward model after that many updates — a checkpoint of the cell's run, or for 0 updates
the run of the ``…_0`` cell, which makes none — evaluated the way every quality cell is (a point that is
a cell's own ``best/reward_model`` reads that cell's evaluation instead of repeating it): fit aggregation,
localisation threshold and Platt scaling on 100 validation problems, measure on 100 test problems × 16
samples at T = 1.0. The policy is the frozen warm start at every point, so every point reranks the same
samples. The curve is read on test here for the figure; the budget of a default is chosen on the
validation AUROC the run logs, never on these numbers.

    python bench/quality.py --cells feas_natural_0 feas_natural feas_natural_1k feas_natural_3k feas_log_prob_0 \
        feas_log_prob --seeds 0
    python bench/critic_budget.py --seed 0        # evaluates the checkpoints that exist, then the figure

One JSON per point in ``bench/results/critic_budget/`` (skipped when it exists: resumable); the table
goes to stdout and the figure to ``bench/results/critic_budget-seed<seed>.png``. A budget the run did not
reach is listed as not run, never interpolated.
"""

from __future__ import annotations

import argparse
import json
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


def cell_result(head: str, updates: int, seed: int) -> dict | None:
    """A quality cell of the curve whose ``best/reward_model`` is the one after ``updates`` updates: its
    evaluation is this point's (same reward model, samples and settings), so it is not run again."""
    for name in CURVES[head]:
        path = quality.RESULTS / f"{name}-seed{seed}.json"
        result = json.loads(path.read_text()) if path.is_file() else None
        if result and (result.get("selection") or {}).get("reward_model", {}).get("step") == updates:
            return {"settings": {"head": head, "updates": updates, "seed": seed, "from_cell": name,
                                 "eval": result["settings"]["eval"]}, "summary": result["summary"]}
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
        result = {"settings": wanted, "summary": quality.summary(metrics), "seconds": round(seconds, 1)}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(result, indent=1))
        tmp.replace(path)
    return json.loads(path.read_text())


def table(points: dict[tuple[str, int], dict | None]) -> str:
    lines = ["| head | updates | " + " | ".join(f"{m} reward / policy" for m in METRICS) + " |",
             "|---|---|" + "---|" * len(METRICS)]
    for (head, updates), result in points.items():
        if result is None:
            lines.append(f"| `{head}` | {updates} | " + " | ".join("not run" for _ in METRICS) + " |")
            continue
        s = result["summary"]
        cells = [f"{100 * METRICS[m](s):.1f} / {100 * BASELINES[m](s):.1f}" for m in METRICS]
        lines.append(f"| `{head}` | {updates} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def figure(points: dict[tuple[str, int], dict | None], seed: int) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(METRICS), figsize=(4 * len(METRICS), 3.2))
    for ax, name in zip(axes, METRICS):
        for head in CURVES:
            done = [(u, r["summary"]) for (h, u), r in points.items() if h == head and r is not None]
            if done:
                ax.plot([u for u, _ in done], [100 * METRICS[name](s) for _, s in done], marker="o", label=head)
        baseline = next((r["summary"] for r in points.values() if r is not None), None)
        if baseline is not None:
            ax.axhline(100 * BASELINES[name](baseline), color="grey", linestyle="--", label="policy")
            if name == "best-of-16":
                ax.axhline(100 * baseline["best_of_n"]["random"]["mean"], color="grey", linestyle=":", label="random")
        ax.set_xscale("symlog", linthresh=100)
        ax.set_xlabel("critic updates")
        ax.set_title(f"{name} (test)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False, bbox_to_anchor=(0.5, -0.08))
    path = quality.ROOT / "bench" / "results" / f"critic_budget-seed{seed}.png"
    fig.savefig(path, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    # The cheapest answers first (resumable: a later run adds the rest): every head at 100 updates, then 0, …
    order = sorted(((h, u) for h in CURVES for u in UPDATES), key=lambda p: (UPDATES.index(p[1]) != 1, p[1], p[0]))
    done = {key: point(*key, args.seed) for key in order}
    points = {(head, u): done[head, u] for head in CURVES for u in UPDATES}
    print(table(points))
    print(f"figure: {figure(points, args.seed).relative_to(quality.ROOT)} ({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
