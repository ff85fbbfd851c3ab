"""Figure jobs and the process pool that runs them.

A job is a top-level function and picklable arguments; it reads what it needs from disk, writes its
files and returns a :class:`JobResult`. :func:`run_jobs` runs them on ``workers`` processes (or in
order, in this process, with ``debug``) and returns the results in submission order, so the report
does not depend on which worker finished first. A failing job is reported by name and the others
still run; with ``debug`` its traceback propagates.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class JobResult:
    paths: list[Path] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    data: Any = None
    error: str | None = None


@dataclass
class Job:
    name: str
    fn: Callable[..., JobResult]
    args: tuple = ()


def _call(job: Job) -> JobResult:
    try:
        return job.fn(*job.args)
    except Exception as err:  # reported by name; --debug re-runs sequentially with the traceback
        detail = traceback.format_exception_only(type(err), err)[-1].strip()
        return JobResult(error=f"{job.name}: {detail}")


def run_jobs(jobs: Sequence[Job], workers: int | None = None, debug: bool = False) -> list[JobResult]:
    """Run ``jobs``; in debug mode sequentially with exceptions raised, else on a process pool."""
    if debug:
        return [job.fn(*job.args) for job in jobs]
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    if workers == 1:
        return [_call(job) for job in jobs]
    import reasoning_irl.plots.figures  # noqa: F401  (imported once here, inherited by forked workers)

    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_call, jobs))


# ------------------------------------------------------------------------------------------ jobs


def pass_at_k_job(stem: Path, task: str, curves: list[tuple[str, str, dict]]) -> JobResult:
    from reasoning_irl.plots.figures import pass_at_k_figure, save_figure

    return JobResult(paths=save_figure(pass_at_k_figure(task, curves), stem))


def best_of_n_job(stem: Path, label: str, best_of_n: dict, oracle: dict, labels: dict) -> JobResult:
    from reasoning_irl.plots.figures import best_of_n_figure, save_figure

    return JobResult(paths=save_figure(best_of_n_figure(label, best_of_n, oracle, labels), stem))


def reliability_job(stem: Path, label: str, calibration: dict, labels: dict) -> JobResult:
    from reasoning_irl.plots.figures import reliability_figure, save_figure

    return JobResult(paths=save_figure(reliability_figure(label, calibration, labels), stem))


def histogram_job(stem: Path, label: str, samples: Path, labels: dict, aurocs: dict) -> JobResult:
    from reasoning_irl.plots.figures import save_figure, score_histogram_figure
    from reasoning_irl.plots.load import sample_scores

    scores = sample_scores(samples)
    if not scores:
        return JobResult(messages=[f"{label}: no sample carries a reward or policy score; no score histogram"])
    return JobResult(paths=save_figure(score_histogram_figure(label, scores, labels, aurocs), stem))


def training_job(stem: Path, label: str, log: Path, keys: tuple[str, ...] | None) -> JobResult:
    from reasoning_irl.plots.figures import save_figure, training_figure
    from reasoning_irl.plots.load import read_training_log

    series = read_training_log(log, keys)
    if not series:
        return JobResult(messages=[f"{label}: {log} has no numeric values; no training curves"])
    return JobResult(paths=save_figure(training_figure(label, series), stem))


def tokens_job(folder: Path, label: str, samples: Path, tokenizer_dirs: tuple[Path, ...],
               options: Mapping[str, Any]) -> JobResult:
    """Token views of up to ``options["prompts"]`` (correct, wrong) pairs: figures, plus the views (as
    dicts) for the HTML report."""
    from reasoning_irl.plots.figures import save_figure
    from reasoning_irl.plots.tokens import (
        build_view,
        colour_views,
        load_run_tokenizer,
        pair_figure,
        select_pairs,
    )

    pairs = select_pairs(samples, options["prompts"])
    if not pairs:
        return JobResult(messages=[f"{label}: no problem has both a correct and a wrong reward-scored sample; "
                                   "no token views"])
    tokenizer, source = load_run_tokenizer(tokenizer_dirs)
    messages = [] if tokenizer is not None else [f"{label}: token views use the spans stored in samples.jsonl "
                                                 f"({source})"]
    views = []
    for pair in pairs:
        built = [build_view(row, tokenizer, options["value"]) for row in pair]
        messages += [w for _, w in built if w]
        views.append([v for v, _ in built])
    limit = colour_views(v for pair in views for v in pair)
    paths = []
    for i, pair in enumerate(views):
        title = f"{label} — problem {pair[0].problem_id}: token {options['value']}s"
        paths += save_figure(pair_figure(title, pair, limit, options["line_width"], options["value"]),
                             folder / f"pair_{i}")
    data = {"limit": limit, "value": options["value"], "pairs": [[v.to_dict() for v in pair] for pair in views]}
    return JobResult(paths=paths, messages=messages, data=data)


def heatmap_job(stem: Path, rows: list[str], columns: list[str], gain: list[list[float]],
                reward: list[list[float]], axes: str, N: str) -> JobResult:
    import numpy as np

    from reasoning_irl.plots.figures import save_figure, transfer_heatmap

    fig = transfer_heatmap(rows, columns, np.array(gain, dtype=float), np.array(reward, dtype=float), axes, N)
    return JobResult(paths=save_figure(fig, stem))
