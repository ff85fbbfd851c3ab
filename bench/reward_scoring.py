"""Reward scoring throughput: prefix-shared, length-sorted batches vs a plain per-sample forward pass.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/reward_scoring.py [--problems 8] [--samples 16] [--batch-size 64]

Same model (the tiny ``log_ratio`` reward model: trained π_ψ and frozen π_ref, both forwarded) and the same
data (GSM8K test questions from the offline data, else arith; n completions per prompt built from the gold
solution) are scored both ways in one process; the script checks that the scores agree, prints the ratio
and writes ``bench/results/reward_scoring_<data>_n<samples>.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time
from pathlib import Path

import torch

from reasoning_irl.config.model import ModelConfig
from reasoning_irl.config.reward import RewardConfig
from reasoning_irl.eval.scoring import RewardScorer
from reasoning_irl.io import atomic_write_json, data_root
from reasoning_irl.rewards.heads import beta_of, likelihood_scores, token_logprobs
from reasoning_irl.rewards.saving import build_reward_model
from reasoning_irl.text.format import format_completion
from reasoning_irl.text.prompts import build_messages


def dataset(problems: int, samples: int) -> tuple[str, list, list]:
    root = data_root()
    prompts, completions = [], []
    if root is not None and (root / "gsm8k/test.jsonl").is_file():
        from reasoning_irl.tasks.gsm8k import parse_solution

        name = "gsm8k"
        lines = (root / "gsm8k/test.jsonl").read_text().splitlines()[:problems]
        items = [
            (json.loads(line)["question"], *parse_solution(json.loads(line)["answer"])) for line in lines
        ]
    else:
        from reasoning_irl.eval.modes import build_config
        from reasoning_irl.tasks import get_task

        name = "arith"
        records = get_task(build_config().task).load("test")[:problems]
        items = [(r.question, r.target.split("\n")[1:-4], r.answer) for r in records]
    for question, steps, answer in items:
        for s in range(samples):  # n distinct completions: drop steps, change the answer
            kept = steps[: max(1, len(steps) - s % len(steps))]
            prompts.append(build_messages(question))
            completions.append(format_completion(kept, str(int(float(answer)) + s)))
    return name, prompts, completions


@torch.no_grad()
def plain_scores(rm, prompts, completions) -> list[list[float]]:
    """One sample at a time, the whole sequence through π_ψ and π_ref (what a naive loop does)."""
    out = []
    for prompt, completion in zip(prompts, completions):
        sample = rm.prepare(prompt, completion)
        ids = torch.tensor([sample.encoded.input_ids])
        start, n = sample.encoded.prompt_length, sample.encoded.completion_length
        targets = ids[0, start : start + n]
        trained = token_logprobs(rm.backbone(input_ids=ids).logits[0, start - 1 : start + n - 1], targets)
        reference = token_logprobs(rm.reference(input_ids=ids).logits[0, start - 1 : start + n - 1], targets)
        q = likelihood_scores(trained, reference, beta_of(rm.config), rm.head("bias"))
        out.append(q[torch.tensor(sample.positions)].tolist())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problems", type=int, default=8)
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rm = build_reward_model(
        RewardConfig(head="log_ratio", granularity="step"), ModelConfig(reward="tiny"), backbone="tiny"
    )
    with torch.no_grad():
        for p in rm.backbone.parameters():
            p.add_(0.02 * torch.randn_like(p))
    rm.eval()
    name, prompts, completions = dataset(args.problems, args.samples)
    scorer = RewardScorer(rm, batch_size=args.batch_size)
    scorer.score(prompts[:2], completions[:2])  # warm-up of both paths
    plain_scores(rm, prompts[:2], completions[:2])
    t0 = time.perf_counter()
    fast = scorer.score(prompts, completions)
    t_fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    plain = plain_scores(rm, prompts, completions)
    t_plain = time.perf_counter() - t0
    max_diff = max(abs(a - b) for f, p in zip(fast, plain) for a, b in zip(f.scores, p))
    tokens = sum(len(rm.prepare(p, c).encoded.input_ids) for p, c in zip(prompts, completions))
    result = {
        "benchmark": "reward_scoring",
        "data": name,
        "problems": args.problems,
        "samples_per_problem": args.samples,
        "sequences": len(prompts),
        "tokens": tokens,
        "batch_size": args.batch_size,
        "threads": args.threads,
        "model": "tiny log_ratio (π_ψ + π_ref)",
        "plain_seconds": round(t_plain, 3),
        "fast_seconds": round(t_fast, 3),
        "plain_sequences_per_s": round(len(prompts) / t_plain, 2),
        "fast_sequences_per_s": round(len(prompts) / t_fast, 2),
        "speedup": round(t_plain / t_fast, 2),
        "max_abs_score_difference": max_diff,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "torch": torch.__version__,
        "machine": platform.machine(),
    }
    print(
        f"{name}: {len(prompts)} sequences ({tokens} tokens): plain {t_plain:.2f}s, prefix-shared {t_fast:.2f}s "
        f"→ {result['speedup']:.1f}× faster (max |Δscore| = {max_diff:.2e})"
    )
    out = Path(__file__).resolve().parent / "results" / f"reward_scoring_{name}_n{args.samples}.json"
    atomic_write_json(out, result)  # a killed run never leaves half a result
    print(f"written to {out}")


if __name__ == "__main__":
    main()
