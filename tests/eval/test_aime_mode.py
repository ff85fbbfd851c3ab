"""``eval.mode=aime`` end to end: the tiny policy generates on real AIME records, answers graded by value."""

from __future__ import annotations

import json

import pytest

from reasoning_irl.eval import models
from reasoning_irl.eval.modes import build_config, run_evaluation


def test_aime_mode_generates_grades_and_writes(tmp_path, data_file, monkeypatch):
    data_file("aime24/test.jsonl")
    data_file("aime25/test.jsonl")
    real = models.Models.generate
    golds = {}

    def generate(self, prompts, sampling, seed):
        """The tiny policy's samples, with sample 0 replaced by the zero-padded gold answer (025 for 25)."""
        out = real(self, prompts, sampling, seed)
        for prompt, samples in zip(prompts, out):
            gold = golds[prompt[-1]["content"]]
            samples[0] = (f"<think>\nthe count is {int(gold)}\n</think>\n<answer>\n{int(gold):03d}\n</answer>", True)
        return out

    monkeypatch.setattr(models.Models, "generate", generate)
    from reasoning_irl.config.task import TaskConfig
    from reasoning_irl.tasks import get_task

    records = get_task(TaskConfig(name="aime", aime_years=[2025])).load("test")[:2]
    golds.update({r.prompt[-1]["content"]: r.answer for r in records})
    cfg = build_config({"eval.mode": "aime", "task.name": "aime", "task.aime_years": [2025],
                        "eval.max_problems": 2, "sampling.n_samples": 2, "sampling.max_new_tokens": 8,
                        "eval.ks": [1, 2], "eval.output_dir": str(tmp_path / "out"), "eval.bootstrap_resamples": 10})
    metrics = run_evaluation(cfg)
    assert metrics["mode"] == "aime" and metrics["task"] == "aime" and metrics["n_problems"] == 2
    assert metrics["answer_extraction"]["answer_format"] == "tags"  # generation: the format training checks
    rows = [json.loads(line) for line in (tmp_path / "out" / "samples.jsonl").read_text().splitlines()]
    assert [r["problem_id"] for r in rows] == [records[0].problem_id] * 2 + [records[1].problem_id] * 2
    padded = [r for r in rows if r["sample_idx"] == 0]
    assert all(r["correct"] and r["extracted_answer"] == f"{int(r['answer']):03d}" for r in padded)
    assert metrics["pass_at_k"]["2"]["mean"] == 1.0
    assert metrics["pass_at_k"]["1"]["mean"] == pytest.approx(sum(r["correct"] for r in rows) / 4)
