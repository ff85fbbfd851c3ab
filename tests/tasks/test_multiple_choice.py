"""Multiple-choice grading: by letter or by option text, without false negatives, distractors wrong."""

from __future__ import annotations

import pytest

from reasoning_irl.config.task import TaskConfig
from reasoning_irl.tasks.multiple_choice import choice_record, chosen_options, format_question, grade_choice
from reasoning_irl.text import format_completion

OPTIONS = ["Vitamin A", "Vitamin D", "Type I", "Type II", "I and II only", "A. fumigatus"]


def record(answer_letter: str, options=OPTIONS):
    return choice_record(TaskConfig(), "q-1", "Which one?", list(options), answer_letter)


def grade(answer: str, rec) -> bool:
    return grade_choice(format_completion(["thinking"], answer), rec)


def test_record_layout():
    rec = record("B")
    assert (
        rec.question
        == "Which one?\nA. Vitamin A\nB. Vitamin D\nC. Type I\nD. Type II\nE. I and II only\nF. A. fumigatus"
    )
    assert rec.answer == "B. Vitamin D"
    assert rec.meta["distractors"] == [
        "A. Vitamin A",
        "C. Type I",
        "D. Type II",
        "E. I and II only",
        "F. A. fumigatus",
    ]
    assert rec.meta["distractor_letters"] == ["A", "C", "D", "E", "F"]
    assert format_question("Q", ["x\n  y"]) == "Q\nA. x y"


@pytest.mark.parametrize(
    "answer",
    [
        "B",
        "(B)",
        "B.",
        "B)",
        "B:",
        "B. Vitamin D",
        "B) Vitamin D",
        "(B) Vitamin D",
        "Vitamin D",
        "Vitamin D.",
        "vitamin d",
        "  Vitamin   D ",
        "\\boxed{B}",
        "$B$",
        "**B**",
        "The answer is B",
        "Answer: B. Vitamin D",
        "B. Vitamin D (the sunshine vitamin)",
    ],
)
def test_gold_written_many_ways_is_correct(answer):
    assert grade(answer, record("B"))


@pytest.mark.parametrize(
    "answer",
    [
        "A",
        "(C)",
        "C.",
        "Vitamin A",
        "Type I",
        "B. Vitamin A",
        "A. Vitamin D",
        "K",
        "b",
        "",
        "B and C",
        "Vitamin",
        "B, C",
        "I",
    ],
)
def test_distractors_and_junk_are_wrong(answer):
    assert not grade(answer, record("B"))


def test_texts_that_look_like_labels_are_texts():
    assert grade("Type I", record("C")) and grade("Type I.", record("C"))
    assert grade("I and II only", record("E"))
    assert grade("A. fumigatus", record("F"))  # an option text that starts like a label
    assert grade("F. A. fumigatus", record("F"))
    assert not grade("A. fumigatus", record("A"))


def test_case_decides_between_options_that_differ_only_by_case():
    options = ["Bb Bb", "bb bb", "BB BB"]
    assert grade("bb bb", record("B", options))
    assert not grade("bb bb", record("A", options))
    assert not grade("bB bB", record("A", options))  # ambiguous when case is ignored: no option
    assert grade("vitamin d", record("B"))  # case ignored when only one option matches


def test_repeated_option_text_cannot_be_told_apart():
    options = ["same", "other", "same"]
    assert chosen_options("same", options) == [0, 2]
    assert grade("same", record("A", options)) and grade("C", record("C", options)) is True
    assert not grade("B", record("A", options))


def test_no_answer_block_is_wrong():
    assert not grade_choice("B", record("B"))
