"""Reward-model grid on arith: granularity × head × form × seed, experts against perturbed experts.

For each configuration a reward model starts from the warm-started tiny policy
(:func:`reasoning_irl.testing.warm_started_policy`, ``model.reward=from_policy``), is trained for
``--steps`` discriminator updates on arith expert traces against perturbed ones
(:func:`reasoning_irl.rewards.validation.train_on_perturbations`), and is measured on held-out test
problems (AUROC, localisation rate with its chance levels, ProcessBench F1; the threshold is fitted
on validation). One JSON per configuration and seed goes to ``bench/results/reward_grid/``; an
existing file is skipped, so an interrupted run resumes where it stopped.

    python bench/reward_grid.py                                   # the whole grid, seeds 0 1 2
    python bench/reward_grid.py --granularity step --head log_ratio --form gail --seeds 0
    python bench/reward_grid.py --head linear --head-lr 1e-2 --tag linear_head_lr  # a variant, own files

The ``airl`` form is given the warm-started policy's log-probabilities (same tokenizer).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from cells import already_done  # noqa: E402  (bench/ is on sys.path when run as a script)

RESULTS = Path(__file__).resolve().parent / "results" / "reward_grid"


def policy_logprobs_fn(policy_path: str, model_cfg):
    """(prompts, completions) → each completion's per-token log-probs under the frozen warm-started policy."""
    import torch

    from reasoning_irl.models.encoding import collate, encode
    from reasoning_irl.models.loading import load_causal_lm, load_tokenizer
    from reasoning_irl.rl.logprobs import completion_logprobs

    tokenizer = load_tokenizer(policy_path, model_cfg)
    policy = load_causal_lm(policy_path, model_cfg, trainable=False)

    @torch.no_grad()
    def logprobs(prompts, completions):
        encoded = [encode(tokenizer, p, c) for p, c in zip(prompts, completions)]
        batch = collate(encoded, tokenizer.pad_token_id, "right")
        values = completion_logprobs(policy, batch["input_ids"], batch["attention_mask"], batch["completion_mask"])
        return [values[row, batch["completion_mask"][row]].tolist() for row in range(len(encoded))]

    return logprobs, tokenizer


def config_of(granularity: str, head: str, form: str, seed: int, args) -> dict:
    """Everything that decides a result (stored in it; a resumed run checks it)."""
    return {"granularity": granularity, "head": head, "form": form, "seed": seed, "steps": args.steps,
            "batch_size": args.batch_size, "lr": args.lr, "head_lr": args.head_lr, "beta": args.beta,
            "head_init_std": args.head_init_std, "lora_rank": args.lora_rank,
            "warm_start_steps": args.warm_start_steps, "eval_problems": args.eval_problems,
            "aggregation": args.aggregation}


def run_one(granularity: str, head: str, form: str, seed: int, args) -> dict:
    import torch

    from reasoning_irl.config.model import ModelConfig
    from reasoning_irl.config.reward import DiscriminatorConfig, RewardConfig
    from reasoning_irl.config.task import TaskConfig
    from reasoning_irl.models.loading import tokenizer_hash
    from reasoning_irl.rewards import Discriminator, build_reward_model
    from reasoning_irl.rewards.validation import evaluate_on_perturbations, train_on_perturbations
    from reasoning_irl.tasks.arith import ArithTask
    from reasoning_irl.testing import warm_started_policy

    torch.manual_seed(seed)
    task_cfg = TaskConfig(system_prompt="")  # short prompts: 2.5× cheaper on CPU; the warm start's data
    policy = str(warm_started_policy(steps=args.warm_start_steps, seed=0, task_cfg=task_cfg))
    model_cfg = ModelConfig(policy=policy, reward="from_policy", lora_rank=args.lora_rank)
    reward_cfg = RewardConfig(granularity=granularity, head=head, beta=args.beta, head_init_std=args.head_init_std,
                              aggregation=args.aggregation)
    disc_cfg = DiscriminatorConfig(form=form, updates_per_step=1, learning_rate=args.lr,
                                   head_learning_rate=args.head_lr, label_positions="prefix")
    reward_model = build_reward_model(reward_cfg, model_cfg, form=form, gamma=disc_cfg.gamma)
    extra = {}
    if form == "airl":
        logprobs, policy_tokenizer = policy_logprobs_fn(policy, model_cfg)
        extra = {"policy_tokenizer_hash": tokenizer_hash(policy_tokenizer), "policy_logprobs": logprobs}
    discriminator = Discriminator(reward_model, disc_cfg, seed=seed, **extra)
    task = ArithTask(task_cfg)
    start = time.perf_counter()
    history = train_on_perturbations(discriminator, task.load("train"), args.steps, args.batch_size, seed=seed)
    train_seconds = time.perf_counter() - start
    n = args.eval_problems
    metrics = evaluate_on_perturbations(reward_model, task.load("validation")[:n], task.load("test")[:n],
                                        discriminator.perturbations, task=task, seed=1000 + seed)
    return {
        "config": config_of(granularity, head, form, seed, args),
        "metrics": metrics,
        "train": {"first_loss": history[0]["loss"], "last_loss": history[-1]["loss"],
                  "last_acc_pos": history[-1]["acc_pos"], "last_acc_neg": history[-1]["acc_neg"]},
        "run_info": {"train_seconds": round(train_seconds, 1), "python": platform.python_version(),
                     "torch": torch.__version__},
    }


def likelihood_baseline(args) -> dict:
    """No training: score each completion by the warm-started policy's own log-likelihood Σ_t log π(y_t|…)
    (step scores: the cumulative log-likelihood at each step's end). Shows how much of the signal is
    already in the policy's predictive distribution — the quantity a ``log_ratio`` head builds on."""
    import numpy as np

    from reasoning_irl.config.model import ModelConfig
    from reasoning_irl.config.task import TaskConfig
    from reasoning_irl.metrics.calibration import auroc
    from reasoning_irl.metrics.localisation import first_below_threshold, fit_threshold
    from reasoning_irl.models.encoding import encode
    from reasoning_irl.rewards.positions import step_end_tokens
    from reasoning_irl.rewards.validation import perturbed_set
    from reasoning_irl.tasks.arith import ArithTask
    from reasoning_irl.testing import warm_started_policy
    from reasoning_irl.text.format import segment_steps

    task_cfg = TaskConfig(system_prompt="")
    policy = str(warm_started_policy(steps=args.warm_start_steps, seed=0, task_cfg=task_cfg))
    model_cfg = ModelConfig(policy=policy)
    logprobs, tokenizer = policy_logprobs_fn(policy, model_cfg)
    task = ArithTask(task_cfg)
    names = ["flip_operator", "nearby_answer", "corrupt_numbers", "answer_from_reasoning"]

    def split(records, seed):
        perturbed = perturbed_set(records, names, seed, task)
        prompts = [r.prompt for r in records] + [p["record"].prompt for p in perturbed]
        texts = [r.target for r in records] + [p["text"] for p in perturbed]
        truth = [None] * len(records) + [p["truth"] for p in perturbed]
        steps = []
        for prompt, text, values in zip(prompts, texts, logprobs(prompts, texts)):
            ends = step_end_tokens(encode(tokenizer, prompt, text).completion_offsets, segment_steps(text))
            cumulative = np.cumsum(values)
            steps.append([float(cumulative[e]) for e in ends])
        sequence = [float(np.sum(v)) for v in logprobs(prompts, texts)]
        return steps, sequence, truth

    n = args.eval_problems
    val_steps, _, val_truth = split(task.load("validation")[:n], 1001)
    fit = fit_threshold(val_steps, val_truth)
    steps, sequence, truth = split(task.load("test")[:n], 1002)
    pred = [first_below_threshold(s, fit["threshold"]) for s in steps]
    errors = [(p, t, len(s)) for p, t, s in zip(pred, truth, steps) if t is not None]
    return {"config": {"baseline": "policy log-likelihood", "warm_start_steps": args.warm_start_steps,
                       "eval_problems": n},
            "metrics": {"auroc": auroc([t is None for t in truth], sequence),
                        "localisation": float(np.mean([p == t for p, t, _ in errors])),
                        "chance_uniform_step": float(np.mean([1.0 / k for _, _, k in errors]))}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--granularity", nargs="+", default=["sparse", "step", "interval", "dense"])
    parser.add_argument("--head", nargs="+", default=["log_ratio", "linear"],
                        choices=["log_ratio", "linear", "linear_sum"])
    parser.add_argument("--form", nargs="+", default=["gail", "airl"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--head-lr", type=float, default=None)
    parser.add_argument("--beta", type=float, default=0.5)
    parser.add_argument("--head-init-std", type=float, default=0.0)
    parser.add_argument("--lora-rank", type=int, default=None)
    parser.add_argument("--aggregation", default="last", choices=["last", "mean", "min"])
    parser.add_argument("--warm-start-steps", type=int, default=300)
    parser.add_argument("--eval-problems", type=int, default=128)
    # One thread: on a shared 2-core machine, two OpenMP threads per process spin against each other
    # (measured here: 0.87 s vs 7.6 s for one tiny training step while other jobs ran).
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--likelihood-baseline", action="store_true",
                        help="only the untrained baseline: the policy's own log-likelihood")
    parser.add_argument("--tag", default="", help="suffix of the result files (for variants)")
    args = parser.parse_args(argv)
    import torch

    from reasoning_irl.io import atomic_write_json

    torch.set_num_threads(args.threads)
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.likelihood_baseline:
        result = likelihood_baseline(args)
        (RESULTS / "likelihood-baseline.json").write_text(json.dumps(result, indent=2) + "\n")
        print(result["metrics"])
        return 0
    for granularity, head, form, seed in itertools.product(args.granularity, args.head, args.form, args.seeds):
        name = f"{granularity}-{head}-{form}{'-' + args.tag if args.tag else ''}-seed{seed}.json"
        path = RESULTS / name
        if already_done(path, config_of(granularity, head, form, seed, args), "config",
                        "give this variant its own --tag, or delete the file to redo it"):
            continue
        result = run_one(granularity, head, form, seed, args)
        atomic_write_json(path, result)
        m = result["metrics"]
        print(f"{name}: auroc {m['auroc']:.3f}  localisation {m['localisation']:.3f} "
              f"(chance {m['chance_uniform_step']:.3f})  f1 {m['f1']:.3f}  "
              f"train {result['run_info']['train_seconds']}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
