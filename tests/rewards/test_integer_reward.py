"""The GRPO baseline's ``integer_answer`` reward (the reference's ``int_reward_func``, docs/METHOD.md §7.3):
0.5 when the extracted answer is all digits; off by default, on in the paper's GSM8K and AIME runs."""

import pytest

from reasoning_irl.config.training import GRPOTrainingConfig
from reasoning_irl.rewards.verifiable import integer_answer_reward, trl_reward_functions


@pytest.mark.parametrize("answer,value", [("72", 0.5), (" 72 ", 0.5), ("-3", 0.0), ("1,080", 0.0), ("7.5", 0.0),
                                          ("B. Vitamin D", 0.0), ("", 0.0)])
def test_integer_answer_reward(answer, value):
    assert integer_answer_reward(f"<think>\nx\n</think>\n<answer>\n{answer}\n</answer>") == value


def test_no_answer_block_gets_nothing_and_the_reward_is_opt_in():
    assert integer_answer_reward("72") == 0.0
    assert "integer_answer" not in GRPOTrainingConfig().reward_functions  # default list unchanged
    config = GRPOTrainingConfig(reward_functions=["tag_count", "integer_answer", "correctness"])
    assert config.reward_functions[1] == "integer_answer"
    (function,) = trl_reward_functions(["integer_answer"], None, {})
    assert function(["<answer>12</answer>", [{"role": "assistant", "content": "<answer>x</answer>"}]]) == [0.5, 0.0]
