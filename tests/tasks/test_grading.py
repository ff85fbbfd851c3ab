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
