"""GPU check: the paper's AIRL shape end to end on randomly initialised Qwen2.5-0.5B / 3B (no download).

    python scripts/gpu_check.py                      # CUDA: both models, writes bench/results/gpu_check.json
    python scripts/gpu_check.py --models qwen2.5-3b
    python scripts/gpu_check.py --cpu-dry-run        # the same code path at toy sizes on a CPU (tests)

For each model (:mod:`reasoning_irl.models.architectures`: published layer sizes, random weights, a
tokenizer built locally and padded to the 151,936-token vocabulary) it runs the real trainers:

1. ``train_irl``: 2 reward warm-up steps + 1 AIRL step, 16 prompts × 8 completions forced to 824 tokens
   (``sampling.min_new_tokens``), LoRA r = 256, bf16 weights and autocast, gradient checkpointing,
   discriminator micro-batch 4, 3 discriminator updates per step; validation at step 0 and at the end;
   a checkpoint at step 3;
2. a resume of the same run folder from that checkpoint for a 2nd AIRL step (step 4);
3. the evaluation entry (``run_evaluation``, mode ``pregenerated_policy_and_reward``) on 824-token
   pregenerated completions, scored by the run's reward model and policy;
4. TRL's ``GRPOTrainer`` (``train_grpo``) for 2 steps at the same shape (16 prompts × 8 completions per
   optimiser step) — reported as skipped, with the reason, where ``trl`` is not installed.

It prints a table and writes JSON (on CUDA, by default ``bench/results/gpu_check.json``): peak GPU memory per
phase (reward warm-up, generation, discriminator, scoring, policy update, evaluation, GRPO), seconds per
AIRL step (generation + discriminator + scoring + policy update of steps 3 and 4) and per GRPO step,
and their ratio. Targets (issue 14): 3B AIRL peak ≤ 80 GB; AIRL step ≤ 1.5 × GRPO step.

Needs ``hydra-core``/``omegaconf`` (the run folder's config.yaml) and, for GRPO, ``trl``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import torch  # noqa: E402

from reasoning_irl.io import atomic_write_json  # noqa: E402
from reasoning_irl.models.architectures import build_random_model, parameter_count  # noqa: E402

GIB = 2**30
PAPER = {"prompts": 16, "generations": 8, "completion": 824, "lora_rank": 256, "micro_batch": 4,
         "disc_updates": 3, "eval_problems": 8, "eval_samples": 4}
TOY = {"prompts": 2, "generations": 2, "completion": 8, "lora_rank": 4, "micro_batch": 2,
       "disc_updates": 1, "eval_problems": 2, "eval_samples": 2}


class PhaseMeter:
    """Peak memory and time of each ``Run.timer`` phase, per kind of step (warm-up or AIRL), by wrapping
    ``Run.timer`` and ``Run.log`` (the step counter) for the duration of a ``with`` block."""

    def __init__(self, warmup_steps: int, on_phase=None) -> None:
        self.warmup_steps, self.step, self.on_phase = warmup_steps, 1, on_phase
        self.peaks: dict[str, float] = {}
        self.seconds: dict[int, dict[str, float]] = {}
        self.log_times: dict[int, float] = {}
        self.cuda = torch.cuda.is_available()

    @contextlib.contextmanager
    def installed(self):
        from reasoning_irl.trainers.run import Run

        original_timer, original_log, meter = Run.timer, Run.log, self

        @contextlib.contextmanager
        def timer(run, name):
            if meter.cuda:
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            start = time.perf_counter()
            with original_timer(run, name):
                yield
            if meter.cuda:
                torch.cuda.synchronize()
            kind = "warmup_" if meter.step <= meter.warmup_steps and name != "evaluate" else ""
            meter.record(kind + name, torch.cuda.max_memory_allocated() / GIB if meter.cuda else None)
            seconds = meter.seconds.setdefault(meter.step, {})[name] = time.perf_counter() - start
            print(f"[gpu_check] step {meter.step} {kind + name}: {seconds:.1f} s, "
                  f"peak {meter.peaks.get(kind + name, '–')} GiB", flush=True)
            if meter.on_phase:
                meter.on_phase(meter)

        def log(run, step, values, **kwargs):
            original_log(run, step, values, **kwargs)
            meter.log_times[int(step)] = time.perf_counter()
            meter.step = int(step) + 1

        Run.timer, Run.log = timer, log
        try:
            yield self
        finally:
            Run.timer, Run.log = original_timer, original_log

    def record(self, key: str, gib: float | None) -> None:
        if gib is not None:
            self.peaks[key] = max(self.peaks.get(key, 0.0), round(gib, 2))

    def step_seconds(self, steps, parts=("generate", "discriminator", "score", "policy")) -> float:
        return sum(sum(self.seconds.get(s, {}).get(p, 0.0) for p in parts) for s in steps) / len(steps)


def _irl_config(model_dir: Path, out: Path, shape: dict, max_steps: int, dtype: str, device: str,
                airl_only: bool = False):
    """The check's AIRL run: 2 reward warm-up steps and a generating validation, or neither (``airl_only``)."""
    from reasoning_irl.config.algo import AlgoConfig
    from reasoning_irl.config.model import ModelConfig
    from reasoning_irl.config.reward import DiscriminatorConfig, RewardConfig
    from reasoning_irl.config.sampling import SamplingConfig
    from reasoning_irl.config.schema import TrainIRLConfig
    from reasoning_irl.config.task import TaskConfig
    from reasoning_irl.config.tracking import LoggingConfig
    from reasoning_irl.config.training import IRLTrainingConfig

    return TrainIRLConfig(
        seed=42, run_name="airl", output_root=str(out), device=device,
        task=TaskConfig(name="arith", arith_num_train=64, arith_num_validation=16, arith_num_test=16),
        model=_model_config(model_dir, shape, dtype, ModelConfig),
        reward=RewardConfig(head="linear", granularity="step", micro_batch_size=shape["micro_batch"]),
        discriminator=DiscriminatorConfig(form="gail", learning_rate=1e-5, label_smoothing=0.1,
                                          updates_per_step=shape["disc_updates"], reward_clip=5.0,
                                          micro_batch_size=shape["micro_batch"], replay_buffer_size=6400),
        algo=AlgoConfig(kl_beta=0.1, loss_aggregation="bnpo"),
        sampling=SamplingConfig(num_generations=shape["generations"], max_new_tokens=shape["completion"],
                                min_new_tokens=shape["completion"], temperature=1.0, top_p=0.95),
        training=IRLTrainingConfig(learning_rate=5e-6, max_steps=max_steps, reward_warmup_steps=0 if airl_only else 2,
                                   batch_prompts=shape["prompts"], micro_batch_size=shape["micro_batch"],
                                   eval_every=0, eval_problems=shape["eval_problems"], eval_generate=not airl_only,
                                   checkpoint_every=1000, warm_start_steps=0, bf16=dtype == "bfloat16"),
        logging=LoggingConfig(wandb_mode="disabled", progress_bar=False, logging_steps=1),
    )


def _model_config(model_dir: Path, shape: dict, dtype: str, cls, reward: str | None = "from_policy"):
    return cls(policy=str(model_dir), reward=reward, dtype=dtype, lora_rank=shape["lora_rank"],
               gradient_checkpointing=True, max_prompt_length=300, max_completion_length=shape["completion"])


def _pregenerated(path: Path, model_dir: Path, shape: dict, seed: int) -> None:
    """``eval_problems`` test problems × ``eval_samples`` completions of exactly ``completion`` random tokens."""
    from transformers import AutoTokenizer

    from reasoning_irl.config.task import TaskConfig
    from reasoning_irl.tasks import get_task

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    records = get_task(TaskConfig(name="arith", arith_num_train=64, arith_num_validation=16,
                                  arith_num_test=16)).load("test")[: shape["eval_problems"]]
    generator = torch.Generator().manual_seed(seed)
    rows = []
    for record in records:
        for k in range(shape["eval_samples"]):
            ids = torch.randint(BPE_OFFSET, len(tokenizer), (shape["completion"],), generator=generator).tolist()
            rows.append({"problem_id": record.problem_id, "sample_idx": k, "prompt": record.prompt,
                         "completion": tokenizer.decode(ids), "answer": record.answer})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


BPE_OFFSET = 600  # sample among the padded ids: each decodes to one token that re-encodes to itself


def _evaluate(run_dir: Path, model_dir: Path, out: Path, shape: dict, dtype: str, device: str) -> None:
    from reasoning_irl.config.eval import EvalConfig
    from reasoning_irl.config.model import ModelConfig
    from reasoning_irl.config.reward import RewardConfig
    from reasoning_irl.config.sampling import SamplingConfig
    from reasoning_irl.config.schema import EvaluateConfig
    from reasoning_irl.config.task import TaskConfig
    from reasoning_irl.eval.modes import run_evaluation

    samples = out / "pregenerated.jsonl"
    _pregenerated(samples, model_dir, shape, seed=0)
    cfg = EvaluateConfig(
        seed=42, run_name="eval", output_root=str(out), device=device,
        task=TaskConfig(name="arith", arith_num_train=64, arith_num_validation=16, arith_num_test=16),
        model=_model_config(model_dir, shape, dtype, ModelConfig, reward=None),  # the run's reward model
        reward=RewardConfig(granularity="step"),
        sampling=SamplingConfig(n_samples=shape["eval_samples"], max_new_tokens=shape["completion"]),
        eval=EvalConfig(mode="pregenerated_policy_and_reward", pregenerated_jsonl_path=str(samples),
                        run_dir=str(run_dir), checkpoint="final", output_dir=str(out / "eval"), ks=[1],
                        batch_size=shape["micro_batch"], bootstrap_resamples=100))
    run_evaluation(cfg)
    if not (out / "eval" / "metrics.json").is_file():
        raise RuntimeError(f"the evaluation wrote no {out / 'eval' / 'metrics.json'}")


def _grpo(model_dir: Path, out: Path, shape: dict, dtype: str, device: str) -> dict:
    if importlib.util.find_spec("trl") is None:
        return {"skipped": "trl is not installed (pip install trl==1.16.0); TRL's GRPO step was not measured"}
    try:
        import trl  # noqa: F401
    except Exception as err:  # e.g. a trl release that does not match the installed transformers
        return {"skipped": f"trl cannot be imported here ({type(err).__name__}: {str(err)[:200]})"}
    from reasoning_irl.config.algo import AlgoConfig
    from reasoning_irl.config.model import ModelConfig
    from reasoning_irl.config.sampling import SamplingConfig
    from reasoning_irl.config.schema import TrainGRPOConfig
    from reasoning_irl.config.task import TaskConfig
    from reasoning_irl.config.tracking import LoggingConfig
    from reasoning_irl.config.training import GRPOTrainingConfig
    from reasoning_irl.trainers.grpo import train_grpo

    per_micro = max(1, shape["micro_batch"] // shape["generations"])  # prompts per micro-batch
    cfg = TrainGRPOConfig(
        seed=42, run_name="grpo", output_root=str(out), device=device,
        task=TaskConfig(name="arith", arith_num_train=64, arith_num_validation=16, arith_num_test=16),
        model=_model_config(model_dir, shape, dtype, ModelConfig),
        algo=AlgoConfig(kl_beta=0.0, loss_aggregation="bnpo"),
        sampling=SamplingConfig(num_generations=shape["generations"], max_new_tokens=shape["completion"],
                                min_new_tokens=shape["completion"], temperature=1.0, top_p=0.95),
        training=GRPOTrainingConfig(max_steps=2, batch_prompts=per_micro, learning_rate=5e-6,
                                    gradient_accumulation_steps=shape["prompts"] // per_micro,
                                    eval_every=0, eval_problems=2, eval_generate=False, checkpoint_every=0,
                                    bf16=dtype == "bfloat16"),
        logging=LoggingConfig(wandb_mode="disabled", progress_bar=False, logging_steps=1))
    meter = PhaseMeter(warmup_steps=0)
    if meter.cuda:
        torch.cuda.reset_peak_memory_stats()
    with meter.installed():
        train_grpo(cfg, out / "grpo")
    times = meter.log_times
    result = {"peak_gib": round(torch.cuda.max_memory_allocated() / GIB, 2) if meter.cuda else None,
              "completions_per_step": shape["prompts"] * shape["generations"]}
    if 1 in times and 2 in times:
        result["seconds_per_step"] = round(times[2] - times[1], 2)
    return result


def check_model(name: str, shape: dict, work: Path, dtype: str, device: str, result: dict, save,
                airl_only: bool = False) -> None:
    """Build ``name``, run AIRL (+ resume), evaluation and GRPO at ``shape``, filling ``result`` and calling
    ``save()`` after each part, so that a run cut short keeps what it measured."""
    started = time.perf_counter()
    model_dir = build_random_model(name, work / "models" / name, dtype=dtype,
                                   device="cuda" if device == "cuda" else "cpu")
    from reasoning_irl.trainers.airl import train_irl

    result.update({"model": name, "parameters": parameter_count(name), "dtype": dtype, "device": device,
                   "shape": shape, "build_s": round(time.perf_counter() - started, 1)})
    out = work / name

    def progress(meter: PhaseMeter) -> None:
        result.update({"peak_gib": meter.peaks, "phase_s": meter.seconds})
        save()

    if airl_only:  # one AIRL step, no warm-up, no generating validation: peak memory and time, quickly
        meter = PhaseMeter(warmup_steps=0, on_phase=progress)
        with meter.installed():
            train_irl(_irl_config(model_dir, out, shape, 1, dtype, device, airl_only=True), out / "airl")
        result.update({"airl_peak_gib": max(meter.peaks.values(), default=None),
                       "airl_step_s": round(meter.step_seconds([1]), 2)})
        save()
        return
    meter = PhaseMeter(warmup_steps=2, on_phase=progress)
    with meter.installed():
        train_irl(_irl_config(model_dir, out, shape, 1, dtype, device), out / "airl")  # steps 1–3, checkpoint 3
        first = time.perf_counter()
        train_irl(_irl_config(model_dir, out, shape, 2, dtype, device), out / "airl")  # resumes: step 4
    metrics = [json.loads(line) for line in (out / "airl" / "metrics.jsonl").read_text().splitlines()]
    if [r["step"] for r in metrics if r["step"] >= 3] != [3, 4]:
        raise RuntimeError("the resumed run did not continue at step 4 from the step-3 checkpoint")
    airl_step = meter.step_seconds([3, 4])
    result.update({"peak_gib": meter.peaks, "airl_peak_gib": max(meter.peaks.values(), default=None),
                   "warmup_step_s": round(meter.step_seconds([1, 2], ("generate", "discriminator")), 2),
                   "airl_step_s": round(airl_step, 2), "phase_s": meter.seconds,
                   "resume_run_s": round(time.perf_counter() - first, 1)})
    save()
    if meter.cuda:
        torch.cuda.reset_peak_memory_stats()
    with meter.installed():
        meter.step = 10**6
        start = time.perf_counter()
        _evaluate(out / "airl", model_dir, out, shape, dtype, device)
        meter.record("evaluation_entry", torch.cuda.max_memory_allocated() / GIB if meter.cuda else None)
    result.update({"peak_gib": meter.peaks, "evaluation_entry_s": round(time.perf_counter() - start, 1)})
    save()
    grpo = _grpo(model_dir, out, shape, dtype, device)
    result.update({"grpo": grpo, "total_s": round(time.perf_counter() - started, 1)})
    if grpo.get("seconds_per_step"):
        result["airl_over_grpo"] = round(airl_step / grpo["seconds_per_step"], 2)
    save()


def table(results: list[dict]) -> str:
    keys = sorted({k for r in results for k in r.get("peak_gib", {})})
    lines = ["| measure | " + " | ".join(r["model"] for r in results) + " |",
             "| --- |" + " --- |" * len(results)]
    for key in keys:
        cells = (str(r.get("peak_gib", {}).get(key, "–")) for r in results)
        lines.append(f"| peak GiB: {key} | " + " | ".join(cells) + " |")
    for key in ("airl_peak_gib", "warmup_step_s", "airl_step_s", "airl_over_grpo", "total_s"):
        lines.append(f"| {key} | " + " | ".join(str(r.get(key, "–")) for r in results) + " |")
    lines.append("| grpo | " + " | ".join(json.dumps(r.get("grpo", "–")) for r in results) + " |")
    if any("error" in r for r in results):
        lines.append("| error | " + " | ".join(r.get("error", "–") for r in results) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu-dry-run", action="store_true", help="toy sizes on the CPU")
    parser.add_argument("--dtype", choices=("float32", "bfloat16"), default=None,
                        help="weights' dtype (default: bfloat16 on CUDA, float32 for the dry run)")
    parser.add_argument("--models", default="qwen2.5-0.5b,qwen2.5-3b", help="comma-separated architectures")
    parser.add_argument("--airl-only", action="store_true",
                        help="one AIRL step (no warm-up, validation, resume, evaluation or GRPO): memory and time")
    parser.add_argument("--work", default=None, help="working folder (default: ./gpu_check_work or the temp dir)")
    parser.add_argument("--out", default=None, help="JSON output (CUDA default: bench/results/gpu_check.json)")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("WANDB_MODE", "disabled")
    if args.cpu_dry_run:
        names, shape, dtype, device = ["toy"], TOY, "float32", "cpu"
    else:
        if not torch.cuda.is_available():
            print("no CUDA device: run with --cpu-dry-run for the toy check", file=sys.stderr)
            return 2
        names, shape, dtype, device = args.models.split(","), PAPER, "bfloat16", "cuda"
    work = Path(args.work or ("gpu_check_work" if device == "cuda" else f"/tmp/gpu_check_{os.getpid()}"))
    dtype = args.dtype or dtype
    out = args.out or ("bench/results/gpu_check.json" if device == "cuda" else None)
    report = {"machine": _machine(device), "results": []}

    def save() -> None:
        if out:
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            atomic_write_json(Path(out), report)

    failed = False
    for name in names:
        result: dict = {"model": name}
        report["results"].append(result)
        try:
            check_model(name, shape, work, dtype, device, result, save, airl_only=args.airl_only)
        except Exception as err:  # keep the other model's measurements and say what broke
            failed = True
            result.update({"error": f"{type(err).__name__}: {str(err)[:300]}",
                           "traceback": traceback.format_exc()[-3000:]})
            traceback.print_exc()
            save()
        if device == "cuda":
            torch.cuda.empty_cache()
    print(table(report["results"]))
    if out:
        print(f"wrote {out}")
    return 1 if failed else 0


def _machine(device: str) -> dict:
    from reasoning_irl.trainers.provenance import versions

    return {"gpu": torch.cuda.get_device_name(0) if device == "cuda" else None, **versions()}

if __name__ == "__main__":
    sys.exit(main())
