"""Answer extraction of free-form completions: one function, three formats, each rule named."""

from __future__ import annotations

import pytest

from reasoning_irl.text.answers import ANSWER_FORMATS, find_answer


@pytest.mark.parametrize(
    ("completion", "text", "by"),
    [
        ("<think>\n1 + 1 = 2\n</think>\n<answer>\n2\n</answer>", "2", "tags"),
        ("so $\\boxed{\\frac{1}{2}}$ and then \\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}.",
         "\\left( 3, \\frac{\\pi}{2} \\right)", "boxed"),
        ("… The answer is \\(\\boxed{30}\\).", "30", "boxed"),
        ("She pays 5 + 7 = 12. The answer is 12.", "12", "answer_is"),
        ("The final answer is: **$1,080**. Hope this helps", "$1,080", "answer_is"),
        ("Reasoning 3 + 4.\nAnswer: C", "C", "answer_is"),
        ("so it must be option three. The answer is (C).", "(C)", "answer_is"),
        ("48/2 = 24\n#### 72", "72", "hashes"),
        ("Therefore, John has 180 minutes to nap.", "180", "last_number"),
        ("It costs $1,250.50 in total, or -3/4 per unit", "-3/4", "last_number"),
        ("I cannot solve this.", None, None),
        ("", None, None),
    ],
)
def test_flexible_rules_in_order(completion, text, by):
    found = find_answer(completion, "flexible")
    assert (found.text, found.by) == (text, by)


def test_tags_is_strict_and_boxed_reads_only_boxes():
    text = "The answer is 12. \\boxed{12}"
    assert find_answer(text, "tags").text is None and find_answer(text, "tags").by is None
    assert find_answer(text, "boxed") == find_answer(text, "flexible")
    assert find_answer("The answer is 12.", "boxed").text is None
    # tags win over a box outside the block, in every format that reads tags
    both = "\\boxed{3}\n<answer>4</answer>"
    assert find_answer(both, "tags").text == find_answer(both, "flexible").text == "4"
    # unbalanced braces: no box
    assert find_answer("\\boxed{12", "boxed").text is None


def test_choice_tasks_have_no_last_number_fallback():
    assert find_answer("Option 3 costs 12 dollars", "flexible", last_number=False).text is None
    assert find_answer("Answer: (B) because", "flexible", last_number=False).text == "(B) because"
    assert find_answer("\\boxed{D}", "flexible", last_number=False).text == "D"


def test_unknown_format_is_refused_by_name():
    assert ANSWER_FORMATS == ("tags", "boxed", "flexible")
    with pytest.raises(ValueError, match="task.answer_format='xml'.*tags, boxed, flexible"):
        find_answer("x", "xml")


def test_a_huge_text_is_read_in_linear_time():
    import time

    text = "1 " * 200_000 + "answer is " * 10_000
    start = time.perf_counter()
    find_answer(text, "flexible")
    assert time.perf_counter() - start < 2.0


def test_unknown_format_in_the_task_config_is_refused():
    from reasoning_irl.config.task import TaskConfig
    from reasoning_irl.tasks import get_task

    with pytest.raises(ValueError, match=r"task.answer_format='xml': use one of tags, boxed, flexible"):
        get_task(TaskConfig(answer_format="xml"))
