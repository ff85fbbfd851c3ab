"""task=gsm8k honours ``task.expert_traces_path``: the reference trained GSM8K on teacher chains of thought
(docs/METHOD.md §9, ``gsm8k_kd``), not on the human solutions. With the file, the experts are its traces only."""

from __future__ import annotations

import json

import pytest

from reasoning_irl.config.task import TaskConfig
from reasoning_irl.io import DataFileError
from reasoning_irl.tasks import get_task

ROWS = [{"question": f"Tom has {n} apples and buys 2 more. How many?",
         "answer": f"{n} + 2 = <<{n}+2={n + 2}>>{n + 2}\n#### {n + 2}"}
        for n in range(1, 31)]


def _data(tmp_path):
    (tmp_path / "gsm8k").mkdir()
    for split in ("train", "test"):
        (tmp_path / "gsm8k" / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    return tmp_path


def test_expert_traces_path_replaces_the_gsm8k_solutions(tmp_path):
    data = _data(tmp_path)
    plain = get_task(TaskConfig(name="gsm8k", data_dir=str(data))).load("train")
    chosen = plain[:3]
    traces = tmp_path / "teacher.jsonl"
    traces.write_text("".join(json.dumps({"problem_id": r.problem_id, "reasoning": f"Teacher: {r.answer} apples."})
                              + "\n" for r in chosen))
    task = get_task(TaskConfig(name="gsm8k", data_dir=str(data), expert_traces_path=str(traces)))
    records = task.load("train")
    by_id = {r.problem_id: r for r in records}
    for r in chosen:
        assert by_id[r.problem_id].target == (f"<think>\nTeacher: {r.answer} apples.\n</think>\n"
                                              f"<answer>\n{r.answer}\n</answer>")
    # a problem without a teacher trace has no demonstration (the human solution is not mixed in)
    assert all(r.target is None for r in records if r.problem_id not in {c.problem_id for c in chosen})
    assert task.describe()["expert_traces_path"] == str(traces)


def test_a_traces_file_matching_no_train_problem_is_refused(tmp_path):
    data = _data(tmp_path)
    traces = tmp_path / "teacher.jsonl"
    traces.write_text(json.dumps({"problem_id": "gsm8k_kd-7", "reasoning": "x"}) + "\n")
    with pytest.raises(DataFileError, match="none of the 1 traces"):
        get_task(TaskConfig(name="gsm8k", data_dir=str(data), expert_traces_path=str(traces))).load("train")


def test_tasks_that_read_no_traces_file_refuse_one():
    with pytest.raises(ValueError, match="task.expert_traces_path='t.jsonl': task 'arith' does not read"):
        get_task(TaskConfig(name="arith", expert_traces_path="t.jsonl"))
