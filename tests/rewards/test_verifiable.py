"""Verifiable rewards (docs/METHOD.md §7.3) on texts whose values can be checked by hand."""

import pytest

from reasoning_irl.rewards.verifiable import (
    is_strict_format,
    soft_format_reward,
    strict_format_reward,
    tag_count_reward,
    trl_reward_functions,
)

GOOD = "<think>\n3 + 4 = 7\n</think>\n<answer>\n7\n</answer>"


def test_format_rewards():
    assert tag_count_reward(GOOD) == pytest.approx(0.5)
    assert tag_count_reward(GOOD + "xyz") == pytest.approx(0.5 - 0.003)
    assert tag_count_reward("<think>a</think><think>b</think><answer>1</answer>") == pytest.approx(0.25)
    assert soft_format_reward("noise " + GOOD) == 0.5 and strict_format_reward("noise " + GOOD) == 0.0
    assert is_strict_format("  " + GOOD + "\n") and not is_strict_format("<answer>7</answer>")


def test_trl_wrappers_read_the_problem_column():
    class Task:
        def grade(self, completion, record):
            return completion.endswith(record)

    fmt, correct = trl_reward_functions(["strict_format", "correctness"], Task(), {"p": "</answer>"})
    assert fmt([[{"role": "assistant", "content": GOOD}]]) == [0.5]
    assert correct([GOOD, "no"], problem_id=["p", "p"]) == [2.0, 0.0]
    with pytest.raises(ValueError, match="unknown verifiable reward"):
        trl_reward_functions(["length"], Task(), {})


def test_strict_format_needs_exactly_one_of_each_tag():
    from reasoning_irl.rewards.verifiable import is_strict_format

    assert is_strict_format("<think>\n1 + 1 = 2\n</think>\n<answer>\n2\n</answer>")
    assert not is_strict_format("<think>a</think><answer>1</answer><answer>2</answer>")
    assert not is_strict_format("<think>a<think>b</think><answer>1</answer>")
