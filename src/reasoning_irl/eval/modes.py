"""``evaluate.py``'s library side: modes, inputs, models, the streaming loop and the output files.

:func:`run_evaluation` is the one call of the entry script. It reads problems one at a time (generated
from the policy, or streamed from a JSONL), grades them, optionally scores them with the policy
(log-probs) and a reward model, writes each output row to ``samples.jsonl`` in a staging folder beside the
output folder and keeps only the per-problem numbers the metrics need. At the end it writes ``metrics.json``
(and, with ``eval.fit_on=validation``, ``calibration.json``) and ``run_info.json`` (timings) there too, then
swaps the staging folder in for the output folder in one step (``io.swap_in``). Any error or kill before
that leaves the previous output folder exactly as it was. See docs/EVALUATION_GUIDE.md.
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

from reasoning_irl.eval.fitting import (
    check_fit_request,
    fit_calibration,
    load_calibration,
    reward_identity,
    write_calibration,
)
from reasoning_irl.eval.inputs import resolve_answer_format
from reasoning_irl.eval.localise import localisation_metrics
from reasoning_irl.eval.models import Models
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

MODES = ("generate", "aime", "pregenerated_policy", "pregenerated_policy_and_reward", "localisation")
ALIASES = {
    "default": "generate",
    "evaluate": "generate",
    "generate_and_eval": "generate",
    "aime_generate": "aime",
    "generate_aime": "aime",
    "pregenerated": "pregenerated_policy",
    "pregenerated_policy_only": "pregenerated_policy",
    "logprobs": "pregenerated_policy",
    "pregenerated_sft": "pregenerated_policy_and_reward",
    "logprobs_sft": "pregenerated_policy_and_reward",
    "localization": "localisation",
}


def resolve_mode(mode: str) -> str:
    """The canonical mode of ``eval.mode`` (aliases of the reference code accepted)."""
    if mode in MODES:
        return mode
    if mode in ALIASES:
        return ALIASES[mode]
    raise ValueError(
        f"eval.mode={mode!r} is unknown; use one of {', '.join(MODES)} "
        f"(aliases: {', '.join(f'{a}→{m}' for a, m in ALIASES.items())})"
    )


def resolve_split(cfg: Any) -> str:
    split = cfg.eval.split or ("validation" if cfg.eval.fit_on else "test")
    check_fit_request(cfg.eval.fit_on, split)
    return split


def default_output_dir(cfg: Any, mode: str) -> Path:
    name = f"{mode}_{cfg.task.name}"
    split = resolve_split(cfg)
    if split != "test":  # a validation (fitting) run must not overwrite the test run's outputs
        name = f"{name}_{split}"
    if cfg.eval.output_dir:
        return Path(cfg.eval.output_dir)
    if cfg.eval.run_dir:
        return Path(cfg.eval.run_dir) / cfg.eval.checkpoint / "eval" / name
    return Path(cfg.output_root) / cfg.run_name / "eval" / name


def plan(cfg: Any) -> dict[str, Any]:
    """Mode, split and which models are needed, with every contradiction refused up front."""
    mode = resolve_mode(cfg.eval.mode)
    if mode == "aime" and cfg.task.name != "aime":
        raise ValueError(
            f"eval.mode=aime evaluates the AIME task but task={cfg.task.name!r}; "
            "run it with task=aime (or use eval.mode=generate for another task)"
        )
    split = resolve_split(cfg)
    if cfg.eval.fit_on and cfg.eval.calibration_path:
        raise ValueError(
            "eval.fit_on and eval.calibration_path are both set: fit on validation first, then "
            "pass the written calibration.json to the test run"
        )
    pregenerated = mode.startswith("pregenerated") or (
        mode == "localisation" and cfg.eval.pregenerated_jsonl_path
    )
    if mode.startswith("pregenerated") and not cfg.eval.pregenerated_jsonl_path:
        raise ValueError(
            f"eval.mode={mode} reads completions from eval.pregenerated_jsonl_path, which is not set"
        )
    n = cfg.sampling.n_samples
    if not pregenerated and mode != "localisation" and cfg.eval.best_of_ns and max(cfg.eval.best_of_ns) > n:
        raise ValueError(
            f"eval.best_of_ns={cfg.eval.best_of_ns}: N={max(cfg.eval.best_of_ns)} exceeds sampling.n_samples={n}; "
            f"use N <= {n} or raise sampling.n_samples"
        )
    reward_source = Models.reward_source(cfg)
    defaults = {
        "generate": (False, reward_source is not None),
        "aime": (False, reward_source is not None),
        "pregenerated_policy": (True, False),
        "pregenerated_policy_and_reward": (True, True),
        "localisation": (True, True),
    }[mode]
    want_policy = (
        defaults[0] if cfg.eval.compute_policy_log_probs is None else cfg.eval.compute_policy_log_probs
    )
    want_reward = defaults[1] if cfg.eval.compute_reward_scores is None else cfg.eval.compute_reward_scores
    if want_reward and reward_source is None:
        raise ValueError(
            f"eval.mode={mode} scores with a reward model but none is given: set model.reward=<reward "
            "folder> or eval.run_dir=<run>, or eval.compute_reward_scores=false"
        )
    return {
        "mode": mode,
        "split": split,
        "pregenerated": bool(pregenerated),
        "policy_logprobs": bool(want_policy),
        "reward": bool(want_reward),
        "load_policy": bool(want_policy) or not pregenerated and mode != "localisation",
    }


def _task_problems(cfg: Any, task: Any, split: str, models: Models, mode: str) -> Iterator[Problem]:
    """Problems of the task split: generated from the policy, or (localisation) the task's labelled traces."""
    records = task.load(split)
    if cfg.eval.max_problems is not None:
        records = records[: cfg.eval.max_problems]
    if mode == "localisation":
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
    chunk = max(1, cfg.eval.batch_size // max(1, cfg.sampling.n_samples))
    for begin in range(0, len(records), chunk):
        part = records[begin : begin + chunk]
        generated = models.generate([r.prompt for r in part], cfg.sampling, seed=cfg.seed + begin)
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
    """Evaluate as configured (an ``EvaluateConfig``); returns the metrics written to ``metrics.json``."""
    started = time.time()
    steps = plan(cfg)
    mode, split = steps["mode"], steps["split"]
    path = cfg.eval.pregenerated_jsonl_path
    if steps["pregenerated"] and not Path(path).is_file():  # before any model is loaded
        raise DataFileError(f"input file {path} does not exist (eval.pregenerated_jsonl_path)")
    reward_model = reward_identity(Models.reward_source(cfg) if steps["reward"] else None)
    calibration = load_calibration(cfg.eval.calibration_path, task=cfg.task.name, reward_model=reward_model)
    out_dir = default_output_dir(cfg, mode)
    check_output_folder(out_dir, "eval.output_dir")  # before any work: writable, and ours to replace
    from reasoning_irl.tasks import get_task

    task_cfg, steps["answer_format_source"] = resolve_answer_format(cfg.task, steps["pregenerated"])
    task = get_task(task_cfg)
    models = Models(cfg, load_policy=steps["load_policy"], load_reward=steps["reward"])
    processor = ProblemProcessor(cfg, task, split, models, steps, calibration)
    timings: dict[str, float] = {"load_models": time.time() - started}
    if steps["pregenerated"]:
        from reasoning_irl.tasks.sources import system_prompt

        problems = iter_problems(
            iter_rows(path, system_prompt(cfg.task)),
            allow_ragged=cfg.eval.allow_ragged,
            max_problems=cfg.eval.max_problems,
            path=path,
        )
    else:
        problems = _task_problems(cfg, task, split, models, mode)
    discard_stale_staging(out_dir)
    staging = make_staging(out_dir)  # every output goes here first; swapped in once, at the end
    try:
        with SampleWriter(staging / "samples.jsonl") as writer:
            for problem in problems:
                for row in processor.process(problem):
                    writer.write(row)
            if writer.rows == 0:
                source = (f"eval.pregenerated_jsonl_path={path}" if steps["pregenerated"]
                          else f"task {cfg.task.name!r} {split}")
                raise DataFileError(
                    f"nothing to evaluate: {source} holds no rows; check the file (or eval.max_problems)"
                )
            timings["process"] = time.time() - started - timings["load_models"]
            metrics = _metrics(cfg, steps, processor, calibration)
            metrics["inputs"] = processor.describe_inputs(path, out_dir)
            calibration_out = None
            if cfg.eval.fit_on:
                about = {
                    "split": split,
                    "task": cfg.task.name,
                    "mode": mode,
                    "input": path,
                    "n_problems": processor.n_problems,
                    "n_traces": len(processor.traces),
                    "reward_model": reward_model,
                }
                calibration_out = fit_calibration(
                    processor.results, processor.traces, about=about, default_aggregation=processor.aggregation
                )
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
                "output_dir": str(out_dir),
            },
        )
        swap_in(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.info("evaluation written to %s", out_dir)
    return metrics


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
        calibration = str(default_output_dir(fit_cfg, resolve_mode(fit_cfg.eval.mode)) / "calibration.json")
    return run_evaluation(build_config({**overrides, **(test or {}), "eval.calibration_path": calibration}))


def _metrics(
    cfg: Any, steps: dict[str, Any], processor: ProblemProcessor, calibration: dict | None
) -> dict[str, Any]:
    ev = cfg.eval
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "mode": steps["mode"],
        "task": cfg.task.name,
        "split": steps["split"],
        "seed": cfg.seed,
        "computed": {
            "policy_logprobs": steps["policy_logprobs"],
            "reward_scores": steps["reward"],
            "reward_aggregation": processor.aggregation,
        },
        "bootstrap": {
            "n_resamples": ev.bootstrap_resamples,
            "seed": cfg.seed,
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
                seed=cfg.seed,
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
        seed=cfg.seed,
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
