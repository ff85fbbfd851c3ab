"""The synthetic arith task: determinism, disjoint splits, ranges, grading and exact step checking."""

from __future__ import annotations

import json
import re

import pytest

from reasoning_irl.config.task import TaskConfig
from reasoning_irl.tasks import get_task
from reasoning_irl.tasks.arith import apply
from reasoning_irl.text import DEFAULT_SYSTEM_PROMPT, format_completion, segment_steps


def dump(records) -> str:
    return json.dumps([vars(r) for r in records], sort_keys=True)


@pytest.fixture(scope="module")
def task():
    return get_task(TaskConfig(name="arith"))


@pytest.fixture(scope="module")
def splits(task):
    return {split: task.load(split) for split in ("train", "validation", "test")}


def problem_key(record) -> str:
    return json.dumps([record.meta["start"], record.meta["operations"]])


def test_same_seed_gives_byte_identical_records(splits):
    again = get_task(TaskConfig(name="arith"))
    for split, records in splits.items():
        assert dump(again.load(split)) == dump(records)
    other = get_task(TaskConfig(name="arith", seed=1))
    assert dump(other.load("test")) != dump(splits["test"])


def test_split_sizes_and_disjointness(splits):
    assert [len(splits[s]) for s in ("train", "validation", "test")] == [10_000, 500, 1_000]
    keys = {s: {problem_key(r) for r in records} for s, records in splits.items()}
    assert [len(keys[s]) for s in ("train", "validation", "test")] == [10_000, 500, 1_000]  # no repeats
    assert not keys["train"] & keys["validation"]
    assert not keys["train"] & keys["test"]
    assert not keys["validation"] & keys["test"]
    ids = [r.problem_id for records in splits.values() for r in records]
    assert len(set(ids)) == len(ids)


def test_test_split_does_not_depend_on_train_size(splits):
    small = get_task(TaskConfig(name="arith", arith_num_train=10, arith_num_validation=5))
    assert dump(small.load("test")) == dump(splits["test"])


def test_problems_respect_the_ranges(splits):
    wording = re.compile(
        r"Start with \d+\.( (Add|Subtract|Multiply by|Divide by) \d+\.)+ What is the final number\?"
    )
    for record in splits["train"]:
        meta = record.meta
        assert wording.fullmatch(record.question)
        assert 1 <= meta["start"] <= 9
        assert 2 <= len(meta["operations"]) <= 4
        value = meta["start"]
        for (op, operand), result in zip(meta["operations"], meta["results"]):
            assert op in "+-*/" and 1 <= operand <= 9
            if op in "*/":
                assert operand >= 2
            if op == "/":
                assert value % operand == 0
            value = apply(value, op, operand)
            assert value == result and 1 <= value <= 99
        assert record.answer == str(value)
        assert record.prompt == [{"role": "user", "content": record.question}]  # arith: no system prompt


def test_expert_trace_format():
    record = get_task(TaskConfig(name="arith")).load("test")[0]
    start, ops = record.meta["start"], record.meta["operations"]
    lines, value = [], start
    for op, operand in ops:
        lines.append(f"{value} {op} {operand} = {apply(value, op, operand)}")
        value = apply(value, op, operand)
    assert record.target == "<think>\n" + "\n".join(lines) + f"\n</think>\n<answer>\n{value}\n</answer>"


def test_all_operators_are_used_and_can_be_restricted(splits):
    used = {op for r in splits["train"] for op, _ in r.meta["operations"]}
    assert used == set("+-*/")
    only = get_task(TaskConfig(name="arith", arith_operators="+-", arith_num_train=200)).load("train")
    assert {op for r in only for op, _ in r.meta["operations"]} == {"+", "-"}


def test_expert_traces_have_no_error_and_grade_correct(task, splits):
    for record in splits["train"]:  # 10,000 expert traces
        assert task.first_error_step(record.target, record) is None
        assert task.grade(record.target, record)


def lines_of(record) -> tuple[list[str], str]:
    steps = [s.text for s in segment_steps(record.target)]
    return steps[:-1], record.answer


def render(lines: list[str], answer: str | None) -> str:
    if answer is None:
        return "<think>\n" + "\n".join(lines) + "\n</think>\n"
    return format_completion(lines, answer)


def corruptions(record, k: int) -> dict[str, tuple[str, int]]:
    """Every kind of corruption of step k (k < last), with the index of the first wrong step."""
    lines, answer = lines_of(record)
    n = len(lines)
    start = record.meta["start"]
    a, op, b, c = lines[k].replace("=", " ").split()
    a, b, c = int(a), int(b), int(c)
    other_op = next(o for o in "+-*" if o != op)
    older = start - 1 if k == 0 else ([start] + record.meta["results"])[k - 1]  # not the previous result
    if older == a:
        older = a + 2

    def with_step(text: str) -> list[str]:
        return lines[:k] + [text] + lines[k + 1 :]

    return {
        "wrong result": (render(with_step(f"{a} {op} {b} = {c + 1}"), answer), k),
        "wrong left operand": (
            render(with_step(f"{a + 1} {op} {b} = {apply(a + 1, op, b) if op != '/' else c}"), answer),
            k,
        ),
        "wrong operator": (render(with_step(f"{a} {other_op} {b} = {apply(a, other_op, b)}"), answer), k),
        "wrong right operand": (render(with_step(f"{a} {op} {b + 1} = {c}"), answer), k),
        "broken chain (continues from an older result)": (
            render(with_step(f"{older} {op} {b} = {c}"), answer),
            k,
        ),
        "swapped steps": (render(lines[:k] + [lines[k + 1], lines[k]] + lines[k + 2 :], answer), k),
        "unparsable line": (render(with_step(f"{a} {op} {b} is {c}"), answer), k),
        "words instead of a step": (render(with_step("Now I multiply the numbers."), answer), k),
        "missing middle step": (render(lines[:k] + lines[k + 1 :], answer), k),
        "missing last step": (render(lines[:-1], answer), n - 1),
        "extra step": (render(lines + [f"{answer} + 1 = {int(answer) + 1}"], answer), n + 1),
        "wrong answer": (render(lines, str(int(answer) + 1)), n),
        "answer not a number": (render(lines, f"The answer is {answer}"), n),
        "missing answer block": (render(lines, None), n),
        "answer block only": (f"<answer>\n{answer}\n</answer>", 0),
        "empty completion": ("", 0),
    }


def test_first_error_step_finds_every_kind_of_corruption(task, splits):
    checked = 0
    for record in splits["train"][:2000]:
        n = len(record.meta["operations"])
        for k in range(n - 1):
            for kind, (completion, expected) in corruptions(record, k).items():
                assert task.first_error_step(completion, record) == expected, (kind, completion, record.meta)
                checked += 1
    assert checked > 20_000


def test_first_error_step_edge_cases(task):
    record = get_task(TaskConfig(name="arith")).load("test")[
        0
    ]  # 6 * 5 = 30 | 30 + 6 = 36 | 36 - 3 = 33 | 33 * 3 = 99
    assert record.meta == {
        "start": 6,
        "operations": [["*", 5], ["+", 6], ["-", 3], ["*", 3]],
        "results": [30, 36, 33, 99],
    }
    lines = ["6 * 5 = 30", "30 + 6 = 36", "36 - 3 = 33", "33 * 3 = 99"]
    check = task.first_error_step
    assert check(format_completion(lines, "99"), record) is None
    # tolerated notation: spacing, a trailing period or ".0" in the answer, CRLF line ends, no <think> tag
    assert (
        check(format_completion(["6*5=30", "30 +6= 36", "36 - 3 = 33", "33 * 3 = 99"], "99."), record) is None
    )
    assert check(format_completion(lines, "99.0").replace("\n", "\r\n"), record) is None
    assert check("\n".join(lines) + "\n<answer>99</answer>", record) is None
    # a miscomputed step that is later "repaired" is still the first error
    assert (
        check(format_completion(["6 * 5 = 31", "30 + 6 = 36", "36 - 3 = 33", "33 * 3 = 99"], "99"), record)
        == 0
    )
    # a step continuing from a wrong result is wrong at the wrong result, not after it
    assert (
        check(format_completion(["6 * 5 = 30", "30 + 6 = 37", "37 - 3 = 34", "34 * 3 = 102"], "102"), record)
        == 1
    )
    # "x" or "×" are not the ASCII operator of the problem
    assert check(format_completion(["6 x 5 = 30"] + lines[1:], "99"), record) == 0
    # the index of the answer step is where segment_steps puts the answer block
    completion = format_completion(lines, "98")
    assert check(completion, record) == len(segment_steps(completion)) - 1 == 4


def test_grade(task):
    record = task.load("test")[0]
    assert task.grade("<answer>99</answer>", record)
    assert task.grade("<think>\nx\n</think>\n<answer>\n 99.0 \n</answer>", record)
    assert not task.grade("<answer>98</answer>", record)
    assert not task.grade("99", record)  # no answer block


def test_num_demonstrations_keeps_k_targets_on_train_only():
    task = get_task(TaskConfig(name="arith", num_demonstrations=100, arith_num_train=1000))
    train = task.load("train")
    kept = [r.problem_id for r in train if r.target is not None]
    assert len(train) == 1000 and len(kept) == 100
    assert kept == [
        r.problem_id
        for r in get_task(TaskConfig(name="arith", num_demonstrations=100, arith_num_train=1000)).load(
            "train"
        )
        if r.target
    ]
    assert all(r.target for r in task.load("validation"))
    assert (
        len(get_task(TaskConfig(name="arith", num_demonstrations=0, arith_num_train=50)).load("train")) == 50
    )


def test_max_problems_and_system_prompt():
    task = get_task(TaskConfig(name="arith", max_problems=7, system_prompt="Be brief."))
    records = task.load("validation")
    assert len(records) == 7
    assert records[0].prompt == [{"role": "system", "content": "Be brief."},
                                 {"role": "user", "content": records[0].question}]
    default = get_task(TaskConfig(name="arith", max_problems=1, system_prompt=DEFAULT_SYSTEM_PROMPT)).load("test")
    assert default[0].prompt[0] == {"role": "system", "content": DEFAULT_SYSTEM_PROMPT}


def test_impossible_request_is_a_clear_error():
    cfg = TaskConfig(
        name="arith",
        arith_min_ops=1,
        arith_max_ops=1,
        arith_operators="+",
        arith_start_max=1,
        arith_operand_max=2,
        arith_result_max=3,
        arith_num_test=5,
    )
    with pytest.raises(ValueError, match="could only generate 2 distinct test problems of 5"):
        get_task(cfg).load("test")


@pytest.mark.parametrize("name", ["wrong_result", "wrong_operator", "wrong_operand"])
def test_carry_on_perturbations_are_errors_the_step_checker_finds_where_they_start(task, splits, name):
    # The perturbations meant to look like a policy's errors: the arith checker places their first wrong
    # step exactly where the perturbation says it changed the trace, and the answer is graded wrong.
    import random

    from reasoning_irl.rewards.perturbations import perturb

    changed = 0
    for i, record in enumerate(splits["train"][:300]):
        result = perturb(record.target, name, random.Random(i))
        if result.changed:
            assert task.first_error_step(result.text, record) == result.first_changed_step, result.text
            assert not task.grade(result.text, record)
            changed += 1
    assert changed > 250
