"""Perturbations: they change the text (or say they did not), report where, and are reproducible."""

import random
import re

import pytest

from reasoning_irl.rewards.perturbations import PERTURBATIONS, perturb, perturb_traces
from reasoning_irl.text.format import extract_answer, segment_steps

TRACE = "<think>\n7 + 5 = 12\n12 * 3 = 36\n36 - 4 = 32\n</think>\n<answer>\n32\n</answer>"
MATH = ["flip_operator", "nearby_answer", "corrupt_numbers", "answer_from_reasoning", "wrong_result"]


def _check_report(result):
    assert result.changed and result.text != result.original
    c = result.first_changed_char
    # The first difference, or the last character of a step after which the texts diverge.
    d = c if result.text[c:c + 1] != result.original[c:c + 1] else c + 1
    assert result.text[:d] == result.original[:d] and result.text[d:d + 1] != result.original[d:d + 1]
    assert d == c or any(s.end == d for s in segment_steps(result.text))
    steps = segment_steps(result.text)
    assert steps[result.first_changed_step].end > c
    assert result.first_changed_step == 0 or steps[result.first_changed_step - 1].end <= c


@pytest.mark.parametrize("name", MATH)
def test_math_perturbations_change_the_trace_and_report_where(name):
    for seed in range(20):
        _check_report(perturb(TRACE, name, random.Random(seed)))


def test_flip_operator_makes_exactly_one_step_false_and_keeps_numbers():
    for seed in range(30):
        result = perturb(TRACE, "flip_operator", random.Random(seed))
        lines = [s.text for s in segment_steps(result.text)[:-1]]
        assert re.sub(r"[-+*/]", "?", "\n".join(lines)) == re.sub(r"[-+*/]", "?", "\n".join(
            s.text for s in segment_steps(TRACE)[:-1]))
        false = []
        for i, line in enumerate(lines):
            a, op, b, c = re.fullmatch(r"(\d+) (\S) (\d+) = (\d+)", line).groups()
            value = {"+": int(a) + int(b), "-": int(a) - int(b), "*": int(a) * int(b), "/": int(a) / int(b)}[op]
            if value != int(c):
                false.append(i)
        assert false == [result.first_changed_step]


def test_flip_operator_ignores_hyphens_and_negative_numbers():
    text = "<think>\nwell-known fact\n-3 apples\n</think>\n<answer>\n-3\n</answer>"
    result = perturb(text, "flip_operator", random.Random(0))
    assert not result.changed and result.first_changed_char is None and result.first_changed_step is None


def test_wrong_result_makes_one_step_false_and_carries_on_from_it():
    def false_lines(text):
        out = []
        for i, line in enumerate(segment_steps(text)[:-1]):
            a, op, b, c = re.fullmatch(r"(\d+) (\S) (\d+) = (-?\d+)", line.text).groups()
            out += [i] if eval_op(int(a), op, int(b)) != int(c) else []
        return out

    seen = set()
    for seed in range(40):
        result = perturb(TRACE, "wrong_result", random.Random(seed))
        _check_report(result)
        # Exactly the changed step is false; every later step is right given the line before it, and
        # the answer is the last result: the trace is wrong only where the policy would have erred.
        assert false_lines(result.text) == [result.first_changed_step]
        last = segment_steps(result.text)[-2].text.split(" = ")[1]
        assert extract_answer(result.text) == last
        seen.add(result.first_changed_step)
    assert seen == {0, 1, 2}
    # Chained divisions stay exact (a wrong value that would break one is skipped).
    trace = "<think>\n9 * 4 = 36\n36 / 4 = 9\n</think>\n<answer>\n9\n</answer>"
    for seed in range(20):
        result = perturb(trace, "wrong_result", random.Random(seed))
        assert false_lines(result.text) == [result.first_changed_step]
    assert not perturb("<think>\nno numbers here\n</think>\n<answer>\nx\n</answer>", "wrong_result",
                       random.Random(0)).changed


@pytest.mark.parametrize("name", ["wrong_operator", "wrong_operand"])
def test_a_wrong_operation_is_computed_right_and_carried_on(name):
    original = [re.fullmatch(r"(\d+) (\S) (\d+) = (\d+)", s.text).groups() for s in segment_steps(TRACE)[:-1]]
    seen = set()
    for seed in range(40):
        result = perturb(TRACE, name, random.Random(seed))
        _check_report(result)
        steps = segment_steps(result.text)
        lines = [re.fullmatch(r"(\d+) (\S) (-?\d+) = (-?\d+)", s.text).groups() for s in steps[:-1]]
        k = result.first_changed_step
        # Every line is arithmetically true and starts from the previous result ...
        for i, (a, op, b, c) in enumerate(lines):
            assert eval_op(int(a), op, int(b)) == int(c)
            assert i == 0 or a == lines[i - 1][3]
        # ... only line k does another operation than the expert's (the operator, or the operand) ...
        changed = "operator" if name == "wrong_operator" else "operand"
        for i, ((_, op, b, _), (_, op0, b0, _)) in enumerate(zip(lines, original)):
            assert ((op, b) != (op0, b0)) == (i == k)
            if i == k:
                assert (op == op0) == (changed == "operand") and (b == b0) == (changed == "operator")
        # ... and the answer is the last result.
        assert extract_answer(result.text) == lines[-1][3]
        seen.add(k)
    assert seen == {0, 1, 2}


def test_wrong_result_is_unchanged_by_the_shared_carry_on():
    # Fixed outputs from before the carry-on was shared with wrong_operator / wrong_operand.
    expected = ["7 + 5 = 22\n22 * 3 = 66\n66 - 4 = 62\n</think>\n<answer>\n62",
                "7 + 5 = 12\n12 * 3 = 46\n46 - 4 = 42\n</think>\n<answer>\n42",
                "7 + 5 = 12\n12 * 3 = 37\n37 - 4 = 33\n</think>\n<answer>\n33"]
    for seed, body in enumerate(expected):
        assert perturb(TRACE, "wrong_result", random.Random(seed)).text == f"<think>\n{body}\n</answer>"


def test_a_step_cut_short_is_the_changed_step():
    # "80" → "8": the texts first differ right after step 1 ends; step 1 is what changed, so it must not
    # be labelled as an expert prefix (the token ending it is the first changed one).
    original = "<think>\n8 * 2 = 16\n16 * 5 = 80\n80 / 8 = 10\n</think>\n<answer>\n10\n</answer>"
    text = "<think>\n8 * 2 = 16\n16 * 5 = 8\n8 / 8 = 1\n</think>\n<answer>\n1\n</answer>"
    from reasoning_irl.rewards.perturbations import first_changed_char

    assert first_changed_char(original, text) == text.index("= 8\n") + 2
    assert first_changed_char(original, original.replace("16 * 5", "16 * 6")) == original.index("5")


def eval_op(a: int, op: str, b: int) -> float:
    return {"+": a + b, "-": a - b, "*": a * b, "/": a / b}[op]


def test_answer_perturbations_move_the_answer_only():
    assert extract_answer(perturb(TRACE, "nearby_answer", random.Random(0)).text) in {"31", "33"}
    decimal = TRACE.replace("<answer>\n32\n", "<answer>\n3.25\n")
    assert extract_answer(perturb(decimal, "nearby_answer", random.Random(0)).text) in {"3.24", "3.26"}
    yes = TRACE.replace("<answer>\n32\n", "<answer>\nYes\n")
    assert extract_answer(perturb(yes, "nearby_answer", random.Random(0)).text) == "No"
    for seed in range(10):
        result = perturb(TRACE, "answer_from_reasoning", random.Random(seed))
        assert extract_answer(result.text) in {"7", "5", "12", "3", "36", "4"}
        assert result.first_changed_step == 3  # the answer block


def test_distractor_answer_uses_the_task_options():
    meta = {"distractors": ["A. red", "C. blue"], "distractor_letters": ["A", "C"]}
    text = "<think>\nsky\n</think>\n<answer>\nB. green\n</answer>"
    assert extract_answer(perturb(text, "distractor_answer", random.Random(1), meta).text) in meta["distractors"]
    bare = text.replace("B. green", "B")
    assert extract_answer(perturb(bare, "distractor_answer", random.Random(1), meta).text) in {"A", "C"}
    assert not perturb(text, "distractor_answer", random.Random(1), {}).changed  # no options: dropped


def test_batches_are_per_trace_reproducible_and_drop_unchanged_results():
    traces = [TRACE.replace("7 + 5 = 12", f"7 + {k} = {7 + k}") for k in range(1, 13)]
    first = perturb_traces(traces, MATH, seed=3)
    assert first == perturb_traces(traces, MATH, seed=3)
    assert first != perturb_traces(traces, MATH, seed=4)
    assert len({p.name for _, p in first}) > 1  # chosen per trace, not once for the whole batch
    # a trace that no perturbation in the list can change is dropped
    kept = perturb_traces(["<think>\nno numbers here\n</think>"], ["flip_operator", "nearby_answer"], seed=0)
    assert kept == []
    # one trace's perturbation does not depend on the other traces in the batch
    others = [TRACE] * 5 + [traces[5]] + [TRACE] * 6
    assert dict(perturb_traces(others, MATH, seed=3))[5] == dict(first)[5]


def test_unknown_names_are_errors():
    assert set(MATH) < set(PERTURBATIONS)
    with pytest.raises(ValueError, match="unknown perturbation"):
        perturb(TRACE, "shuffle", random.Random(0))
