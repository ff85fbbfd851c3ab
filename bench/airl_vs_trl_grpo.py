"""One AIRL step against one TRL ``GRPOTrainer`` step, side by side in one process.

    python bench/airl_vs_trl_grpo.py                       # tiny warm-started policy, CPU
    python bench/airl_vs_trl_grpo.py --steps 5 --prompts 8 --generations 8 --tokens 64 --bf16

Both sides start from the same policy folder, use the same prompts, B prompts × G completions of
exactly ``--tokens`` new tokens (``min_new_tokens = max_new_tokens``), the same β, loss aggregation,
sampling (T = 1, top-p 1, no top-k), bf16 setting and no gradient checkpointing. The AIRL step is the
real one of :mod:`reasoning_irl.trainers.airl`: generation, one discriminator update (K = 1, experts
vs rollouts + perturbed experts), scoring, advantages and the policy update; the GRPO step is TRL's
with one verifiable reward function (its cost is negligible). Each trainer runs its steps in
turn (AIRL first); the first step of each is a warm-up and not timed. Prints the median-time ratio
AIRL / GRPO and where the AIRL step's time goes, and writes ``bench/results/airl_vs_trl_grpo-<tag>.json``
(with the machine's load average: other processes on the cores make single runs noisy). The
warm-started policy is built once (about a minute) and cached under ``$REASONING_IRL_CACHE``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=4, help="timed steps per trainer (after one warm-up step)")
    parser.add_argument("--prompts", type=int, default=4, help="B, prompts per step")
    parser.add_argument("--generations", type=int, default=8, help="G, completions per prompt")
    parser.add_argument("--tokens", type=int, default=48, help="new tokens per completion (min = max)")
    parser.add_argument("--beta", type=float, default=0.0, help="KL coefficient of both trainers")
    parser.add_argument("--loss", default="dapo", help="loss aggregation of both trainers")
    parser.add_argument("--granularity", default="step", help="AIRL reward granularity")
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast in both trainers")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tag", default=None, help="result file suffix (default: derived from the settings)")
    return parser.parse_args()


class _AirlStep:
    """The AIRL trainer's per-step work on fixed prompts, timed phase by phase."""

    def __init__(self, policy_path: str, records, args) -> None:
        from reasoning_irl.config.algo import AlgoConfig
        from reasoning_irl.config.model import ModelConfig
        from reasoning_irl.config.reward import DiscriminatorConfig, RewardConfig
        from reasoning_irl.config.sampling import SamplingConfig
        from reasoning_irl.config.schema import TrainIRLConfig
        from reasoning_irl.config.training import IRLTrainingConfig
        from reasoning_irl.models import encode_prompt, load_causal_lm, load_tokenizer
        from reasoning_irl.rl.policy_loss import make_reference
        from reasoning_irl.trainers.airl import _setup_discriminator

        self.cfg = TrainIRLConfig(
            model=ModelConfig(policy=policy_path),
            reward=RewardConfig(granularity=args.granularity),
            discriminator=DiscriminatorConfig(updates_per_step=1),
            algo=AlgoConfig(advantage="group", kl_beta=args.beta, loss_aggregation=args.loss),
            sampling=SamplingConfig(num_generations=args.generations, max_new_tokens=args.tokens,
                                    min_new_tokens=args.tokens),
            training=IRLTrainingConfig(learning_rate=1e-6, micro_batch_size=args.prompts * args.generations,
                                       bf16=args.bf16),
        )
        self.records = records
        self.tokenizer = load_tokenizer(policy_path, self.cfg.model)
        self.policy = load_causal_lm(policy_path, self.cfg.model)
        self.discriminator = _setup_discriminator(self.cfg, policy_path, self.policy, self.tokenizer,
                                                  torch.device("cpu"))
        self.reference = make_reference(self.policy, args.beta)
        self.optimizer = torch.optim.AdamW(self.policy.parameters(), lr=1e-6)
        self.prompts = [encode_prompt(self.tokenizer, r.prompt) for r in records]
        self.step_index = 0

    def step(self) -> dict[str, float]:
        from reasoning_irl.rewards.labels import DiscriminatorSample
        from reasoning_irl.rl.advantages import compute_advantages
        from reasoning_irl.rl.policy_update import policy_update
        from reasoning_irl.rl.reward_alignment import align_rewards
        from reasoning_irl.rl.rollout import generate_rollouts, policy_batch
        from reasoning_irl.trainers.airl import _expert

        cfg, times = self.cfg, {}
        self.step_index += 1
        start = time.perf_counter()
        rollouts = generate_rollouts(self.policy, self.tokenizer, self.prompts, cfg.sampling, seed=self.step_index)
        times["generate"] = time.perf_counter() - start
        mark = time.perf_counter()
        records = [self.records[i] for i in rollouts.prompt_index]
        positives = [_expert(r) for r in self.records]
        negatives = [DiscriminatorSample(r.prompt, t, "policy", problem_id=r.problem_id)
                     for r, t in zip(records, rollouts.completion_text)]
        negatives += self.discriminator.perturbed_negatives(positives, seed=self.step_index)
        self.discriminator.update(positives, negatives)
        times["discriminator"] = time.perf_counter() - mark
        mark = time.perf_counter()
        prompts = [r.prompt for r in records]
        scored = self.discriminator.policy_rewards(prompts, rollouts.completion_text)
        batch = policy_batch(rollouts, self.tokenizer.pad_token_id)
        rewards, scored_mask = align_rewards(scored, rollouts, prompts, self.tokenizer,
                                             batch.input_ids.shape[1] - batch.prompt_width)
        advantages = compute_advantages(rewards, batch.completion_block(batch.completion_mask), scored_mask,
                                        cfg.algo, rollouts.num_generations)
        times["score_and_advantages"] = time.perf_counter() - mark
        mark = time.perf_counter()
        policy_update(self.policy, self.reference, self.optimizer, batch, advantages, cfg.algo,
                      micro_batch_size=cfg.training.micro_batch_size, max_completion_length=cfg.sampling.max_new_tokens,
                      iterations=1, max_grad_norm=1.0, bf16=cfg.training.bf16)
        times["policy_update"] = time.perf_counter() - mark
        times["total"] = time.perf_counter() - start
        times["completion_tokens"] = float(rollouts.completion_lengths().sum())
        return times


class _GrpoStep:
    """TRL's GRPOTrainer, stepped one optimiser step at a time through its own train loop."""

    def __init__(self, policy_path: str, records, args, out_dir: str) -> None:
        from datasets import Dataset
        from transformers import TrainerCallback
        from trl import GRPOConfig, GRPOTrainer

        from reasoning_irl.config.model import ModelConfig
        from reasoning_irl.models import load_causal_lm, load_tokenizer, prompt_text

        tokenizer = load_tokenizer(policy_path, ModelConfig(policy=policy_path))
        total = args.steps + 1
        records = records[: args.prompts]
        rows = [{"prompt": prompt_text(tokenizer, r.prompt), "answer": r.answer} for r in records] * total
        config = GRPOConfig(
            output_dir=out_dir, use_cpu=True, bf16=args.bf16, gradient_checkpointing=False, report_to="none",
            per_device_train_batch_size=args.prompts * args.generations, num_generations=args.generations,
            max_completion_length=args.tokens, generation_kwargs={"min_new_tokens": args.tokens},
            temperature=1.0, top_p=1.0, top_k=0, beta=args.beta, loss_type=args.loss, learning_rate=1e-6,
            max_steps=total, logging_steps=1, save_strategy="no", shuffle_dataset=False, seed=0,
            disable_dropout=True, disable_tqdm=True,
        )
        times: list[float] = []

        class Timer(TrainerCallback):
            def on_step_begin(self, *_, **__):
                self.start = time.perf_counter()

            def on_step_end(self, *_, **__):
                times.append(time.perf_counter() - self.start)

        def reward(completions, **_):
            return [float(len(c)) / 100 for c in completions]

        self.times = times
        self.trainer = GRPOTrainer(model=load_causal_lm(policy_path, ModelConfig(policy=policy_path)),
                                   reward_funcs=[reward], args=config, train_dataset=Dataset.from_list(rows),
                                   processing_class=tokenizer, callbacks=[Timer()])

    def run(self) -> list[float]:
        self.trainer.train()
        return self.times


def main() -> None:
    args = _args()
    torch.set_num_threads(args.threads)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from reasoning_irl.config.task import TaskConfig
    from reasoning_irl.io import atomic_write_json
    from reasoning_irl.tasks import get_task
    from reasoning_irl.testing import warm_started_policy

    policy_path = str(warm_started_policy())
    records = get_task(TaskConfig(arith_num_train=200))
    records = [r for r in records.load("train") if r.target][: args.prompts]

    airl = _AirlStep(policy_path, records, args)
    airl_times = []
    for index in range(args.steps + 1):
        airl_times.append(airl.step())
        print(f"AIRL step {index}: {airl_times[-1]['total']:.3f} s", flush=True)
    airl_times = airl_times[1:]
    with tempfile.TemporaryDirectory() as out_dir:
        grpo_times = _GrpoStep(policy_path, records, args, out_dir).run()
        print("TRL GRPO steps: " + ", ".join(f"{t:.3f} s" for t in grpo_times), flush=True)
        grpo_times = grpo_times[1:]
    airl_total = statistics.median(t["total"] for t in airl_times)
    grpo_total = statistics.median(grpo_times)
    phases = {k: statistics.median(t[k] for t in airl_times) for k in airl_times[0] if k not in ("total",)}
    result = {
        "settings": vars(args),
        "airl_step_s_median": round(airl_total, 4),
        "grpo_step_s_median": round(grpo_total, 4),
        "ratio_airl_over_grpo": round(airl_total / grpo_total, 3),
        "airl_phases_s_median": {k: round(v, 4) for k, v in phases.items()},
        "airl_phase_share": {k: round(v / airl_total, 3) for k, v in phases.items() if k != "completion_tokens"},
        "torch": torch.__version__,
        "load_average_1_5_15min": [round(x, 2) for x in os.getloadavg()],
    }
    print(f"AIRL step {airl_total:.3f} s, TRL GRPO step {grpo_total:.3f} s: ratio {airl_total / grpo_total:.2f}")
    for name, share in result["airl_phase_share"].items():
        print(f"  {name:22s} {phases[name]:.3f} s  ({share:.0%})")
    tag = args.tag or f"B{args.prompts}-G{args.generations}-T{args.tokens}-{args.loss}-beta{args.beta}" + (
        "-bf16" if args.bf16 else "")
    out = Path(__file__).resolve().parent / "results" / f"airl_vs_trl_grpo-{tag}.json"
    atomic_write_json(out, result)  # a killed run never leaves half a result
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
