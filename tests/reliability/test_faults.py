"""Fault injection (issue 8 §1, docs/RELIABILITY.md): processes SIGKILLed at named points, then rerun.

``train_irl.py`` (tiny, CPU, 1 warm-up + 3 policy steps, a checkpoint every 2 steps) is killed during
generation, during the discriminator update and while a checkpoint is being written; each time a rerun
with ``training.resume=auto`` completes it, and ``metrics.jsonl`` and the final weights equal those of an
uninterrupted run. ``evaluate.py`` killed in the middle of ``samples.jsonl``, then rerun, writes the same
``samples.jsonl`` and ``metrics.json`` as an uninterrupted run, and the kill leaves the earlier results
in place. The subprocesses of each phase run concurrently to keep the wall time down.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from reasoning_irl import faults
from reasoning_irl.testing import warm_started_policy
from reasoning_irl.trainers.checkpoint import latest_complete_checkpoint

# subprocess runs, 1.5-2.5 min on 2 cores; `make test` runs slow tests too
pytestmark = [pytest.mark.slow, pytest.mark.warm_start, pytest.mark.timeout(600)]
ROOT = Path(__file__).resolve().parents[2]
#: Faults injected into training (discriminator.updates_per_step=3: hit 8 is in step 3, after step-2).
KILLS = {"generate": "generate:3", "disc_update": "disc_update:8", "checkpoint_write": "checkpoint_write:2"}


def tiny_irl_overrides(policy: str, output_root: Path, run_name: str) -> list[str]:
    return [
        f"model.policy={policy}", f"output_root={output_root}", f"run_name={run_name}", "device=cpu",
        "training.max_steps=3", "training.reward_warmup_steps=1", "training.checkpoint_every=2",
        "sampling.num_generations=2", "training.batch_prompts=2", "sampling.max_new_tokens=24",
        "training.eval_problems=4", "training.eval_every=0", "training.eval_generate=false",
        "task.arith_num_train=64", "task.arith_num_validation=8", "task.arith_num_test=8",
        "logging.progress_bar=false", "logging.wandb_mode=disabled", "training.resume=auto",
        "discriminator.form=airl",
    ]


def _env(fault: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop(faults.ENV, None)
    if fault:
        env[faults.ENV] = fault
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def _start(script: str, overrides: list[str], fault: str | None, log: Path) -> subprocess.Popen:
    with log.open("w") as handle:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([sys.executable, str(ROOT / script), *overrides], cwd=ROOT, env=_env(fault),
                                stdout=handle, stderr=subprocess.STDOUT)


def _wait_all(procs: dict[str, subprocess.Popen], timeout: float = 450) -> dict[str, int]:
    return {name: proc.wait(timeout=timeout) for name, proc in procs.items()}


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    out = {}
    for file in sorted(folder.rglob("*.safetensors")):
        out.update({f"{file.relative_to(folder)}:{k}": v for k, v in load_file(str(file)).items()
                    # The process-global RNG states are recorded but never drawn from (every draw of a step
                    # is seeded by (seed, step)); python's `random` starts from OS entropy, so they differ.
                    if not k.startswith("state.rng.")})
    return out


def _same_weights(a: Path, b: Path) -> bool:
    wa, wb = _weights(a), _weights(b)
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


@pytest.fixture(scope="module")
def irl_runs(tmp_path_factory):
    """Reference runs (two, same seed) and the three killed runs, then the resumes of the killed ones."""
    policy = str(warm_started_policy())
    root = tmp_path_factory.mktemp("faults")
    logs = root / "logs"
    logs.mkdir()
    names = {"whole": None, "again": None, **KILLS}
    procs = {name: _start("train_irl.py", tiny_irl_overrides(policy, root, name), fault, logs / f"{name}.txt")
             for name, fault in names.items()}
    first = _wait_all(procs)
    after_kill = {name: {"latest": latest_complete_checkpoint(root / name),
                         "tmp": sorted(p.name for p in (root / name / "checkpoints").glob(".tmp-*"))}
                  for name in KILLS}
    procs = {name: _start("train_irl.py", tiny_irl_overrides(policy, root, name), None, logs / f"{name}-resume.txt")
             for name in KILLS}
    second = _wait_all(procs)
    return {"root": root, "first": first, "second": second, "after_kill": after_kill, "logs": logs}


def _log(runs, name):
    return (runs["logs"] / f"{name}.txt").read_text()[-3000:]


def _metrics_lines(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_uninterrupted_runs_finish(irl_runs):
    for name in ("whole", "again"):
        assert irl_runs["first"][name] == 0, _log(irl_runs, name)


@pytest.mark.parametrize("point", list(KILLS))
def test_killed_training_resumes_to_the_uninterrupted_result(irl_runs, point):
    root = irl_runs["root"]
    assert irl_runs["first"][point] == -signal.SIGKILL, _log(irl_runs, point)  # the fault did fire
    assert f"SIGKILL at {point}" in _log(irl_runs, point)
    assert irl_runs["second"][point] == 0, _log(irl_runs, f"{point}-resume")
    latest = irl_runs["after_kill"][point]["latest"]
    assert latest is not None and latest.name == "step-2"  # the kill came after the first checkpoint
    if point == "checkpoint_write":  # the half-written step-4 was left as .tmp-*, never as step-4
        assert irl_runs["after_kill"][point]["tmp"], "no half-written checkpoint was left to ignore"
    run = root / point
    assert not list((run / "checkpoints").glob(".tmp-*"))  # cleaned on resume
    info = json.loads((run / "run_info.json").read_text())
    assert [s["resumed_from_step"] for s in info["sessions"]] == [None, 2]
    whole = root / "whole"
    assert (run / "metrics.jsonl").read_text() == (whole / "metrics.jsonl").read_text()
    assert [r["step"] for r in _metrics_lines(run)] == [0, 1, 2, 3, 4]
    for folder in ("final/policy", "final/reward_model", "checkpoints/step-4"):
        assert _same_weights(run / folder, whole / folder), folder


def test_same_seed_same_training_metrics_and_weights(irl_runs):
    """Determinism (issue 8 §3): two uninterrupted runs with one seed log identical metrics.jsonl."""
    root = irl_runs["root"]
    assert (root / "again" / "metrics.jsonl").read_text() == (root / "whole" / "metrics.jsonl").read_text()
    assert _same_weights(root / "again" / "final", root / "whole" / "final")
    assert "timings_s" in json.loads((root / "whole" / "run_info.json").read_text())["sessions"][0]


# --------------------------------------------------------------------------------------------------
# evaluate.py killed mid-file


def pregenerated_file(path: Path, problems: int = 30, n: int = 4) -> Path:
    from reasoning_irl.eval.modes import build_config
    from reasoning_irl.tasks import get_task

    task = get_task(build_config({"task.arith_num_validation": problems}).task)
    rows = []
    for i, record in enumerate(task.load("validation")[:problems]):
        for s in range(n):
            completion = record.target
            if (i + s) % 3 == 1:
                completion = completion.replace(f"<answer>\n{record.answer}", f"<answer>\n{int(record.answer) + 1}")
            rows.append({"prompt": record.prompt, "completion": completion, "answer": record.answer,
                         "problem_id": record.problem_id, "sample_idx": s,
                         "reward": {"sequence_score": float((i * 7 + s * 3) % 5), "aggregation": "last"}})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _eval_overrides(data: Path, out: Path) -> list[str]:
    return ["eval.mode=pregenerated_policy", f"eval.pregenerated_jsonl_path={data}",
            "eval.compute_policy_log_probs=false", f"eval.output_dir={out}", "eval.split=validation",
            "eval.bootstrap_resamples=50", "eval.reward_aggregation=last", "task.arith_num_validation=30",
            f"output_root={out.parent}"]


def test_killed_evaluation_rerun_gives_the_same_files(tmp_path):
    data = pregenerated_file(tmp_path / "in.jsonl")
    out = tmp_path / "out"
    logs = tmp_path
    assert _start("evaluate.py", _eval_overrides(data, out), None, logs / "ref.txt").wait(120) == 0, \
        (logs / "ref.txt").read_text()[-3000:]
    reference = {name: (out / name).read_bytes() for name in ("samples.jsonl", "metrics.json")}
    assert len(reference["samples.jsonl"].splitlines()) == 120
    killed = _start("evaluate.py", _eval_overrides(data, out), "eval_write:50", logs / "kill.txt").wait(120)
    assert killed == -signal.SIGKILL, (logs / "kill.txt").read_text()[-3000:]
    # The earlier results are intact; the killed run's partial file is in a staging folder beside them.
    assert {name: (out / name).read_bytes() for name in reference} == reference
    partial = list(tmp_path.glob(".out.*.tmp/.samples.jsonl.*.tmp"))
    assert len(partial) == 1 and 0 < len(partial[0].read_bytes().splitlines()) <= 50  # buffered: up to 50 rows
    (out / "samples.jsonl").unlink()
    (out / "metrics.json").unlink()
    assert _start("evaluate.py", _eval_overrides(data, out), None, logs / "rerun.txt").wait(120) == 0
    assert {name: (out / name).read_bytes() for name in reference} == reference  # no row lost or duplicated
    assert not list(tmp_path.glob(".out.*"))  # the stale staging folder was discarded


def test_killed_between_the_output_files_leaves_the_folder_as_it_was(tmp_path):
    """SIGKILL after samples.jsonl is complete and before metrics.json (point eval_outputs): the previous
    folder (samples.jsonl, metrics.json, run_info.json) is byte-identical; the rerun swaps in the new results."""
    out = tmp_path / "out"
    first = _start("evaluate.py", _eval_overrides(pregenerated_file(tmp_path / "a.jsonl", problems=10), out),
                   None, tmp_path / "first.txt")
    assert first.wait(120) == 0, (tmp_path / "first.txt").read_text()[-3000:]
    names = ("samples.jsonl", "metrics.json", "run_info.json")
    before = {name: (out / name).read_bytes() for name in names}
    data = pregenerated_file(tmp_path / "b.jsonl", problems=20)  # another input: other samples and metrics
    killed = _start("evaluate.py", _eval_overrides(data, out), "eval_outputs:1", tmp_path / "kill.txt").wait(120)
    assert killed == -signal.SIGKILL, (tmp_path / "kill.txt").read_text()[-3000:]
    # The outputs are as they were; the one new thing is the killed run's own Hydra log (io.HYDRA_LOG_DIR),
    # which says what happened to it.
    assert sorted(p.name for p in out.iterdir()) == sorted((*names, ".hydra_eval"))
    assert {name: (out / name).read_bytes() for name in names} == before
    staged = list(tmp_path.glob(".out.*.tmp"))
    assert len(staged) == 1 and [p.name for p in staged[0].iterdir()] == ["samples.jsonl"]
    assert _start("evaluate.py", _eval_overrides(data, out), None, tmp_path / "rerun.txt").wait(120) == 0
    assert len((out / "samples.jsonl").read_text().splitlines()) == 80
    assert json.loads((out / "metrics.json").read_text())["n_problems"] == 20
    assert not list(tmp_path.glob(".out.*"))


def _generate_overrides(policy: str, out: Path) -> list[str]:
    """eval.mode=generate on 12 arith test problems × 4 samples, 4 prompts per generate call (3 calls)."""
    return ["eval.mode=generate", f"model.policy={policy}", "device=cpu", "eval.max_problems=12",
            "sampling.n_samples=4", "sampling.max_new_tokens=24", "eval.batch_size=16", f"eval.output_dir={out}",
            "eval.split=test", "eval.bootstrap_resamples=50", "eval.ks=[1,2]", "task.arith_num_train=64",
            "task.arith_num_validation=8", "task.arith_num_test=12", f"output_root={out.parent}"]


def test_killed_generate_evaluation_rerun_gives_the_same_files(tmp_path):
    """evaluate.py in eval.mode=generate (the policy samples) killed at row 20 of 48, in its second generate
    call, leaves the earlier results in place; the rerun writes byte-identical samples.jsonl and metrics.json."""
    policy = str(warm_started_policy())
    out = tmp_path / "out"

    def run(name: str, fault: str | None) -> int:
        return _start("evaluate.py", _generate_overrides(policy, out), fault, tmp_path / f"{name}.txt").wait(240)

    assert run("ref", None) == 0, (tmp_path / "ref.txt").read_text()[-3000:]
    reference = {name: (out / name).read_bytes() for name in ("samples.jsonl", "metrics.json")}
    assert len(reference["samples.jsonl"].splitlines()) == 48
    assert run("kill", "eval_write:20") == -signal.SIGKILL, (tmp_path / "kill.txt").read_text()[-3000:]
    assert "SIGKILL at eval_write" in (tmp_path / "kill.txt").read_text()
    assert {name: (out / name).read_bytes() for name in reference} == reference  # earlier results intact
    assert len(list(tmp_path.glob(".out.*.tmp/.samples.jsonl.*.tmp"))) == 1
    (out / "samples.jsonl").unlink()
    (out / "metrics.json").unlink()
    assert run("rerun", None) == 0, (tmp_path / "rerun.txt").read_text()[-3000:]
    assert {name: (out / name).read_bytes() for name in reference} == reference  # no row lost or duplicated
    assert not list(tmp_path.glob(".out.*"))  # the stale staging folder was discarded


def test_run_folders_hold_no_pickle_and_resumed_without_allow_pickle(irl_runs):
    """Security (issue 8 §4): the resumes above ran with model.allow_pickle=false (the default); nothing in
    any run folder is a pickle."""
    root = irl_runs["root"]
    pickles = [p for p in root.rglob("*") if p.suffix in (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")]
    assert not pickles, pickles
    for point in KILLS:
        config = (root / point / "config.yaml").read_text()
        assert "allow_pickle: false" in config and "trust_remote_code: false" in config


def _evaluate(run: Path, out: Path) -> dict:
    from reasoning_irl.eval.modes import build_config, run_evaluation

    return run_evaluation(build_config({
        "eval.run_dir": str(run), "eval.checkpoint": "final", "eval.output_dir": str(out), "eval.split": "test",
        "eval.max_problems": 4, "eval.bootstrap_resamples": 50, "eval.ks": [1, 2], "device": "cpu",
        "model.policy": str(run / "final" / "policy"), "sampling.n_samples": 2, "sampling.max_new_tokens": 24,
        "task.arith_num_train": 64, "task.arith_num_validation": 8, "task.arith_num_test": 8,
    }))


def test_same_seed_same_evaluation(irl_runs, tmp_path):
    """Determinism (issue 8 §3): evaluating the two same-seed runs (policy sampling + reward scoring) gives
    identical samples.jsonl and metrics.json; only the output path in metrics.inputs differs."""
    root = irl_runs["root"]
    a = _evaluate(root / "whole", tmp_path / "a")
    _evaluate(root / "again", tmp_path / "b")
    assert a["computed"]["reward_scores"] is True
    assert (tmp_path / "a" / "samples.jsonl").read_bytes() == (tmp_path / "b" / "samples.jsonl").read_bytes()
    files = [json.loads((tmp_path / d / "metrics.json").read_text()) for d in ("a", "b")]
    for metrics, run in zip(files, ("whole", "again")):
        inputs = metrics.pop("inputs")
        assert run in inputs["policy"] and inputs["output_dir"].endswith(("/a", "/b"))
        for key in ("run_dir", "output_dir"):  # the paths given in the config
            metrics["config"]["eval"].pop(key)
    assert files[0] == files[1]
