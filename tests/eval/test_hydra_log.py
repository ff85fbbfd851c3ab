"""``evaluate.py``'s Hydra log lies beside the outputs it describes when ``eval.output_dir`` is set."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from reasoning_irl.cli import eval_log_dir
from reasoning_irl.config.task import TaskConfig
from reasoning_irl.tasks import get_task

ROOT = Path(__file__).resolve().parents[2]


def test_log_dir_rule():
    assert eval_log_dir("/x/out", "outputs/eval-arith-generate/.hydra_eval") == "/x/out/.hydra_eval"
    assert eval_log_dir(None, "outputs/eval-arith-generate/.hydra_eval") == "outputs/eval-arith-generate/.hydra_eval"


def test_evaluate_writes_its_log_into_the_output_dir(tmp_path):
    records = get_task(TaskConfig(arith_num_test=2)).load("test")
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"prompt": r.prompt, "problem_id": r.problem_id, "answer": r.answer,
                                          "completion": r.target}) + "\n" for r in records))
    out, root = tmp_path / "out", tmp_path / "root"
    for run in range(2):  # the second replaces the first's folder (io.swap_in) and keeps its own log
        done = subprocess.run(
            [sys.executable, str(ROOT / "evaluate.py"), "eval.mode=pregenerated_policy",
             "eval.compute_policy_log_probs=false", f"eval.pregenerated_jsonl_path={source}",
             f"eval.output_dir={out}", f"output_root={root}", "eval.ks=[1]", "eval.bootstrap_resamples=10"],
            cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
        assert done.returncode == 0, (run, done.stderr[-2000:])
        assert (out / "metrics.json").is_file() and (out / ".hydra_eval" / "evaluate.log").is_file()
    assert not root.exists()  # nothing under outputs/eval-<task>-<mode>/.hydra_eval
