"""Issue 19 item 3: where AIRL adds to imitation, against the number of demonstrations.

For each ``task.num_demonstrations`` (300, 1,000, 3,000: ``bench/quality.py`` group ``demonstrations``;
10,000 = all: the headline cells) it reads the quality results of the warm start (SFT on those
demonstrations), AIRL from it, AIRL with the discriminator never updated, and SFT continued for AIRL's
wall time, and reports, on test (100 problems × 16 samples at T = 1):

- the policy: pass@1 of the warm start, AIRL's policy and continued SFT (with their training seconds);
- the reward: best-of-16 by AIRL's learned reward, by the untrained control's reward (the reward at
  initialisation) and by the AIRL policy's own mean log-prob, and random (= pass@1).

    python bench/quality.py headline demonstrations --seeds 0     # the runs (resumable)
    python bench/demonstrations.py                                 # the table and the figure

Means over the seeds each count has (their number is shown); a count without results is listed as not run.
The figure goes to ``bench/results/demonstrations.png``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import quality  # noqa: E402  (bench/ is on sys.path when run as a script)
from quality_cells import DEMONSTRATIONS  # noqa: E402

COUNTS = (*DEMONSTRATIONS, 10_000)
ROLES = ("warm_start", "airl", "airl_untrained", "sft_continued")


def cell_name(count: int, role: str) -> str:
    return role if count == 10_000 else f"demos{count}_{role}"


def results(count: int) -> dict[str, list[dict]]:
    """role → the results of that cell, one per seed that has all four roles."""
    by_role = {role: {} for role in ROLES}
    for role in ROLES:
        for path in sorted(quality.RESULTS.glob(f"{cell_name(count, role)}-seed*.json")):
            data = json.loads(path.read_text())
            by_role[role][data["seed"]] = data
    seeds = sorted(set.intersection(*(set(v) for v in by_role.values())))
    return {role: [by_role[role][s] for s in seeds] for role in ROLES}


MEASURES = {
    "pass@1 warm start": ("warm_start", lambda r: r["summary"]["pass_at_1"]["mean"]),
    "pass@1 AIRL": ("airl", lambda r: r["summary"]["pass_at_1"]["mean"]),
    "pass@1 SFT continued": ("sft_continued", lambda r: r["summary"]["pass_at_1"]["mean"]),
    "best-of-16 AIRL reward": ("airl", lambda r: r["summary"]["best_of_n"]["reward"]["mean"]),
    "best-of-16 untrained reward": ("airl_untrained", lambda r: r["summary"]["best_of_n"]["reward"]["mean"]),
    "best-of-16 AIRL policy log-prob": ("airl", lambda r: r["summary"]["best_of_n"]["policy_mean_logprob"]["mean"]),
    "train s AIRL": ("airl", lambda r: r["seconds"]["train"]),
    "train s SFT continued": ("sft_continued", lambda r: r["seconds"]["train"]),
}


def table(rows: dict[int, dict[str, list[dict]]]) -> str:
    lines = ["| demonstrations | seeds | " + " | ".join(MEASURES) + " |", "|---|---|" + "---|" * len(MEASURES)]
    for count, found in rows.items():
        n = len(found["airl"])
        if n == 0:
            lines.append(f"| {count:,} | 0 | " + " | ".join("not run" for _ in MEASURES) + " |")
            continue
        cells = []
        for name, (role, value) in MEASURES.items():
            values = np.array([value(r) for r in found[role]], dtype=float)
            scale, digits = (1, 0) if name.startswith("train") else (100, 1)
            spread = f" ± {scale * values.std(ddof=1):.{digits}f}" if n > 1 else ""
            cells.append(f"{scale * values.mean():.{digits}f}{spread}")
        lines.append(f"| {count:,} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def figure(rows: dict[int, dict[str, list[dict]]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    panels = (("policy: pass@1", [m for m in MEASURES if m.startswith("pass@1")]),
              ("reward: best-of-16", [m for m in MEASURES if m.startswith("best-of-16")]))
    for ax, (title, names) in zip(axes, panels):
        for name in names:
            role, value = MEASURES[name]
            done = [(c, np.mean([value(r) for r in found[role]])) for c, found in rows.items() if found[role]]
            if done:
                ax.plot([c for c, _ in done], [100 * v for _, v in done], marker="o", label=name)
        ax.set_xscale("log")
        ax.set_xlabel("demonstrations")
        ax.set_ylabel("% (test)")
        ax.set_title(title)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    rows = {count: results(count) for count in COUNTS}
    print(table(rows))
    if any(found["airl"] for found in rows.values()):
        print("figure:", figure(rows, quality.ROOT / "bench" / "results" / "demonstrations.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
