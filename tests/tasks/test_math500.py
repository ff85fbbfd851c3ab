"""MATH-500: all 500 gold answers grade correct in our format; 500 changed answers grade wrong."""

from __future__ import annotations

import re

import pytest

from reasoning_irl.config.task import TaskConfig
from reasoning_irl.tasks import get_task
from reasoning_irl.tasks.math_answers import math_answers_equal
from reasoning_irl.text import format_completion


@pytest.fixture(scope="module")
def task():
    return get_task(TaskConfig(name="math500"))


@pytest.fixture(scope="module")
def records(task, data_file):
    data_file("math500/test.jsonl")
    return task.load("test")


def changed_answer(gold: str) -> str:
    """A different, non-equivalent answer: the first integer + 1, else another text, else twice it."""
    m = re.search(r"\d+", gold)
    if m:
        return gold[: m.start()] + str(int(m.group()) + 1) + gold[m.end() :]
    text = re.fullmatch(r"\\text\{(.*)\}", gold)
    if text:
        return "\\text{" + ("(D)" if text.group(1) == "(C)" else text.group(1) + "s") + "}"
    return "2" + gold


def test_500_gold_answers_grade_correct(task, records):
    assert len(records) == 500
    assert sum(task.grade(format_completion(["solution"], r.answer), r) for r in records) == 500
    assert sum(task.grade(r.target, r) for r in records) == 500  # the reference solutions as targets
    assert (
        sum(task.grade(format_completion(["solution"], f"$\\boxed{{{r.answer}}}$"), r) for r in records)
        == 500
    )


def test_500_changed_answers_grade_wrong(task, records):
    changed = [changed_answer(r.answer) for r in records]
    assert all(c != r.answer for c, r in zip(changed, records))
    by_kind = {
        "integer + 1": sum(bool(re.search(r"\d", r.answer)) for r in records),
        "other text": sum(bool(re.fullmatch(r"\\text\{[^\d]*\}", r.answer)) for r in records),
    }
    assert by_kind == {"integer + 1": 489, "other text": 8}  # and 3 without digits: \pi, \cot x, p - q
    graded = [task.grade(format_completion(["solution"], c), r) for c, r in zip(changed, records)]
    assert sum(graded) == 0, [c for c, g in zip(changed, graded) if g]


def test_equivalent_rewritings_of_gold_answers(task, records):
    polar = next(r for r in records if r.problem_id == "test/precalculus/807.json")
    assert polar.answer == "\\left( 3, \\frac{\\pi}{2} \\right)"
    for written in ("(3, \\pi/2)", "\\left(3,\\dfrac{\\pi}{2}\\right)", "$(3, \\frac12 \\pi)$"):
        assert task.grade(format_completion(["x"], written), polar), written
    assert not task.grade(format_completion(["x"], "[3, \\pi/2]"), polar)
    fractions = [r for r in records if re.fullmatch(r"\\frac\{(\d+)\}\{(\d+)\}", r.answer)]
    for record in fractions:
        numerator, denominator = re.fullmatch(r"\\frac\{(\d+)\}\{(\d+)\}", record.answer).groups()
        assert math_answers_equal(f"{numerator}/{denominator}", record.answer)
        assert math_answers_equal(f"\\dfrac{{{int(numerator) * 2}}}{{{int(denominator) * 2}}}", record.answer)
    assert len(fractions) == 45


def test_only_a_test_split(task):
    with pytest.raises(ValueError, match="only a test split"):
        task.load("train")
