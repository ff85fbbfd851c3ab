"""Issue 19 item 5: does the learned reward transfer to problems it was not trained on?

Two runs of the default recipe (``bench/quality.py`` group ``transfer``), each on an arith variant whose
operators the other never sees — ``+-`` and ``*/`` — from its own SFT warm start. Every run's reward
model then reranks every run's test samples (100 problems × 16 at T = 1.0, the samples of the quality
cell's own evaluation), the way ``docs/EVALUATION_GUIDE.md`` §7 describes: ``evaluate.py`` in
``pregenerated_policy_and_reward`` mode on the policy run's ``samples.jsonl``, with the policy run's task,
into ``outputs/quality/transfer/P_<policy run>_R_<reward run>``. Nothing is fitted (the reward's own
aggregation), so the diagonal is measured exactly like the off-diagonal. The heatmap is drawn by the
plot generator from ``configs/plots/transfer_arith.yaml``.

    python bench/quality.py transfer --seeds 0     # the two runs and their own evaluations
    python bench/transfer.py --seed 0              # the 2 × 2 reranking, the JSON and the heatmap

Writes ``bench/results/transfer-seed<seed>.json`` and ``figures/transfer_arith/``.
"""

from __future__ import annotations

import argparse
import json
import sys

import quality  # noqa: E402  (bench/ is on sys.path when run as a script)

TRANSFER = quality.RUNS / "transfer"
SPEC = quality.ROOT / "configs" / "plots" / "transfer_arith.yaml"


def cross_evaluate(policy: str, reward: str, seed: int) -> dict:
    """The reward model of cell ``reward``'s run reranking the test samples of cell ``policy``'s run."""
    from reasoning_irl.eval.modes import build_config, run_evaluation

    policy_run, reward_run = (quality.configs(name, seed)[2] for name in (policy, reward))
    samples = policy_run / "best" / "eval" / "generate_arith" / "samples.jsonl"
    if not samples.is_file():
        raise SystemExit(f"{samples} is missing: run `python bench/quality.py transfer --seeds {seed}` first")
    out = TRANSFER / f"P_{policy_run.name}_R_{reward_run.name}"
    if (out / "metrics.json").is_file():
        return json.loads((out / "metrics.json").read_text())
    return run_evaluation(build_config({
        **quality.task_overrides(policy), "seed": seed, "eval.mode": "pregenerated_policy_and_reward",
        "eval.pregenerated_jsonl_path": str(samples), "eval.compute_policy_log_probs": False,
        "model.reward": str(reward_run / "best" / "reward_model"), "eval.output_dir": str(out)}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    cells = list(quality.GROUPS["transfer"])
    matrix = {}
    for policy in cells:
        for reward in cells:
            summary = quality.summary(cross_evaluate(policy, reward, args.seed))
            matrix[f"{policy} <- {reward}"] = {
                "best_of_16_reward": summary["best_of_n"]["reward"]["mean"],
                "best_of_16_random": summary["best_of_n"]["random"]["mean"],
                "best_of_16_policy_logprob": summary["best_of_n"].get("policy_mean_logprob", {}).get("mean"),
                "auroc_reward": summary["auroc"].get("reward", {}).get("mean")}
            row = matrix[f"{policy} <- {reward}"]
            print(f"samples of {policy}, reward of {reward}: best-of-16 "
                  + ", ".join(f"{key[11:]} {quality._pct(value)}"
                              for key, value in row.items() if key.startswith("best")))
    path = quality.ROOT / "bench" / "results" / f"transfer-seed{args.seed}.json"
    path.write_text(json.dumps({"seed": args.seed, "variants": quality.TRANSFER_VARIANTS, "matrix": matrix}, indent=1))
    from reasoning_irl.plots.transfer import main as plot_transfer

    return plot_transfer(["--config", str(SPEC), "--no-token-figs"])


if __name__ == "__main__":
    sys.exit(main())
