"""``make demo``: the whole method on the embedded default (arith task, tiny model, CPU).

    python -m reasoning_irl.demo                      # SFT warm start → AIRL → evaluation → figures
    python -m reasoning_irl.demo --problems 50        # a smaller evaluation

Stages:
1. build the tiny model and tokenizer locally, generate the arith data, show a trace as steps/tokens;
2. ``train_irl.py`` with its defaults: a short SFT warm start, then AIRL (discriminator + policy);
3. ``evaluate.py`` on validation (fits the score aggregation, the localisation threshold and Platt
   scaling — nothing is fitted on test), then on test with that calibration: reranking, calibration
   and localisation of the policy's natural errors;
4. figures, tables and an HTML report of the run.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

from hydra import compose, initialize_config_dir

from reasoning_irl.cli import to_schema
from reasoning_irl.config.model import ModelConfig
from reasoning_irl.config.schema import TrainIRLConfig
from reasoning_irl.config.task import TaskConfig
from reasoning_irl.models import encode, load_tokenizer, tiny_model_path
from reasoning_irl.tasks import get_task
from reasoning_irl.text import segment_steps

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def quiet_libraries() -> None:
    """Keep the demo's output to one progress bar per phase and the summary.

    Off: the ``FutureWarning``s of transformers and TRL (deprecations a newcomer cannot act on), the
    progress bars of ``datasets.map`` (TRL's dataset preparation: "Building labels", "Truncating", …) and
    of transformers' weight loading and saving, and wandb's banner. The training bars of each phase
    (:mod:`reasoning_irl.trainers.run`) and every warning of this project stay.
    """
    import datasets
    from transformers.utils import logging as hf_logging

    warnings.filterwarnings("ignore", category=FutureWarning, module=r"(transformers|trl)(\.|$)")
    datasets.disable_progress_bars()
    hf_logging.disable_progress_bar()
    os.environ.setdefault("WANDB_SILENT", "true")


def preview_data(task_cfg: TaskConfig, model_cfg: ModelConfig) -> None:
    """Print split sizes and one expert demonstration, split into steps and tokens."""
    task = get_task(task_cfg)
    splits = {split: task.load(split) for split in ("train", "validation", "test")}
    print("arith splits: " + ", ".join(f"{name} {len(records)}" for name, records in splits.items()))
    record = splits["train"][0]
    print(f"\nquestion: {record.question}\nexpert trace:\n{record.target}\n")
    tokenizer = load_tokenizer(str(tiny_model_path(model_cfg)), model_cfg)
    sample = encode(tokenizer, record.prompt, record.target)
    for i, step in enumerate(segment_steps(record.target)):
        tokens = [record.target[s:e] for s, e in sample.completion_offsets if step.start <= s < step.end]
        print(f"  step {i}: {step.text!r:34} {len(tokens):2d} tokens {tokens}")
    print(f"\nprompt tokens: {sample.prompt_length}, completion tokens: {sample.completion_length}")


def train(output_root: Path, seed: int) -> Path:
    """``python train_irl.py`` with the embedded defaults; returns the run folder."""
    from reasoning_irl.trainers.airl import train_irl

    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        cfg = compose(config_name="train_irl", overrides=[f"output_root={output_root}", f"seed={seed}"])
    return train_irl(to_schema(cfg, TrainIRLConfig))


def evaluate(run_dir: Path, problems: int, seed: int) -> dict:
    """Fit on validation, then evaluate the run's ``best`` checkpoint on test with that calibration."""
    from reasoning_irl.eval.modes import fit_then_test

    # Policy log-probs too: the policy's own confidence is the baseline the learned reward must beat.
    return fit_then_test({"eval.run_dir": str(run_dir), "eval.checkpoint": "best",
                          "eval.compute_policy_log_probs": True, "seed": seed},
                         validation={"eval.max_problems": problems}, test={"eval.max_problems": problems})


def describe_selection(run_dir: Path) -> str:
    """Which training step ``best/`` holds, for the policy and the reward model (``best/selection.json``)."""
    import json

    selection = json.loads((run_dir / "best" / "selection.json").read_text())
    lines = [f"best/{part}: step {s['step']} (by {s['metric']} = {s['value']:.4g})" for part, s in selection.items()]
    if selection.get("reward_model", {}).get("step") == 0:
        lines.append("the discriminator updates did not raise the validation AUROC: best/reward_model is the "
                     "reward model at initialisation (built from the warm start, before any update)")
    return "\n".join(lines)


def plot(run_dir: Path, output_root: Path) -> Path:
    import json

    from reasoning_irl.plots.main import render

    saved = json.loads((run_dir / "best" / "reward_model" / "reward_config.json").read_text())
    runs = [{"label": "AIRL (demo)", "method": "airl", "granularity": saved["granularity"], "form": saved["form"],
             "task": "arith", "run": str(run_dir)}]
    return render(runs, output_root / "figures", workers=2)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-root", type=Path, default=Path("outputs/demo"))
    parser.add_argument("--problems", type=int, default=100, help="validation and test problems evaluated")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    quiet_libraries()
    timings, start = {}, time.perf_counter()

    print("== 1. data and tiny model")
    preview_data(TaskConfig(name="arith"), ModelConfig())
    timings["data"] = time.perf_counter() - start

    print("\n== 2. SFT warm start, then AIRL (python train_irl.py)")
    run_dir = train(args.output_root, args.seed)
    timings["train"] = time.perf_counter() - start - sum(timings.values())

    print(f"\n== 3. evaluation of {run_dir}/best on {args.problems} validation + {args.problems} test problems")
    from reasoning_irl.eval.summary import summarise

    metrics = evaluate(run_dir, args.problems, args.seed)
    timings["evaluate"] = time.perf_counter() - start - sum(timings.values())

    print("\n== 4. figures and report")
    report = plot(run_dir, args.output_root)
    timings["plots"] = time.perf_counter() - start - sum(timings.values())

    print("\n" + summarise(metrics))
    print("\n" + describe_selection(run_dir))
    print(f"\nrun folder: {run_dir}\nevaluation: {run_dir}/best/eval/generate_arith/metrics.json\nreport:     {report}")
    print("time: " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()) + f"; total {sum(timings.values()):.0f} s")


if __name__ == "__main__":
    main()
