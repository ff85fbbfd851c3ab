"""Vote keys: one key per answer the grader treats as one, and no gold correctness inside a key."""

from reasoning_irl.eval.votes import vote_key, vote_keys
from reasoning_irl.tasks.base import Record
from reasoning_irl.tasks.multiple_choice import choice_meta

OPTIONS = ["Vitamin A", "Vitamin D", "Iron", "Bb", "bb"]
RECORD = Record("mc-0", "q", "B. Vitamin D", [{"role": "user", "content": "q"}], meta=choice_meta(OPTIONS, "B"))


def test_multiple_choice_answers_naming_one_option_share_one_vote():
    answers = ["B", "B. Vitamin D", "Vitamin D", "(B)", "C", "Iron.", "nothing"]
    keys = vote_keys(answers, [True, True, True, True, False, False, False], RECORD)
    assert len(set(keys[:4])) == 1  # four ways of naming option B: one vote
    assert keys[4] == keys[5] != keys[0]  # "C" and "Iron." name the same option
    assert keys[6] not in keys[:6]
    assert all("\0" not in k for k in keys)  # the grade is no part of the key


def test_case_sensitive_options_are_two_answers():
    keys = vote_keys(["Bb", "bb", "D"], [False, False, False], RECORD)
    assert keys[0] != keys[1] and keys[0] == keys[2]  # "D" is option D, whose text is "Bb"


def test_a_key_the_grader_splits_is_split_and_only_then():
    # numeric keys: "1/2" and "0.5" are one number; "x" and "X" one text key the grader may tell apart
    keys = vote_keys(["1/2", "0.5", "x", "X", None], [True, True, True, False, False], None)
    assert keys[0] == keys[1] == vote_key("0.5") and "\0" not in keys[0]
    assert keys[2] != keys[3] and keys[4] is None
