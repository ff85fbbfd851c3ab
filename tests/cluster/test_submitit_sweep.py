"""A two-job --multirun sweep through Hydra's submitit launcher (``submitit_local``, the SLURM code path)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests/fixtures/run/best/eval/pregenerated_policy_arith/samples.jsonl"


def test_submitit_local_sweep_runs_both_jobs(tmp_path):
    command = [
        sys.executable, str(ROOT / "evaluate.py"), "--multirun", "hydra/launcher=local",
        "eval.mode=pregenerated_policy", "eval.compute_policy_log_probs=false",
        f"eval.pregenerated_jsonl_path={FIXTURE}", f"output_root={tmp_path}",
        f"eval.output_dir={tmp_path}/out/" + "${eval.bootstrap_resamples}",
        "eval.bootstrap_resamples=100,200",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    resamples = {}
    for n in (100, 200):
        metrics = json.loads((tmp_path / "out" / str(n) / "metrics.json").read_text())
        resamples[n] = metrics["bootstrap"]["n_resamples"]
    assert resamples == {100: 100, 200: 200}
    # Both jobs went through submitit: each left its own submission folder with a result.
    job_logs = list((tmp_path / "multirun").rglob("*_result.pkl"))
    assert len(job_logs) == 2
