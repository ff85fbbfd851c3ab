"""ProcessBench: every record loads with its steps and label intact, and its steps round-trip."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from reasoning_irl.config.task import TaskConfig
from reasoning_irl.tasks import get_task
from reasoning_irl.text import render_steps, segment_steps

SIZES = {"gsm8k": 400, "math": 1000, "olympiadbench": 1000, "omnimath": 1000}


@pytest.fixture(scope="module")
def task():
    return get_task(TaskConfig(name="processbench", processbench_subset="all"))


@pytest.fixture(scope="module")
def records(task, data_file):
    for subset in SIZES:
        data_file(f"processbench/{subset}.json")
    return task.load("test")


def test_every_record_keeps_steps_and_label(records, data_file):
    assert Counter(r.meta["subset"] for r in records) == SIZES
    raw = {
        row["id"]: row
        for subset in SIZES
        for row in json.loads(data_file(f"processbench/{subset}.json").read_text())
    }
    assert len(raw) == len(records) == 3400
    for record in records:
        row = raw[record.problem_id]
        assert record.steps == row["steps"]
        assert record.first_error_step == (None if row["label"] == -1 else row["label"])
        assert record.meta["label"] == row["label"]
        assert record.meta["final_answer_correct"] is row["final_answer_correct"]
        assert record.meta["generator"] == row["generator"]
        assert record.question == row["problem"]


def test_steps_round_trip_exactly(records):
    for record in records:
        text, spans = render_steps(record.steps)
        assert [s.text for s in segment_steps(text, record.steps)] == record.steps
        assert segment_steps(text, record.steps) == spans
        for span in spans:
            assert text[span.start : span.end] == span.text


def test_gsm8k_label_distribution(records):
    labels = Counter(r.meta["label"] for r in records if r.meta["subset"] == "gsm8k")
    assert labels == {-1: 193, 0: 37, 1: 61, 2: 50, 3: 31, 4: 13, 5: 12, 6: 2, 7: 1}


def test_grade_and_first_error_step_only_for_the_records_own_solution(task, records):
    record = next(r for r in records if r.first_error_step is not None and r.meta["final_answer_correct"])
    text = render_steps(record.steps)[0]
    assert task.grade(text, record) is True
    assert task.first_error_step(text, record) == record.first_error_step
    with pytest.raises(ValueError, match="only the record's own completion"):
        task.grade(text + " changed", record)


def test_single_subset_and_test_only(data_file):
    data_file("processbench/math.json")
    task = get_task(TaskConfig(name="processbench", processbench_subset="math", max_problems=10))
    assert [r.problem_id for r in task.load("test")] == [f"math-{i}" for i in range(10)]
    with pytest.raises(ValueError, match="only a test split"):
        task.load("validation")
