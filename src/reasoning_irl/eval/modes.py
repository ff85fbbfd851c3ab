"""``evaluate.py``'s library side: one evaluation as a pipeline, and the output files.

:func:`run_evaluation` is the one call of the entry script: plan → read rows → grade and score → aggregate →
write. :func:`~.plan.make_plan` resolves the config once (mode, split, inputs, what to compute, models,
output folder) and refuses every contradiction before any work; :func:`read_problems` yields problems one
at a time (generated from the policy, or streamed from a JSONL); :class:`~.process.ProblemProcessor` grades
each, optionally scores it with the policy (log-probs) and a reward model, and keeps only the per-problem
numbers the metrics need, while each output row goes to ``samples.jsonl`` in a staging folder beside the
output folder; :func:`aggregate` turns those numbers into ``metrics.json`` (and, with
``eval.fit_on=validation``, :func:`fit` into ``calibration.json``). ``run_info.json`` (timings) goes there
too, then the staging folder is swapped in for the output folder in one step (``io.swap_in``). Any error or
kill before that leaves the previous output folder exactly as it was. See docs/EVALUATION_GUIDE.md.
"""

from __future__ import annotations

import logging
import platform
import shutil
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from reasoning_irl.eval.fitting import fit_calibration, load_calibration, reward_identity, write_calibration
from reasoning_irl.eval.localise import localisation_metrics
from reasoning_irl.eval.models import Models
from reasoning_irl.eval.plan import EvalPlan, make_plan
from reasoning_irl.eval.process import ProblemProcessor
from reasoning_irl.eval.report import sample_metrics
from reasoning_irl.eval.samples import (
    SCHEMA_VERSION,
    Problem,
    SampleIn,
    SampleWriter,
    iter_problems,
    iter_rows,
)
from reasoning_irl.faults import fault_point
from reasoning_irl.io import (
    DataFileError,
    atomic_write_json,
    check_output_folder,
    discard_stale_staging,
    make_staging,
    swap_in,
)

log = logging.getLogger(__name__)


def read_problems(plan: EvalPlan, task: Any, models: Models) -> Iterator[Problem]:
    """The plan's problems, one at a time: rows of the input file, or the task split's (generated from the
    policy, or for localisation the task's labelled traces)."""
    if plan.pregenerated:
        from reasoning_irl.tasks.sources import system_prompt

        yield from iter_problems(iter_rows(plan.input_path, system_prompt(plan.task)),
                                 allow_ragged=plan.eval.allow_ragged, max_problems=plan.eval.max_problems,
                                 path=plan.input_path)
        return
    records = task.load(plan.split)
    if plan.eval.max_problems is not None:
        records = records[: plan.eval.max_problems]
    if plan.mode == "localisation":
        from reasoning_irl.text.format import render_steps

        for i, r in enumerate(records):
            if r.steps is None:
                raise ValueError(
                    f"task {task.name!r} gives no labelled steps; localisation needs task=processbench "
                    "or eval.pregenerated_jsonl_path with traces carrying first_error_step"
                )
            sample = SampleIn(
                line=i + 1,
                prompt=r.prompt,
                completion=render_steps(r.steps)[0],
                answer=None,
                problem_id=r.problem_id,
                sample_idx=0,
                steps=list(r.steps),
                first_error_step=r.first_error_step,
                has_truth=True,
                meta=dict(r.meta),
            )
            yield Problem(r.problem_id, r.prompt, None, [sample], i + 1)
        return
    chunk = max(1, plan.eval.batch_size // max(1, plan.sampling.n_samples))
    for begin in range(0, len(records), chunk):
        part = records[begin : begin + chunk]
        generated = models.generate([r.prompt for r in part], plan.sampling, seed=plan.seed + begin)
        for j, r in enumerate(part):
            samples = [
                SampleIn(
                    line=begin + j + 1,
                    prompt=r.prompt,
                    completion=text,
                    answer=r.answer,
                    problem_id=r.problem_id,
                    sample_idx=s,
                    meta={"finished": finished},
                )
                for s, (text, finished) in enumerate(generated[j])
            ]
            yield Problem(r.problem_id, r.prompt, r.answer, samples, begin + j + 1)


def run_evaluation(cfg: Any) -> dict[str, Any]:
    """Evaluate as configured (an ``EvaluateConfig``); returns the metrics written to ``metrics.json``.

    plan → read rows → grade and score each problem → aggregate → write (all or nothing).
    """
    started = time.time()
    plan = make_plan(cfg)
    if plan.pregenerated and not Path(plan.input_path).is_file():  # before any model is loaded
        raise DataFileError(f"input file {plan.input_path} does not exist (eval.pregenerated_jsonl_path)")
    reward_model = reward_identity(plan.reward_source)
    calibration = load_calibration(plan.eval.calibration_path, task=plan.task.name, reward_model=reward_model)
    check_output_folder(plan.output_dir, "eval.output_dir")  # before any work: writable, and ours to replace
    from reasoning_irl.tasks import get_task

    task = get_task(plan.task)
    models = Models(plan)
    processor = ProblemProcessor(plan, task, models, calibration)
    timings: dict[str, float] = {"load_models": time.time() - started}
    problems = read_problems(plan, task, models)
    discard_stale_staging(plan.output_dir)
    staging = make_staging(plan.output_dir)  # every output goes here first; swapped in once, at the end
    try:
        with SampleWriter(staging / "samples.jsonl") as writer:
            for problem in problems:
                for row in processor.process(problem):
                    writer.write(row)
            if writer.rows == 0:
                raise DataFileError(
                    f"nothing to evaluate: {plan.source()} holds no rows; check the file (or eval.max_problems)"
                )
            timings["process"] = time.time() - started - timings["load_models"]
            metrics = aggregate(plan, processor, calibration)
            calibration_out = fit(plan, processor, reward_model) if plan.fit else None
            writer.commit()
        fault_point("eval_outputs")  # between samples.jsonl and metrics.json (reasoning_irl.faults)
        atomic_write_json(staging / "metrics.json", metrics)
        if calibration_out is not None:
            write_calibration(staging / "calibration.json", calibration_out)
        timings["total"] = time.time() - started
        atomic_write_json(
            staging / "run_info.json",
            {
                "timings_s": timings,
                "host": platform.node(),
                "python": platform.python_version(),
                "rows": writer.rows,
                "output_dir": str(plan.output_dir),
            },
        )
        swap_in(staging, plan.output_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.info("evaluation written to %s", plan.output_dir)
    return metrics


def fit(plan: EvalPlan, processor: ProblemProcessor, reward_model: str | None) -> dict[str, Any]:
    """What validation fits (``calibration.json``), with what it was fitted on."""
    about = {
        "split": plan.split,
        "task": plan.task.name,
        "mode": plan.mode,
        "input": plan.eval.pregenerated_jsonl_path,
        "n_problems": processor.n_problems,
        "n_traces": len(processor.traces),
        "reward_model": reward_model,
    }
    return fit_calibration(processor.results, processor.traces, about=about,
                           default_aggregation=processor.aggregation)


def fit_then_test(overrides: dict[str, Any], *, validation: dict[str, Any] | None = None,
                  test: dict[str, Any] | None = None, fit: bool = True) -> dict[str, Any]:
    """Fit on validation, then evaluate on test with what was fitted; returns the test metrics.

    The validation run (``eval.fit_on=validation``) fits the score aggregation, the localisation
    threshold and Platt scaling; the test run reads its ``calibration.json``, so nothing is chosen on
    test. This is how ``make demo`` and ``bench/quality.py`` report. ``overrides`` (as for
    :func:`build_config`) apply to both runs, ``validation`` and ``test`` to one each (e.g.
    ``eval.max_problems``, or the pregenerated file of each split). ``fit=False`` (nothing to fit, e.g.
    no reward model) runs test alone.
    """
    calibration = None
    if fit:
        fit_cfg = build_config({**overrides, **(validation or {}), "eval.fit_on": "validation"})
        run_evaluation(fit_cfg)
        calibration = str(make_plan(fit_cfg).output_dir / "calibration.json")
    return run_evaluation(build_config({**overrides, **(test or {}), "eval.calibration_path": calibration}))


def aggregate(plan: EvalPlan, processor: ProblemProcessor, calibration: dict | None) -> dict[str, Any]:
    """``metrics.json``: the per-problem numbers the processor kept, reduced to metrics with intervals."""
    ev, seed = plan.eval, plan.seed
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "mode": plan.mode,
        "task": plan.task.name,
        "split": plan.split,
        "seed": seed,
        "computed": {
            "policy_logprobs": plan.policy_logprobs,
            "reward_scores": plan.reward,
            "reward_aggregation": processor.aggregation,
        },
        "bootstrap": {
            "n_resamples": ev.bootstrap_resamples,
            "seed": seed,
            "alpha": 0.05,
            "unit": "problem",
            "method": "percentile",
        },
        "calibration_source": None if calibration is None else str(ev.calibration_path),
    }
    if len(processor.results):  # the graded problems
        platt = {k: v for k, v in ((calibration or {}).get("platt") or {}).items() if "a" in v}
        out.update(
            sample_metrics(
                processor.results,
                ks=ev.ks,
                Ns=ev.best_of_ns,
                aggregation=processor.aggregation,
                missing=processor.missing,
                platt=platt,
                n_resamples=ev.bootstrap_resamples,
                seed=seed,
                temperature=ev.reward_temperature,
            )
        )
    else:
        out.update(
            {
                "n_problems": processor.n_problems,
                "n_samples": processor.n_samples,
                "pass_at_k": {"available": False, "reason": "no gold answers (e.g. ProcessBench)"},
            }
        )
    fitted = (calibration or {}).get("localisation") or {}
    out["localisation"] = localisation_metrics(
        processor.traces,
        fitted=fitted,
        hit_ks=ev.hit_ks,
        windows=ev.windows,
        n_resamples=ev.bootstrap_resamples,
        seed=seed,
    )
    out["localisation"]["n_excluded"] = processor.n_excluded_traces
    if not out["localisation"]["available"] and processor.n_excluded_traces:
        out["localisation"]["reason"] = (
            f"all {processor.n_excluded_traces} traces with a known first wrong step were excluded: it is a "
            "missing step after the trace's last one (first_error_step = the number of steps: no span to find)"
        )
    out["answer_extraction"] = processor.answer_stats.to_metrics()
    out["warnings"] = processor.answer_stats.warnings()
    for warning in out["warnings"]:
        log.warning(warning)
    out["config"] = {"eval": asdict(ev) if hasattr(ev, "__dataclass_fields__") else dict(ev)}
    out["inputs"] = processor.describe_inputs()
    return out


def build_config(overrides: dict[str, Any] | None = None) -> Any:
    """An ``EvaluateConfig`` as ``configs/evaluate.yaml`` composes it (reward model off), with dotted overrides.

    For code and tests that do not go through Hydra: ``build_config({"eval.mode": "pregenerated", ...})``.
    """
    from omegaconf import OmegaConf

    from reasoning_irl.config.schema import EvaluateConfig

    cfg = OmegaConf.structured(EvaluateConfig)
    cfg.model.reward = None
    cfg.run_name = f"eval-{cfg.task.name}"
    # Each value is set as given (the schema converts "100" to an int where the field is one), never
    # re-parsed as YAML text: a string such as task.arith_operators="*/" stays that string.
    for key, value in (overrides or {}).items():
        OmegaConf.update(cfg, key, value, merge=True)
    return OmegaConf.to_object(cfg)
