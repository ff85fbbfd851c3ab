"""Memory of evaluating a pregenerated file as it grows (issue 8 §5, docs/RELIABILITY.md).

    .venv/bin/python bench/eval_memory.py                       # 20k and 200k rows, 4 pieces; writes the JSON
    .venv/bin/python bench/eval_memory.py --rows 5000 40000 --pieces 2 --jobs 2 --out /tmp/x.json  # test's

For each size it writes a synthetic prompt-major JSONL (``--samples`` per problem, a stored reward score
per row, a correct answer in one sample out of three), evaluates it with ``evaluate.py``'s library call
(``eval.mode=pregenerated_policy``, no model) in a fresh child process, and records the child's peak
resident memory (``ru_maxrss``) and time (``--jobs`` children at once: each measures its own memory,
but their times overlap). The largest file is also evaluated in ``--pieces`` equal
parts (whole problems each); the per-piece means of every per-problem metric (pass@k, maj@k, oracle@N,
best-of-N success of every selector), weighted by problems, must equal the whole's.
Result: ``bench/results/eval_memory.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHILD = r"""
import json, resource, sys, time
from reasoning_irl.eval.modes import build_config, run_evaluation
path, out = sys.argv[1], sys.argv[2]
start = time.perf_counter()
m = run_evaluation(build_config({
    "task.name": "gsm8k", "task.data_dir": sys.argv[3], "eval.mode": "pregenerated_policy",
    "eval.pregenerated_jsonl_path": path, "eval.compute_policy_log_probs": False, "eval.output_dir": out,
    "eval.split": "test", "eval.bootstrap_resamples": 20, "eval.ks": [1, 4], "eval.best_of_ns": [1, 4],
    "eval.reward_aggregation": "last",
}))
means = {f"{key}@{k}": v["mean"] for key in ("pass_at_k", "maj_at_k", "oracle_at_n")
         for k, v in m[key].items() if "mean" in v}
means.update({f"best_of_n.{name}@{N}/{k}": v["mean"] for name, e in m["best_of_n"]["selectors"].items()
              if e["available"] for N, by_k in e["success"].items() for k, v in by_k.items()})
print(json.dumps({"seconds": time.perf_counter() - start, "means": means,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "n_problems": m["n_problems"], "n_samples": m["n_samples"],
                  "pass_at_1": m["pass_at_k"]["1"]["mean"],
                  "reward_best_of_4": m["best_of_n"]["selectors"]["reward"]["success"]["4"]["1"]["mean"]
                  if "4" in m["best_of_n"]["selectors"]["reward"]["success"] else None}))
"""


def write_rows(path: Path, first_problem: int, problems: int, samples: int) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for p in range(first_problem, first_problem + problems):
            answer = str(p % 97)
            for s in range(samples):
                given = answer if (p + s) % 3 == 0 else str(p % 97 + 1)
                handle.write(json.dumps({
                    "prompt": f"Problem {p}: what is {p % 97}?", "problem_id": f"bench-{p}", "sample_idx": s,
                    "completion": f"<think>\nThe value is {given}.\n</think>\n<answer>\n{given}\n</answer>",
                    "answer": answer, "reward": {"sequence_score": float((p * 7 + s * 3) % 11) / 10,
                                                 "aggregation": "last"}}) + "\n")


def evaluate(path: Path, out: Path, data_dir: Path) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "WANDB_MODE": "disabled"}
    done = subprocess.run([sys.executable, "-c", CHILD, str(path), str(out), str(data_dir)], env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[20_000, 200_000])
    parser.add_argument("--samples", type=int, default=8, help="samples per problem")
    parser.add_argument("--pieces", type=int, default=4)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "eval_memory.json")
    parser.add_argument("--jobs", type=int, default=1,
                        help="child processes at once (each measures its own peak memory; times overlap)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs {args.jobs}: give 1 or more")
    result = {"command": "python bench/eval_memory.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "samples_per_problem": args.samples, "sizes": [], "pieces": None,
              "host": {"python": platform.python_version(), "cpus": os.cpu_count()}}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data_dir = tmp / "no_data"  # gsm8k grading from the rows alone (no task file needed)
        data_dir.mkdir()
        files = []  # (input, output folder): every size, then the pieces of the largest
        for rows in args.rows:
            files.append((tmp / f"rows-{rows}.jsonl", tmp / f"out-{rows}"))
            write_rows(files[-1][0], 0, rows // args.samples, args.samples)
        problems = args.rows[-1] // args.samples
        bounds = [problems * i // args.pieces for i in range(args.pieces + 1)]
        for i in range(args.pieces):
            files.append((tmp / f"piece-{i}.jsonl", tmp / f"out-piece-{i}"))
            write_rows(files[-1][0], bounds[i], bounds[i + 1] - bounds[i], args.samples)
        with ThreadPoolExecutor(args.jobs) as pool:  # each thread waits on its child process
            measured_all = list(pool.map(lambda f: evaluate(f[0], f[1], data_dir), files))
        for rows, (path, _), measured in zip(args.rows, files, measured_all):
            means = measured.pop("means")  # kept for the largest file only
            measured.update(rows=rows // args.samples * args.samples,
                            file_mb=round(path.stat().st_size / 2**20, 1))
            result["sizes"].append(measured)
            print(json.dumps(measured), flush=True)
        parts = measured_all[len(args.rows):]
        problems = result["sizes"][-1]["n_problems"]  # as evaluated
        weighted = {key: sum(p["means"][key] * p["n_problems"] for p in parts) / problems for key in means}
        result["pieces"] = {
            "pieces": args.pieces, "n_samples": sum(p["n_samples"] for p in parts),
            "n_metrics_compared": len(means),
            "weighted": {k: weighted[k] for k in ("pass_at_k@1", "best_of_n.reward@4/1")},
            "whole": {k: means[k] for k in ("pass_at_k@1", "best_of_n.reward@4/1")},
            "max_abs_difference": max(abs(weighted[k] - means[k]) for k in means),
            "peak_rss_mb": [round(p["peak_rss_mb"], 1) for p in parts],
        }
    small, large = result["sizes"][0], result["sizes"][-1]
    result["growth"] = {"rows_ratio": large["rows"] / small["rows"],
                        "peak_rss_ratio": round(large["peak_rss_mb"] / small["peak_rss_mb"], 3),
                        "peak_rss_delta_mb": round(large["peak_rss_mb"] - small["peak_rss_mb"], 1),
                        "bytes_per_row": round((large["peak_rss_mb"] - small["peak_rss_mb"]) * 2**20
                                               / (large["rows"] - small["rows"]))}
    result["written"] = time.strftime("%Y-%m-%d")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({"growth": result["growth"], "pieces": result["pieces"]}, indent=2))
    return result


if __name__ == "__main__":
    main()
