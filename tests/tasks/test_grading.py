"""Numeric answer normalisation (GSM8K, AIME, arith)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from reasoning_irl.tasks.grading import numbers_equal, parse_number, strip_math_delimiters, unwrap_command


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("1,000", 1000),
        ("$1,000.00", 1000),
        ("\\$1000", 1000),
        ("1000.", 1000),
        ("1000.0", 1000),
        ("025", 25),
        ("50%", 50),
        ("50\\%", 50),
        ("-3", -3),
        ("- 3", -3),
        ("3/4", Fraction(3, 4)),
        (".5", Fraction(1, 2)),
        ("\\boxed{18}", 18),
        ("$18$", 18),
        ("18 dollars", 18),
        ("18 meters.", 18),
        ("\\text{18}", 18),
        ("  7  ", 7),
        ("1,234,567", 1234567),
    ],
)
def test_numbers_are_parsed_exactly(written, value):
    assert parse_number(written) == value


@pytest.mark.parametrize(
    "written", ["", "x = 5", "1 2", "5 + 3", "1,00", "twelve", "18 big apples", "3/0", None]
)
def test_non_numbers_are_refused(written):
    assert parse_number(written) is None


def test_numbers_equal():
    assert numbers_equal("18.00", "18")
    assert numbers_equal("025", "25")
    assert not numbers_equal("18.01", "18")
    assert not numbers_equal(None, "18")
    with pytest.raises(ValueError, match="not a number"):
        numbers_equal("1", "one")


def test_unwrapping():
    assert unwrap_command("so \\boxed{\\frac{1}{2}} done", "boxed") == "\\frac{1}{2}"
    assert unwrap_command("\\boxed{1} and \\boxed{2}", "boxed") == "2"
    assert unwrap_command("\\boxed{unterminated", "boxed") == "\\boxed{unterminated"
    assert strip_math_delimiters(" $\\boxed{7}$ ") == "7"
    assert strip_math_delimiters("\\(x\\)") == "x"


# --- a model's answer can never crash grading (a number too long for int(): wrong, not an error) ----------


def _huge(digits: int = 5000) -> str:
    return "9" * digits


@pytest.mark.parametrize("written", [_huge(), f"-{_huge()}", f"{_huge()}/7", f"7/{_huge()}", f"{_huge()}.5"])
def test_a_5000_digit_answer_is_not_a_number(written):
    assert parse_number(written) is None
    assert not numbers_equal(written, "25")


@pytest.mark.parametrize("name", ["arith", "gsm8k", "aime"])
def test_a_5000_digit_answer_grades_wrong_in_every_numeric_task(name):
    from reasoning_irl.config.task import TaskConfig
    from reasoning_irl.rewards.verifiable import correctness_reward
    from reasoning_irl.tasks import Record, get_task
    from reasoning_irl.text.format import format_completion

    task = get_task(TaskConfig(name=name))
    record = Record("p", "q", "25", [{"role": "user", "content": "q"}], meta={"operations": [], "start": 25})
    for answer_format in ("tags", "flexible"):
        task.cfg.answer_format = answer_format
        for completion in (format_completion(["thinking"], _huge()), f"so the answer is {_huge()}.", _huge()):
            assert task.grade(completion, record) is False
            assert correctness_reward(completion, record, task) == 0.0


def test_a_5000_digit_step_is_a_wrong_step_of_arith():
    from reasoning_irl.config.task import TaskConfig
    from reasoning_irl.tasks import get_task
    from reasoning_irl.text.format import format_completion

    task = get_task(TaskConfig(name="arith", arith_num_test=3))
    record = task.load("test")[0]
    completion = format_completion([f"{record.meta['start']} + 1 = {_huge()}"], _huge())
    assert task.first_error_step(completion, record) == 0
    assert not task.grade(completion, record)


def test_a_5000_digit_answer_grades_wrong_in_math500_and_multiple_choice():
    from reasoning_irl.tasks.math_answers import math_answers_equal
    from reasoning_irl.tasks.multiple_choice import chosen_options

    assert not math_answers_equal(_huge(), "25") and not math_answers_equal(f"\\frac{{{_huge()}}}{{3}}", "25")
    assert chosen_options(_huge(), ["1", "2"]) == []


def test_a_lowered_int_digit_limit_still_grades_wrong_not_raises():
    import sys

    before = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(640)
    try:
        assert parse_number("7" * 700) is None and not numbers_equal("7" * 700, "25")
        assert parse_number("7" * 600) == int("7" * 600)
    finally:
        sys.set_int_max_str_digits(before)
