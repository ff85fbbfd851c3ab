"""Transfer of learned rewards: one reward model reranks another run's samples (docs/METHOD.md §8.4).

    python -m reasoning_irl.plots.transfer --config configs/plots/transfer.yaml
    python -m reasoning_irl.plots.transfer --config configs/plots/transfer.yaml --workers 2 --no-token-figs

Each entry of the spec's ``transfer`` list names a ``reward_run`` and a ``policy_run`` (runs of the
spec); its evaluation (the reward model scoring the policy run's samples) is read from the entry's
``eval_dir``, else ``<transfer_root>/P_<policy run folder>_R_<reward run folder>`` (the layout of
docs/EVALUATION_GUIDE.md §7), else ``<reward_run>/<checkpoint>/eval/pregenerated_policy_and_reward_<task>``.
Writes, under the output root::

    report.html                             one self-contained file
    transfer_heatmap.{png,pdf}              gain of reward reranking over random, reward's × policy's task/backbone
    tables/transfer.{md,tex}                success@1|N of random, reward and oracle, and the gain, per entry
    entries/<reward>__on__<policy>/         best_of_n.{png,pdf} and tokens/pair_<i>.{png,pdf}

An entry whose evaluation is missing is reported and skipped; the heatmap shows it as "—".
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import Any

from reasoning_irl.plots import table_builders as T
from reasoning_irl.plots.jobs import Job, heatmap_job, run_jobs
from reasoning_irl.plots.load import RunOutputs, RunOutputsMissing, locate_transfer
from reasoning_irl.plots.main import (
    Options,
    RenderResult,
    check_complete,
    cli,
    collect,
    figure_blocks,
    run_jobs_for,
    write_tables,
)
from reasoning_irl.plots.report import Section, write_report
from reasoning_irl.plots.spec import PlotSpec


def _axis_values(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))  # first-appearance order, as the spec lists them


def render_transfer_spec(spec: PlotSpec, options: Options) -> RenderResult:
    """Render a transfer spec; returns what was written, skipped and reported."""
    root = options.output_root
    runs = spec.run_by_key()
    result = RenderResult(report=root / "report.html")
    entries: list[tuple[Any, RunOutputs]] = []
    for entry in spec.transfer:
        try:
            entries.append((entry, locate_transfer(spec, entry, options.checkpoint)))
        except (RunOutputsMissing, ValueError) as err:
            result.skipped.append(f"transfer {entry.reward_run} → {entry.policy_run} skipped: {err}")
    if not check_complete(result, options, len(spec.transfer), "transfer entries"):
        return result
    for _, outputs in entries:
        result.messages += [f"{outputs.key}: {m}" for m in outputs.missing]

    def axis(name: str) -> str:
        return str(getattr(runs[name], spec.axes))

    rows = _axis_values([axis(e.reward_run) for e in spec.transfer])
    columns = _axis_values([axis(e.policy_run) for e in spec.transfer])
    gain = [[math.nan] * len(columns) for _ in rows]
    reward = [[math.nan] * len(columns) for _ in rows]
    Ns = set()
    table_rows = []
    for entry, outputs in entries:
        i, j = rows.index(axis(entry.reward_run)), columns.index(axis(entry.policy_run))
        cell = T.transfer_cell(outputs)
        table_rows.append((runs[entry.reward_run].label, runs[entry.policy_run].label, axis(entry.reward_run),
                           axis(entry.policy_run), outputs))
        if cell is None:
            result.messages.append(f"{outputs.key}: no reward-selector best-of-N in {outputs.eval.folder}; the "
                                   "heatmap cell stays empty")
            continue
        gain[i][j], reward[i][j] = cell["gain"], cell["reward"]["mean"]
        Ns.add(cell["N"])
    table = T.transfer_table(table_rows)
    result.files += write_tables([table], root / "tables")

    heatmap = Job("transfer_heatmap", heatmap_job, (root / "transfer_heatmap", rows, columns, gain, reward,
                                                     spec.axes, Ns.pop() if len(Ns) == 1 else "N"))
    per_entry = [run_jobs_for(outputs, root / "entries" / outputs.key, spec, options.token_figures)
                 for _, outputs in entries]
    jobs = [heatmap] + [j for pairs in per_entry for _, j in pairs]
    results = run_jobs(jobs, options.workers, options.debug)
    collect(results, result)

    caption = (f"Gain of reranking with the reward model over a random pick (colour, percentage points) and "
               f"reranked success@1|N (number), reward model's {spec.axes} × policy's {spec.axes}.")
    sections = [Section("Transfer", [("figure", p, caption) for p in results[0].paths if p.suffix == ".png"]
                        + [("table", table)] + ([("messages", result.skipped)] if result.skipped else []))]
    offset = 1
    for (_, outputs), pairs in zip(entries, per_entry):
        blocks = figure_blocks(pairs, results[offset:offset + len(pairs)], outputs.label)
        offset += len(pairs)
        sections.append(Section(outputs.label, blocks))
    if result.messages or result.errors:
        sections.append(Section("Notes", [("messages", result.errors + result.messages)]))
    write_report(result.report, spec.title, sections)
    result.files.append(result.report)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    return cli(argv, "transfer", render_transfer_spec)


if __name__ == "__main__":
    sys.exit(main())
