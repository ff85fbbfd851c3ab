"""AIME 2024 + 2025: 60 answers compared numerically; training needs the hub."""

from __future__ import annotations

import pytest

from reasoning_irl.config.task import TaskConfig
from reasoning_irl.io import DataFileError
from reasoning_irl.tasks import get_task
from reasoning_irl.tasks.aime import aime_answer
from reasoning_irl.text import format_completion


@pytest.fixture(scope="module")
def task():
    return get_task(TaskConfig(name="aime"))


@pytest.fixture(scope="module")
def records(task, data_file):
    data_file("aime24/test.jsonl")
    data_file("aime25/test.jsonl")
    return task.load("test")


def test_60_answers_grade_correct_and_changed_answers_wrong(task, records):
    assert len(records) == 60
    assert [r.meta["year"] for r in records] == [2024] * 30 + [2025] * 30
    assert len({r.problem_id for r in records}) == 60
    padded = [r for r in records if r.meta["raw_answer"] != r.answer]
    assert sorted(r.meta["raw_answer"] for r in padded) == ["023", "025", "033", "045", "055", "073", "080"]
    for record in records:
        for written in (
            record.answer,
            record.meta["raw_answer"],
            f"\\boxed{{{record.answer}}}",
            f"{record.answer}.",
        ):
            assert task.grade(format_completion(["work"], written), record), written
    assert sum(task.grade(format_completion(["work"], str(int(r.answer) + 1)), r) for r in records) == 0
    assert sum(task.grade(format_completion(["work"], f"{r.answer}{r.answer}"), r) for r in records) == 0


def test_years_knob(data_file):
    data_file("aime25/test.jsonl")
    records = get_task(TaskConfig(name="aime", aime_years=[2025])).load("test")
    assert len(records) == 30 and records[0].problem_id == "aime-2025-0" and records[0].answer == "70"


def test_aime_answer():
    assert aime_answer("025") == "25" and aime_answer(999) == "999"
    with pytest.raises(ValueError, match="0..999"):
        aime_answer("1000")


def test_training_problems_need_the_hub(no_hub):
    task = get_task(TaskConfig(name="aime"))
    for split in ("train", "validation"):
        with pytest.raises(DataFileError, match=r"AI-MO/NuminaMath-CoT.*task\.data_dir"):
            task.load(split)
