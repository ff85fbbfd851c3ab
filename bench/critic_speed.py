"""The critic (discriminator) update against an SFT training step: tokens/s side by side in one process.

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 .venv/bin/python bench/critic_speed.py [--repeats 3] [--quick] [--label L]

Both sides run on the same warm-started tiny policy (the tests' fixture,
:func:`reasoning_irl.testing.warm_started_policy`, cached under ``$REASONING_IRL_CACHE``) and the same
arith expert traces, on ``--threads`` torch threads (1 by default: the machine is shared):

- **SFT**: the SFT baseline's shape (``SFTTrainingConfig.batch_size`` = 32 expert traces, prompt masked,
  right padding): forward with labels, backward, gradient-norm clip at 1 (TRL's default), AdamW step,
  over ``--sft-steps`` consecutive batches of the training set;
- **critic**: what the AIRL trainer runs per step of ``python train_irl.py`` (``configs/train_irl.yaml``,
  the demo's defaults): the batch of :func:`reasoning_irl.trainers.airl._discriminator_batch` (the
  expert traces of ``training.batch_prompts`` prompts, ``sampling.num_generations`` policy samples per
  prompt drawn once from the policy, one perturbed copy per expert — the perturbation is timed) and
  :meth:`Discriminator.update` with ``updates_per_step`` = K optimiser steps, for each cell of
  ``CELLS`` (the default ``airl`` form with the ``log_prob`` head, and ``gail`` with ``log_ratio`` at
  K = 3 and at K = 1).

Tokens are real (non-pad) prompt + completion tokens that go through a training forward/backward: an
SFT step counts its batch once, a critic update counts its batch K times (one per optimiser step);
the ``airl`` form's policy log-prob pass and π_ref's pass of ``log_ratio`` are extra work over the
same tokens, timed but not counted. Each repeat times SFT and then every cell, so that load on the
machine hits both; the JSON keeps every repeat and reports medians and the ratio
SFT tokens/s ÷ critic tokens/s (1 = as fast as SFT; issue 19 asks for ≤ 1.5). Writes
``bench/results/critic_speed.json`` (``--output`` to write elsewhere), with the load average and the
folder of the ``reasoning_irl`` package measured: ``PYTHONPATH=<old checkout>/src`` measures older code
with this script (``--label`` says which).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: (name, Hydra overrides of ``train_irl``) of the critic cells measured.
CELLS = {
    "airl_log_prob": [],
    "gail_log_ratio": ["discriminator.form=gail", "reward.head=log_ratio", "reward.beta=0.2"],
    # one optimiser step per update, as in issue 19's feasibility protocol: nothing shared between steps
    "gail_log_ratio_k1": ["discriminator.form=gail", "reward.head=log_ratio", "reward.beta=0.2",
                          "discriminator.updates_per_step=1"],
}


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats (the median is reported)")
    parser.add_argument("--sft-steps", type=int, default=4, help="SFT steps per repeat")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="one repeat of one SFT step, not written")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "critic_speed.json")
    parser.add_argument("--label", default="", help="what was measured, kept in the JSON (e.g. the code's commit)")
    return parser.parse_args()


def _config(overrides: list[str]):
    from hydra import compose, initialize_config_dir

    from reasoning_irl.cli import to_schema
    from reasoning_irl.config.schema import TrainIRLConfig

    with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
        return to_schema(compose(config_name="train_irl", overrides=overrides), TrainIRLConfig)


class _Sft:
    """SFT steps on consecutive batches of expert traces (the SFT baseline's batch and loss)."""

    def __init__(self, policy_path: str, model_cfg, records, batch_size: int) -> None:
        from reasoning_irl.models import collate, encode, load_causal_lm, load_tokenizer

        tokenizer = load_tokenizer(policy_path, model_cfg)
        self.model = load_causal_lm(policy_path, model_cfg)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=1e-3)
        self.batches = []
        for begin in range(0, len(records) - batch_size + 1, batch_size):
            samples = [encode(tokenizer, r.prompt, r.target, max_length=model_cfg.max_length)
                       for r in records[begin : begin + batch_size]]
            batch = collate(samples, tokenizer.pad_token_id, padding_side="right")
            batch["labels"] = batch["input_ids"].masked_fill(~batch["completion_mask"], -100)
            self.batches.append(batch)
        self.cursor = 0

    def run(self, steps: int) -> tuple[float, int]:
        """(seconds, tokens) of ``steps`` SFT steps."""
        tokens, start = 0, time.perf_counter()
        for _ in range(steps):
            batch = self.batches[self.cursor % len(self.batches)]
            self.cursor += 1
            loss = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                              position_ids=batch["position_ids"], labels=batch["labels"]).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
            tokens += int(batch["attention_mask"].sum())
        return time.perf_counter() - start, tokens


class _Critic:
    """The AIRL trainer's critic work of one step, on one fixed batch of prompts and policy samples."""

    def __init__(self, policy_path: str, overrides: list[str], seed: int) -> None:
        from reasoning_irl.models import encode_prompt, load_causal_lm, load_tokenizer
        from reasoning_irl.rl.rollout import generate_rollouts
        from reasoning_irl.tasks import get_task
        from reasoning_irl.trainers import airl

        self.cfg = cfg = _config([f"seed={seed}", *overrides])
        tokenizer = load_tokenizer(policy_path, cfg.model)
        self.policy = load_causal_lm(policy_path, cfg.model)
        self.discriminator = airl._setup_discriminator(cfg, policy_path, self.policy, tokenizer,
                                                       torch.device("cpu"), "math")
        self.task = get_task(cfg.task)
        train = self.task.load("train")
        self.records = [train[i] for i in airl._batch_indices(len(train), cfg.training.batch_prompts, 1, seed)]
        prompts = [encode_prompt(tokenizer, r.prompt) for r in self.records]
        self.rollouts = generate_rollouts(self.policy, tokenizer, prompts, cfg.sampling, seed=seed)
        self.rollout_records = [self.records[i] for i in self.rollouts.prompt_index]
        self.policy.train()  # as in the trainer, between its policy updates

    def batch(self):
        from reasoning_irl.trainers import airl

        return airl._discriminator_batch(self.discriminator, self.task, self.records, self.rollout_records,
                                         self.rollouts, relabel=False, seed=self.cfg.seed)

    def shape(self) -> dict[str, int]:
        positives, negatives = self.batch()
        model = self.discriminator.reward_model
        lengths = [len(model.prepare(s.prompt, s.completion, s.steps, finished=s.finished).encoded.input_ids)
                   for s in positives + negatives]
        kinds = [s.kind for s in positives + negatives]
        return {"expert": kinds.count("expert"), "policy": kinds.count("policy"),
                "perturbed": kinds.count("perturbed"), "tokens_per_pass": sum(lengths),
                "updates_per_step": self.cfg.discriminator.updates_per_step,
                "micro_batch_size": self.cfg.discriminator.micro_batch_size}

    def run(self) -> tuple[float, dict[str, float]]:
        """(seconds, metrics) of one trainer step's critic work: the batch (perturbation) and the update."""
        start = time.perf_counter()
        positives, negatives = self.batch()
        stats = self.discriminator.update(positives, negatives)
        return time.perf_counter() - start, stats


def main() -> None:
    args = _args()
    if args.quick:
        args.repeats, args.sft_steps = 1, 1
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    import reasoning_irl
    from reasoning_irl.io import atomic_write_text
    from reasoning_irl.tasks import get_task
    from reasoning_irl.testing import warm_started_policy

    policy_path = str(warm_started_policy(300, seed=args.seed))
    cfg = _config([f"seed={args.seed}"])
    from reasoning_irl.config.training import SFTTrainingConfig

    records = [r for r in get_task(cfg.task).load("train") if r.target]
    sft = _Sft(policy_path, cfg.model, records, SFTTrainingConfig().batch_size)
    critics = {name: _Critic(policy_path, overrides, args.seed) for name, overrides in CELLS.items()}
    shapes = {name: critic.shape() for name, critic in critics.items()}
    sft.run(1)  # warm-ups: first-call costs (allocations, kernels) are not timed
    for critic in critics.values():
        critic.run()

    repeats: list[dict] = []
    for _ in range(args.repeats):
        seconds, tokens = sft.run(args.sft_steps)
        row = {"sft": {"seconds": seconds, "tokens": tokens, "tokens_per_s": tokens / seconds}}
        for name, critic in critics.items():
            seconds, stats = critic.run()
            tokens = shapes[name]["tokens_per_pass"] * shapes[name]["updates_per_step"]
            row[name] = {"seconds": seconds, "tokens": tokens, "tokens_per_s": tokens / seconds,
                         "loss": stats.get("loss")}
        repeats.append(row)

    def median(name: str) -> float:
        return statistics.median(r[name]["tokens_per_s"] for r in repeats)

    sft_rate = median("sft")
    summary = {"sft_tokens_per_s": sft_rate}
    for name in critics:
        summary[f"{name}_tokens_per_s"] = median(name)
        summary[f"{name}_ratio_sft_over_critic"] = statistics.median(
            r["sft"]["tokens_per_s"] / r[name]["tokens_per_s"] for r in repeats)
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    result = {
        "benchmark": "critic_speed",
        "settings": vars(args) | {"output": str(args.output), "policy": "warm_started_policy(300)",
                                  "sft_batch_size": SFTTrainingConfig().batch_size, "cells": CELLS},
        "shapes": shapes, "summary": summary, "repeats": repeats,
        "torch": torch.__version__, "threads": torch.get_num_threads(), "uptime": uptime,
        "load_average_1_5_15min": [round(x, 2) for x in os.getloadavg()],
        "package": str(Path(reasoning_irl.__file__).parent),  # the code measured (PYTHONPATH may point elsewhere)
        "git_commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                     cwd=ROOT).stdout.strip(),
    }
    print(f"SFT (batch {SFTTrainingConfig().batch_size}): {sft_rate:,.0f} tokens/s")
    for name in critics:
        s = shapes[name]
        print(f"critic {name} ({s['expert']} experts + {s['policy']} policy + {s['perturbed']} perturbed, "
              f"K = {s['updates_per_step']}): {summary[f'{name}_tokens_per_s']:,.0f} tokens/s, "
              f"SFT/critic = {summary[f'{name}_ratio_sft_over_critic']:.2f}")
    print(uptime)
    if args.quick:
        return
    atomic_write_text(args.output, json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
