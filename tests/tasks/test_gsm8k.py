"""GSM8K: gold solutions in our format grade correct, changed answers grade wrong; stable splits."""

from __future__ import annotations

import pytest

from reasoning_irl.config.task import TaskConfig
from reasoning_irl.tasks import get_task
from reasoning_irl.tasks.gsm8k import parse_solution
from reasoning_irl.text import extract_answer, format_completion, segment_steps


@pytest.fixture(scope="module")
def task():
    return get_task(TaskConfig(name="gsm8k"))


@pytest.fixture(scope="module")
def needs_gsm8k(data_file):
    data_file("gsm8k/train.jsonl")
    data_file("gsm8k/test.jsonl")


@pytest.fixture(scope="module")
def test_records(needs_gsm8k, task):
    return task.load("test")


def test_parse_solution():
    steps, answer = parse_solution(
        "He has 48/2 = <<48/2=24>>24.\n\nSo 24+1,056 = <<24+1056=1080>>1,080.\n#### 1,080"
    )
    assert steps == ["He has 48/2 = 24.", "So 24+1,056 = 1,080."]
    assert answer == "1080"
    with pytest.raises(ValueError, match="####"):
        parse_solution("no final answer")


def test_all_1319_gold_solutions_grade_correct_and_changed_answers_wrong(task, test_records):
    assert len(test_records) == 1319
    correct = sum(task.grade(r.target, r) for r in test_records)
    assert correct == 1319
    changed = [
        r.target.replace(f"<answer>\n{r.answer}\n</answer>", f"<answer>\n{int(r.answer) + 1}\n</answer>")
        for r in test_records
    ]
    assert all(c != r.target for c, r in zip(changed, test_records))
    assert sum(task.grade(c, r) for c, r in zip(changed, test_records)) == 0


def test_targets_are_clean_steps(test_records):
    for record in test_records:
        assert "<<" not in record.target and "####" not in record.target
        spans = segment_steps(record.target)
        assert len(spans) >= 2 and spans[-1].text.startswith("<answer>")
        assert extract_answer(record.target) == record.answer
        assert "," not in record.answer and int(record.answer) == int(record.answer)
    first = test_records[0]
    assert first.problem_id == "gsm8k-test-0" and first.answer == "18"
    assert first.target.startswith("<think>\nJanet sells 16 - 3 - 4 = 9 duck eggs a day.\n")


def test_answer_normalisation(task, test_records):
    record = next(r for r in test_records if int(r.answer) >= 1000)
    n = int(record.answer)
    for written in (
        f"{n:,}",
        f"${n:,}",
        f"{n}.0",
        f"{n}.",
        f"{n}.00",
        f"\\boxed{{{n}}}",
        f"${n}$",
        f"{n} dollars",
        f"0{n}",
    ):
        assert task.grade(format_completion(["x"], written), record), written
    for written in (f"{n + 1}", f"{n}1", f"{n} + 1", "", f"{n}, {n}"):
        assert not task.grade(format_completion(["x"], written or "?"), record), written
    assert not task.grade(f"The answer is {n}", record)  # no answer block


@pytest.mark.usefixtures("needs_gsm8k")
def test_splits_are_stable_and_disjoint(task):
    train, validation = task.load("train"), task.load("validation")
    assert (len(train), len(validation)) == (6681, 792)  # 7,473 train rows, validation by id hash
    assert not {r.problem_id for r in train} & {r.problem_id for r in validation}
    assert all(r.problem_id.startswith("gsm8k-train-") for r in train + validation)
    assert [r.problem_id for r in get_task(TaskConfig(name="gsm8k")).load("validation")] == [
        r.problem_id for r in validation
    ]


@pytest.mark.usefixtures("needs_gsm8k")
def test_num_demonstrations_and_max_problems():
    task = get_task(TaskConfig(name="gsm8k", num_demonstrations=50, max_problems=300))
    train = task.load("train")
    assert len(train) == 300 and sum(r.target is not None for r in train) == 50
    assert all(r.target is not None for r in task.load("validation"))
