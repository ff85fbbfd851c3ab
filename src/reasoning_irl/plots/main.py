"""Figures, tables and an HTML report for the runs of a plot spec (docs/PLOTS.md).

    python -m reasoning_irl.plots.main --config configs/plots/main.yaml
    python -m reasoning_irl.plots.main --config configs/plots/main.yaml --workers 2 --ckpt final --no-token-figs

Every run in the spec is plotted. A run whose outputs are missing or unreadable makes the render refuse
(exit 1, nothing written, an existing report kept) unless ``--allow-missing`` is given: then it is reported
and skipped, the rest is rendered, and replacing an existing report with one that draws fewer runs is said
on the console. Writes, under the spec's ``output_root`` (or ``--output-root``)::

    report.html                          one self-contained file (figures embedded, token views as spans)
    tables/<name>.{md,tex}               pass_at_k, reward_weighted_pass_at_k, reranking_gain, calibration, localisation
    pass_at_k/<task>.{png,pdf}           pass@k curves of the task's runs, with 95% intervals
    runs/<run>/<figure>.{png,pdf}        best_of_n, reliability, score_histogram, training_curves
    runs/<run>/tokens/pair_<i>.{png,pdf} token-level reward views

From code (the demo): :func:`render` returns the report's path.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reasoning_irl.cli import guarded
from reasoning_irl.plots import table_builders as T
from reasoning_irl.plots.jobs import (
    Job,
    JobResult,
    best_of_n_job,
    histogram_job,
    pass_at_k_job,
    reliability_job,
    run_jobs,
    tokens_job,
    training_job,
)
from reasoning_irl.plots.load import RunOutputs, RunOutputsMissing, locate_run
from reasoning_irl.plots.report import Section, write_report
from reasoning_irl.plots.spec import PlotSpec, SpecError, check_folder_name, load_spec, parse_spec, runs_spec
from reasoning_irl.plots.tables import Table, write_table


@dataclass
class RenderResult:
    report: Path
    files: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: Why nothing was written (runs skipped without ``allow_missing``), else None.
    refused: str | None = None
    #: Set when an existing report was replaced by one that draws fewer runs than asked.
    replaced_with_less: str | None = None


@dataclass
class Options:
    output_root: Path
    checkpoint: str | None = None
    workers: int | None = None
    token_figures: bool = True
    debug: bool = False
    #: Render what is there when some runs cannot be drawn (else: refuse, write nothing).
    allow_missing: bool = False


class RenderRefused(ValueError):
    """Some of the spec's runs cannot be drawn and missing runs were not allowed; nothing was written."""


def check_complete(result: RenderResult, options: Options, asked: int, what: str = "runs") -> bool:
    """Whether to go on rendering: refuse (``result.refused``) when something asked for is skipped, unless allowed."""
    if not result.skipped:
        return True
    drawn = asked - len(result.skipped)
    if not options.allow_missing:
        result.refused = (f"{len(result.skipped)} of {asked} {what} cannot be drawn (listed above); nothing was "
                          f"written{' and ' + str(result.report) + ' is kept' if result.report.is_file() else ''}: "
                          "fix them, or pass --allow-missing to render the rest")
        return False
    if result.report.is_file():
        result.replaced_with_less = (f"{result.report} replaced by a report that draws {drawn} of the {asked} "
                                     f"{what} asked for (--allow-missing)")
    return True


def selector_labels(metrics: Mapping[str, Any]) -> dict[str, str]:
    names = list(metrics.get("best_of_n", {}).get("selectors", {})) + list(metrics.get("calibration", {}))
    return {n: T.selector_label(n, metrics) if n in T.SELECTOR_LABELS else T.SCORE_LABELS.get(n, n) for n in names}


def run_jobs_for(outputs: RunOutputs, folder: Path, spec: PlotSpec, token_figures: bool) -> list[tuple[str, Job]]:
    """(caption, job) for every figure a run's outputs allow, in report order."""
    jobs: list[tuple[str, Job]] = []
    label, evaluation = outputs.label, outputs.eval
    if evaluation is not None:
        m = evaluation.metrics
        labels = selector_labels(m)
        if m.get("best_of_n"):
            jobs.append(("Best-of-N success against N for every selector (shaded: 95% intervals of the reward "
                         "model and of a random pick).",
                         Job(f"{outputs.key}/best_of_n", best_of_n_job,
                             (folder / "best_of_n", label, m["best_of_n"], m.get("oracle_at_n", {}), labels))))
        calibration = {n: c for n, c in m.get("calibration", {}).items() if c.get("available")}
        if calibration:
            jobs.append(("Reliability diagrams: fraction correct against the predicted probability σ(score).",
                         Job(f"{outputs.key}/reliability", reliability_job,
                             (folder / "reliability", label, calibration, labels))))
        if evaluation.samples_path.is_file() and calibration:
            aurocs = {n: (c.get("auroc") or {}).get("mean") for n, c in calibration.items()}
            jobs.append(("Score histograms of correct and wrong samples.",
                         Job(f"{outputs.key}/score_histogram", histogram_job,
                             (folder / "score_histogram", label, evaluation.samples_path, labels, aurocs))))
        if token_figures and evaluation.samples_path.is_file() and evaluation.has_reward:
            options = {"prompts": spec.token_figures.prompts, "value": spec.token_figures.value,
                       "line_width": spec.token_figures.line_width}
            if options["prompts"] > 0:
                jobs.append(("tokens", Job(f"{outputs.key}/tokens", tokens_job,
                                           (folder / "tokens", label, evaluation.samples_path,
                                            outputs.tokenizer_dirs, options))))
    if outputs.training_log_path is not None:
        jobs.append(("Training log (metrics.jsonl) against the step.",
                     Job(f"{outputs.key}/training_curves", training_job,
                         (folder / "training_curves", label, outputs.training_log_path, spec.training_keys))))
    return jobs


def locate_all(spec: PlotSpec, checkpoint: str | None) -> tuple[list[RunOutputs], list[str]]:
    found, skipped = [], []
    for run in spec.runs:
        try:
            found.append(locate_run(spec, run, checkpoint))
        except (RunOutputsMissing, ValueError) as err:
            skipped.append(f"run {run.key!r} ({run.label}) skipped: {err}")
    return found, skipped


def overview_table(spec: PlotSpec, found: Sequence[RunOutputs]) -> Table:
    table = Table("runs", "Runs plotted", ["Run", "Method", "Task", "Folder", "Checkpoint", "Evaluation"])
    for r in found:
        folder = os.path.relpath(r.run_dir, spec.base_dir)
        table.add([r.label, r.description, r.task, folder, r.checkpoint, r.eval.folder.name if r.eval else "—"])
    return table


def write_tables(tables: Sequence[Table], folder: Path) -> list[Path]:
    return [p for t in tables if t for p in write_table(t, folder)]


def collect(results: Sequence[JobResult], result: RenderResult) -> None:
    for r in results:
        result.files += r.paths
        result.messages += r.messages
        if r.error:
            result.errors.append(r.error)


def figure_blocks(pairs: Sequence[tuple[str, Job]], results: Sequence[JobResult], outputs_label: str) -> list[tuple]:
    blocks: list[tuple] = []
    for (caption, _), res in zip(pairs, results):
        if caption == "tokens":
            if res.data:
                blocks.append(("tokens", outputs_label, res.data, [p for p in res.paths if p.suffix == ".png"]))
            continue
        blocks += [("figure", p, caption) for p in res.paths if p.suffix == ".png"]
    return blocks


def render_spec(spec: PlotSpec, options: Options) -> RenderResult:
    """Render a main spec; returns what was written, skipped and reported."""
    root = options.output_root
    found, skipped = locate_all(spec, options.checkpoint)
    result = RenderResult(report=root / "report.html", skipped=skipped)
    if not check_complete(result, options, len(spec.runs)):
        return result
    for r in found:
        result.messages += [f"{r.key}: {m}" for m in r.missing]
    tables = [overview_table(spec, found), T.pass_at_k_table(found), T.reward_weighted_table(found),
              T.reranking_gain_table(found), T.calibration_table(found), T.localisation_table(found)]
    result.files += write_tables(tables[1:], root / "tables")

    tasks = sorted({r.task for r in found if r.eval is not None})
    task_jobs = [(f"pass@k on {task}: every run evaluated on it, 95% bootstrap intervals over problems.",
                  Job(f"pass_at_k/{task}", pass_at_k_job, (root / "pass_at_k" / task, task,
                      [(r.label, r.method, r.eval.metrics.get("pass_at_k", {})) for r in found
                       if r.eval is not None and r.task == task]))) for task in tasks]
    per_run = [run_jobs_for(r, root / "runs" / r.key, spec, options.token_figures) for r in found]
    jobs = [j for _, j in task_jobs] + [j for pairs in per_run for _, j in pairs]
    results = run_jobs(jobs, options.workers, options.debug)
    collect(results, result)

    sections = [Section("Runs", [("table", tables[0])] + ([("messages", result.skipped)] if result.skipped else []))]
    sections.append(Section("Tables", [("table", t) for t in tables[1:] if t]))
    sections.append(Section("pass@k", figure_blocks(task_jobs, results[:len(task_jobs)], "")))
    offset = len(task_jobs)
    for r, pairs in zip(found, per_run):
        blocks = figure_blocks(pairs, results[offset:offset + len(pairs)], r.label)
        offset += len(pairs)
        sections.append(Section(f"{r.label} — {r.description}, {r.task}", blocks))
    if result.messages or result.errors:
        sections.append(Section("Notes", [("messages", result.errors + result.messages)]))
    write_report(result.report, spec.title, sections)
    result.files.append(result.report)
    return result


def as_spec(spec_or_runs: PlotSpec | str | os.PathLike | Mapping[str, Any] | Sequence[Any],
            output_root: str | os.PathLike | None, kind: str = "main") -> PlotSpec:
    if isinstance(spec_or_runs, PlotSpec):
        return spec_or_runs
    if isinstance(spec_or_runs, (str, os.PathLike)):
        return load_spec(spec_or_runs, kind)
    if isinstance(spec_or_runs, Mapping):
        return parse_spec(dict(spec_or_runs), base_dir=Path.cwd(), source="<spec>", kind=kind)
    return runs_spec(list(spec_or_runs), output_root or "figures")


def render(spec_or_runs: PlotSpec | str | os.PathLike | Mapping[str, Any] | Sequence[Any],
           output_root: str | os.PathLike | None = None, *, checkpoint: str | None = None,
           workers: int | None = None, token_figures: bool = True, debug: bool = False,
           allow_missing: bool = False) -> Path:
    """Render figures, tables and the HTML report; returns the report's path.

    ``spec_or_runs``: a :class:`PlotSpec`, a spec file, a spec mapping, or a list of run mappings
    (``{"label", "method", "task", "run", …}`` as in a spec's ``runs``; paths relative to the cwd).
    A run that cannot be drawn raises :class:`RenderRefused` unless ``allow_missing``.
    """
    spec = as_spec(spec_or_runs, output_root)
    root = Path(output_root) if output_root is not None else spec.resolve(spec.output_root)
    return finish(render_spec(spec, Options(root, checkpoint, workers, token_figures, debug, allow_missing)))


def finish(result: RenderResult) -> Path:
    """Report a render done from code on stderr; its report's path, or :class:`RenderRefused`."""
    for line in result.skipped + result.errors + [result.replaced_with_less or ""]:
        if line:
            print(f"[plots] {line}", file=sys.stderr)
    if result.refused:
        raise RenderRefused(result.refused)
    return result.report


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--config", required=True, help="plot spec (YAML); see docs/PLOTS.md")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: the CPU count)")
    p.add_argument("--ckpt", default=None, help="checkpoint folder inside each run (default: the spec's)")
    p.add_argument("--output-root", default=None, help="output folder (default: the spec's output_root)")
    p.add_argument("--no-token-figs", action="store_true", help="skip the token-level reward views")
    p.add_argument("--debug", action="store_true", help="run sequentially and show full tracebacks")
    p.add_argument("--allow-missing", action="store_true",
                   help="render what is there when some runs cannot be drawn (default: refuse, write nothing)")
    return p


def cli(argv: Sequence[str] | None, kind: str, render_fn) -> int:
    args = parser(__doc__.splitlines()[0] if kind == "main" else "Transfer heatmap, tables and report").parse_args(argv)
    return guarded(lambda: _cli(args, kind, render_fn), debug=args.debug)


def _cli(args: argparse.Namespace, kind: str, render_fn) -> int:
    if args.workers is not None and args.workers < 1:
        print(f"--workers={args.workers}: give at least 1", file=sys.stderr)
        return 2
    try:
        spec = load_spec(args.config, kind)
        if args.ckpt is not None:
            check_folder_name(args.ckpt, "--ckpt")
    except SpecError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    root = Path(args.output_root) if args.output_root else spec.resolve(spec.output_root)
    result = render_fn(spec, Options(root, args.ckpt, args.workers, not args.no_token_figs, args.debug,
                                     args.allow_missing))
    for line in result.skipped:
        print(f"[skipped] {line}")
    if result.refused:
        print(f"error: {result.refused}", file=sys.stderr)
        return 1
    for line in result.messages:
        print(f"[note] {line}")
    for line in result.errors:
        print(f"[error] {line}", file=sys.stderr)
    if result.replaced_with_less:
        print(f"[warning] {result.replaced_with_less}", file=sys.stderr)
    print(f"wrote {len(result.files)} files under {root}; report: {result.report}")
    return 1 if result.errors else 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli(argv, "main", render_spec)


if __name__ == "__main__":
    sys.exit(main())
