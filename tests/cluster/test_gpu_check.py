"""``scripts/gpu_check.py --cpu-dry-run``: the GPU check's code path at toy sizes on the CPU.

The real architectures' sizes are checked against their published parameter counts (Qwen2.5-0.5B:
0.49B, Qwen2.5-3B: 3.09B); the dry run builds the toy model, runs AIRL (2 warm-up + 1 step, checkpoint),
its resume (step 4), the evaluation entry on pregenerated completions and TRL's GRPO, and writes JSON —
in bfloat16 as on the GPU (bf16 weights, float32 LoRA and head, bf16 autocast).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reasoning_irl.models.architectures import ARCHITECTURES, build_tokenizer, parameter_count

ROOT = Path(__file__).resolve().parents[2]


def test_published_sizes():
    assert parameter_count("qwen2.5-0.5b") == pytest.approx(494_032_768, rel=1e-3)
    assert parameter_count("qwen2.5-3b") == pytest.approx(3_085_938_688, rel=1e-3)
    assert {a["vocab_size"] for n, a in ARCHITECTURES.items() if n != "toy"} == {151936}


def test_padded_tokenizer_round_trips_every_id():
    tokenizer = build_tokenizer(1024)
    assert len(tokenizer) == 1024
    ids = [600, 1023, 700, 5, 900]
    assert tokenizer(tokenizer.decode(ids), add_special_tokens=False)["input_ids"][-5:] == ids


def test_cpu_dry_run(tmp_path):
    out = tmp_path / "gpu_check.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, str(ROOT / "scripts/gpu_check.py"), "--cpu-dry-run",
                             "--dtype", "bfloat16", "--work", str(tmp_path / "work"), "--out", str(out)],
                            capture_output=True, text=True, timeout=180, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    (toy,) = report["results"]
    assert toy["model"] == "toy" and toy["dtype"] == "bfloat16" and toy["airl_step_s"] > 0 and toy["warmup_step_s"] > 0
    assert (tmp_path / "work/toy/eval/metrics.json").is_file()
    assert (tmp_path / "work/toy/airl/checkpoints/step-4").is_dir()
    grpo = toy["grpo"]
    assert "skipped" in grpo or grpo["seconds_per_step"] > 0
    assert "| airl_step_s |" in result.stdout


def test_cpu_dry_run_airl_only(tmp_path):
    """``--airl-only``: one AIRL step and nothing after it; every phase is in the JSON it rewrites as it goes."""
    out = tmp_path / "gpu_check.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, str(ROOT / "scripts/gpu_check.py"), "--cpu-dry-run", "--airl-only",
                             "--work", str(tmp_path / "work"), "--out", str(out)],
                            capture_output=True, text=True, timeout=180, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    (toy,) = json.loads(out.read_text())["results"]
    assert toy["airl_step_s"] > 0 and "grpo" not in toy and "evaluation_entry_s" not in toy
    assert {"generate", "discriminator", "score", "policy"} <= set(toy["phase_s"]["1"])
    assert "[gpu_check] step 1 policy:" in result.stdout
    assert not (tmp_path / "work/toy/eval").exists()
    assert json.loads(out.read_text())["machine"]["torch"]
