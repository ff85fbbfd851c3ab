"""Quality of the embedded default (issue 7): does the learned reward train, rerank, calibrate, localise?

Every cell is one (variant, seed): a training run from a shared SFT warm start (one per seed), then the
evaluation of its ``best`` checkpoint the way ``make demo`` does it — fit aggregation, localisation
threshold and Platt scaling on validation problems, then measure on test problems with that calibration
(16 samples per problem at the evaluation temperature). Nothing is chosen on test.

One JSON per cell goes to ``bench/results/quality/``; a cell whose file exists is skipped (a changed
setting is refused by name), so an interrupted run resumes where it stopped, across sessions. The tables
are rebuilt from those files into ``docs/RESULTS.md`` (between the ``quality`` markers) at the end of
every run, or alone with ``--tables``.

    python bench/quality.py headline --seeds 0 1 2    # the demo's AIRL + the training-signal comparison
    python bench/quality.py grid --seeds 0             # granularity × head × form, + frozen critic
    python bench/quality.py few_demos --seeds 0 1 2    # 100 demonstrations, 10k prompts: AIRL vs SFT
    python bench/quality.py low_temperature --seeds 0 1 2   # the same runs evaluated at T = 0.7
    python bench/quality.py feasibility --seeds 0      # issue 19: the feasibility run's critic protocol
    python bench/quality.py --tables                   # rebuild the tables only

Runs go to ``outputs/quality/`` (not committed); budgets are in steps, wall times are reported beside.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")

from cells import already_done  # noqa: E402  (bench/ is on sys.path when run as a script)
from quality_cells import BUDGETS, CELLS, GROUPS, TRANSFER_VARIANTS, Cell  # noqa: E402, F401

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "quality"
RUNS = ROOT / "outputs" / "quality"
RESULTS_MD = ROOT / "docs" / "RESULTS.md"
MARKERS = ("<!-- quality:begin -->", "<!-- quality:end -->")

#: Evaluation settings of every cell (the demo's): problems per split, samples per problem, temperature.
EVAL = {"validation_problems": 100, "test_problems": 100, "n_samples": 16, "temperature": 1.0}


def compose(entry: str, overrides: list[str]):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from reasoning_irl.cli import to_schema
    from reasoning_irl.config import schema

    with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
        cfg = hydra_compose(config_name=entry, overrides=overrides)
    schema_of = {"train_irl": schema.TrainIRLConfig, "train_sft": schema.TrainSFTConfig,
                 "train_grpo": schema.TrainGRPOConfig}
    return to_schema(cfg, schema_of[entry])


def _overrides(cell: Cell) -> list[str]:
    """The cell's overrides with the ``@budget`` placeholders filled in."""
    return [f"{o.split('=')[0]}={BUDGETS[o.split('=')[1]]}" if "=@" in o else o for o in cell.overrides]


def _path_safe(value: str) -> str:
    """An override value as part of a folder name: characters other than letters, digits, ``.+-_`` as
    ``x<hex>`` (``*/`` → ``x2ax2f``), so distinct values keep distinct folders."""
    return "".join(c if c.isalnum() or c in ".+-_" else f"x{ord(c):02x}" for c in value)


def configs(name: str, seed: int) -> tuple[Path, object, Path | None, object | None]:
    """(warm-start folder, its SFT config, run folder, its config) of a cell; the last two None for ``none``."""
    from reasoning_irl.trainers.warm_start import warm_start_config

    cell = CELLS[name]
    ws_name = "warm_start" + "".join(f"-{_path_safe(o.split('=')[-1])}" for o in cell.warm_start) + f"-seed{seed}"
    ws_dir = RUNS / ws_name
    ws_cfg = warm_start_config(compose("train_irl", [*cell.warm_start, f"seed={seed}"]), RUNS)
    if cell.trainer == "none":
        return ws_dir, ws_cfg, None, None
    run_name = f"{cell.of or name}-seed{seed}"
    cfg = compose(cell.trainer, [*_overrides(cell), f"model.policy={ws_dir / 'best' / 'policy'}", f"seed={seed}",
                                 f"output_root={RUNS}", f"run_name={run_name}", "logging.progress_bar=false"])
    return ws_dir, ws_cfg, RUNS / run_name, cfg


def settings_of(name: str, seed: int) -> dict:
    """Everything that decides a cell's result (stored in it; a resumed run refuses a changed one)."""
    from dataclasses import asdict

    from reasoning_irl.rewards.heads import beta_of

    def plain(cfg) -> dict | None:
        if cfg is None:
            return None
        data = asdict(cfg)
        for key in ("output_root", "run_name"):
            data.pop(key, None)
        data["model"]["policy"] = str(data["model"]["policy"]).replace(str(ROOT) + "/", "")
        if "reward" in data:  # the β the run used (null in the config means the head's default)
            data["reward"]["beta"] = beta_of(cfg.reward)
        return data

    _, ws_cfg, _, cfg = configs(name, seed)
    return {"trainer": CELLS[name].trainer, "warm_start": plain(ws_cfg), "train": plain(cfg), "eval": eval_of(name)}


def eval_of(name: str) -> dict:
    """The evaluation settings of a cell (``EVAL``, with its own temperature for a variant)."""
    temperature = CELLS[name].temperature
    return EVAL if temperature is None else {**EVAL, "temperature": temperature}


def task_overrides(name: str) -> dict[str, str]:
    """The cell's ``task.*`` overrides: its evaluation is on the task it trained on (an arith variant)."""
    return dict(o.split("=", 1) for o in CELLS[name].overrides if o.startswith("task."))


def evaluate(run_dir: Path, checkpoint: str, seed: int, reward: bool, settings: dict = EVAL,
             task: dict[str, str] | None = None) -> tuple[dict, float]:
    """Fit on validation, test with it (``eval.modes.fit_then_test``) on ``task`` (``task.*`` overrides);
    a variant's temperature gets its own folders under ``<checkpoint>/eval/T<temperature>/``, so the
    default evaluation stays as it is."""
    from reasoning_irl.eval.modes import fit_then_test

    start = time.perf_counter()
    per_split = {split: {"eval.max_problems": settings[f"{split}_problems"]} for split in ("validation", "test")}
    if settings["temperature"] != EVAL["temperature"]:
        for split in per_split:
            per_split[split]["eval.output_dir"] = str(
                run_dir / checkpoint / "eval" / f"T{settings['temperature']}" / split)
    metrics = fit_then_test({**(task or {}), "eval.run_dir": str(run_dir), "eval.checkpoint": checkpoint, "seed": seed,
                             "sampling.n_samples": settings["n_samples"],
                             "sampling.temperature": settings["temperature"],
                             "eval.compute_policy_log_probs": True, "eval.compute_reward_scores": reward},
                            **per_split, fit=reward)
    return metrics, time.perf_counter() - start


def summary(metrics: dict) -> dict:
    """The numbers the tables show (each {mean, low, high} over problems, or a float)."""
    N = str(max(metrics["best_of_n"]["Ns"]))
    selectors = metrics["best_of_n"]["selectors"]
    out = {"pass_at_1": metrics["pass_at_k"]["1"], "oracle": metrics["oracle_at_n"][N],
           "maj": metrics["maj_at_k"].get(N) or metrics["maj_at_k"][max(metrics["maj_at_k"], key=int)],
           "best_of_n": {name: s["success"][N]["1"] for name, s in selectors.items() if s.get("available")},
           "n_problems": metrics["n_problems"], "N": int(N)}
    out["auroc"] = {name: c["auroc"] for name, c in (metrics.get("calibration") or {}).items() if c.get("available")}
    loc = metrics.get("localisation") or {}
    if loc.get("available"):
        out["localisation"] = {"n_traces": loc["n_traces"], "n_with_error": loc["n_with_error"], "methods": {
            name: {"f1": m["processbench"].get("f1"), "hit1": m["step_hit"]["1"]["hit"],
                   "chance": m["step_hit"]["1"]["chance"]}
            for name, m in loc["methods"].items() if m.get("available")}}
    return out


def run_cell(name: str, seed: int) -> dict:
    from reasoning_irl.trainers import train_grpo, train_sft
    from reasoning_irl.trainers.airl import train_irl

    ws_dir, ws_cfg, run_dir, cfg = configs(name, seed)
    seconds = {}
    start = time.perf_counter()
    if not (ws_dir / "final" / "policy").is_dir():
        train_sft(ws_cfg, ws_dir)
    seconds["warm_start"] = time.perf_counter() - start
    if run_dir is None:
        run_dir = ws_dir
    elif CELLS[name].of is not None:  # an evaluation variant: the run must be there already
        if not (run_dir / "final").is_dir():
            raise SystemExit(
                f"{name} evaluates the run of {CELLS[name].of}, which is not finished: run that cell first")
    else:
        trainer = {"train_irl": train_irl, "train_sft": train_sft, "train_grpo": train_grpo}[CELLS[name].trainer]
        trainer(cfg)
    seconds["train"] = time.perf_counter() - start - seconds["warm_start"]
    metrics, seconds["evaluate"] = evaluate(run_dir, "best", seed, reward=(run_dir / "best" / "reward_model").is_dir(),
                                            settings=eval_of(name), task=task_overrides(name))
    log = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    selection = run_dir / "best" / "selection.json"  # which step best/ holds (policy, reward model)
    return {"cell": name, "seed": seed, "about": CELLS[name].about, "settings": settings_of(name, seed),
            "selection": json.loads(selection.read_text()) if selection.is_file() else None,
            "summary": summary(metrics), "validation_log": [row for row in log if "validation_nll" in row],
            "seconds": {k: round(v, 1) for k, v in seconds.items()}, "run_dir": str(run_dir.relative_to(ROOT))}


# --------------------------------------------------------------------------------------------------
# Tables


def _pct(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, dict):
        return f"{100 * value['mean']:.1f} [{100 * value['low']:.0f}, {100 * value['high']:.0f}]"
    return f"{100 * value:.1f}"


def _num(value: float, digits: int) -> str:
    return "–" if value != value else f"{value:.{digits}f}"


def load_results() -> dict[tuple[str, int], dict]:
    out = {}
    for path in sorted(RESULTS.glob("*.json")):
        result = json.loads(path.read_text())
        out[(result["cell"], result["seed"])] = result
    return out


def tables(results: dict[tuple[str, int], dict]) -> str:
    import numpy as np

    def mean_over_seeds(name: str, get) -> str:
        values = [get(r["summary"]) for (cell, _), r in results.items() if cell == name]
        values = [v["mean"] if isinstance(v, dict) else v for v in values if v is not None]
        if not values:
            return "–"
        if len(values) == 1:
            return f"{100 * values[0]:.1f}"
        return f"{100 * np.mean(values):.1f} ± {100 * np.std(values, ddof=1):.1f}"

    def seeds(name: str) -> str:
        return ",".join(str(s) for (cell, s) in sorted(results) if cell == name) or "–"

    def reward_steps(name: str) -> str:
        """The step of best/reward_model per seed (0 = the reward model before any discriminator update)."""
        steps = [((r.get("selection") or {}).get("reward_model") or {}).get("step")
                 for (cell, _), r in sorted(results.items()) if cell == name]
        return ",".join("–" if s is None else str(s) for s in steps)

    def loc(method):
        return lambda s: (s.get("localisation", {}).get("methods", {}).get(method) or {}).get("f1")

    lines = ["### Reranking, calibration and localisation (test problems; mean ± sd over seeds)", "",
             "| cell | seeds | pass@1 | best-of-16 reward | random | policy log-prob | majority "
             "| reward-weighted majority | oracle | AUROC reward | AUROC policy | loc. F1 reward "
             "| loc. F1 policy low-prob | reward model from step |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    names = [n for n in CELLS if any(cell == n for cell, _ in results)]
    for name in names:
        bo = lambda key: (lambda s: s["best_of_n"].get(key))  # noqa: E731
        lines.append("| " + " | ".join([
            name, seeds(name), mean_over_seeds(name, lambda s: s["pass_at_1"]), mean_over_seeds(name, bo("reward")),
            mean_over_seeds(name, bo("random")), mean_over_seeds(name, bo("policy_mean_logprob")),
            mean_over_seeds(name, bo("majority")), mean_over_seeds(name, bo("reward_weighted_majority")),
            mean_over_seeds(name, lambda s: s["oracle"]), mean_over_seeds(name, lambda s: s["auroc"].get("reward")),
            mean_over_seeds(name, lambda s: s["auroc"].get("policy_mean_logprob")),
            mean_over_seeds(name, loc("reward")), mean_over_seeds(name, loc("policy_low_prob")),
            reward_steps(name)]) + " |")
    lines += ["", "### Training signal (validation, 64 problems, greedy; mean over seeds)", "",
              "`best/` is chosen by validation expert NLL; *last* is the final step of the run.", "",
              "| cell | seeds | train wall s | greedy accuracy first → last (best) | NLL first → last (best) |",
              "|---|---|---|---|---|"]
    for name in names:
        rows = [r for (cell, _), r in results.items()
                if cell == name and r["validation_log"] and CELLS[name].of is None]
        if not rows:
            continue

        def mean(key, pick, rows=rows):
            values = [pick(r["validation_log"]).get(key) for r in rows]
            values = [v for v in values if v is not None]
            return np.mean(values) if values else float("nan")

        first, last = (lambda log: log[0]), (lambda log: log[-1])
        best = lambda log: min(log, key=lambda x: x["validation_nll"])  # noqa: E731
        acc = [_num(100 * mean("validation_accuracy", f), 1) for f in (first, last, best)]
        nll = [_num(mean("validation_nll", f), 3) for f in (first, last, best)]
        wall = np.mean([r["seconds"]["train"] for r in rows])
        lines.append(f"| {name} | {seeds(name)} | {wall:.0f} | {acc[0]} → {acc[1]} ({acc[2]}) "
                     f"| {nll[0]} → {nll[1]} ({nll[2]}) |")
    return "\n".join(lines) + "\n"


def write_tables() -> None:
    text = tables(load_results())
    if not RESULTS_MD.is_file() or MARKERS[0] not in RESULTS_MD.read_text():
        print(text)
        return
    head, rest = RESULTS_MD.read_text().split(MARKERS[0], 1)
    tail = rest.split(MARKERS[1], 1)[1]
    RESULTS_MD.write_text(f"{head}{MARKERS[0]}\n{text}{MARKERS[1]}{tail}")
    print(f"tables written to {RESULTS_MD.relative_to(ROOT)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("groups", nargs="*", help=f"groups of cells: {', '.join(GROUPS)}")
    parser.add_argument("--cells", nargs="+", default=None, help=f"cells by name (of {', '.join(CELLS)})")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--tables", action="store_true", help="only rebuild the tables")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    import torch

    from reasoning_irl.io import atomic_write_json

    torch.set_num_threads(args.threads)
    RESULTS.mkdir(parents=True, exist_ok=True)
    names = list(args.cells or [])
    for group in args.groups:
        names += list(GROUPS.get(group, {}))
    unknown = [g for g in args.groups if g not in GROUPS] + [n for n in args.cells or [] if n not in CELLS]
    if unknown:
        raise SystemExit(f"unknown cells {unknown}; known: {', '.join(CELLS)}")
    if not args.tables:
        for seed in args.seeds:
            for name in names:
                path = RESULTS / f"{name}-seed{seed}.json"
                if already_done(path, settings_of(name, seed), "settings"):
                    continue
                result = run_cell(name, seed)
                atomic_write_json(path, result)
                s = result["summary"]
                print(f"{path.name}: pass@1 {_pct(s['pass_at_1'])} best-of-16 reward "
                      f"{_pct(s['best_of_n'].get('reward'))} AUROC {_pct(s['auroc'].get('reward'))} "
                      f"seconds {result['seconds']}", flush=True)
    write_tables()
    return 0


if __name__ == "__main__":
    sys.exit(main())
