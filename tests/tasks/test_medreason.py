"""MedReason: the MedQA test split offline (1,273 questions), hub-only train with a clear error."""

from __future__ import annotations

import json

import pytest

from reasoning_irl.config.task import TaskConfig
from reasoning_irl.io import DataFileError
from reasoning_irl.tasks import get_task
from reasoning_irl.tasks.medreason import TEST_FILE, parse_options
from reasoning_irl.text import format_completion


def answer(text: str) -> str:
    return format_completion(["thinking"], text)


@pytest.fixture(scope="module")
def test_records(data_file):
    data_file(TEST_FILE)
    return get_task(TaskConfig(name="medreason")).load("test")


def test_medqa_gold_and_distractors(test_records):
    task = get_task(TaskConfig(name="medreason"))
    assert len(test_records) == 1273
    first = test_records[0]
    assert first.problem_id == "medqa-test-0"
    assert first.answer == "C. Tell the attending that he cannot fail to disclose this mistake"
    assert first.question.endswith("\nE. Refuse to dictate the operative report")
    assert first.meta["meta_info"] == "step1" and first.meta["letters"] == list("ABCDE")
    for form in ("answer_letter", "answer_text"):
        assert sum(task.grade(answer(r.meta[form]), r) for r in test_records) == 1273
    assert sum(task.grade(answer(r.answer), r) for r in test_records) == 1273
    distractors = [(d, r) for r in test_records for d in r.meta["distractors"]]
    assert len(distractors) == 4 * 1273
    assert sum(task.grade(answer(d), r) for d, r in distractors) == 0
    assert sum(task.grade(answer(d[0]), r) for d, r in distractors) == 0  # the letter alone
    assert sum(task.grade(answer(d[3:]), r) for d, r in distractors) == 0  # the text alone


def test_train_needs_the_hub_offline(no_hub):
    for split in ("train", "validation"):
        with pytest.raises(DataFileError, match=r"UCSC-VLAA/MedReason.*task\.data_dir"):
            get_task(TaskConfig(name="medreason", expert_traces_path="unused.jsonl")).load(split)


def test_local_medreason_copy(tmp_path, data_file):
    medqa = data_file(TEST_FILE)
    (tmp_path / "medqa").mkdir()
    (tmp_path / "medqa" / "medqa_test.jsonl").write_text(medqa.read_text())
    leaked = json.loads(medqa.read_text().splitlines()[0])
    rows = [
        {
            "dataset_name": "medmcqa",
            "id_in_dataset": 7,
            "question": "Which vitamin is made in the skin?",
            "options": "Answer Choices:\nA. Vitamin A\nB. Vitamin D\nC. Vitamin C\nD. Vitamin K",
            "answer": "Vitamin D",
        },
        {
            "dataset_name": "medqa",
            "id_in_dataset": 8,
            "question": "Which drug?",
            "options": {"A": "x", "B": "y"},
            "answer": "B. y",
        },
        {
            "dataset_name": "pubmedqa",
            "id_in_dataset": 9,
            "question": "Other source?",
            "options": "A. yes\nB. no",
            "answer": "A",
        },
        {
            "dataset_name": "medqa",
            "id_in_dataset": 10,
            "question": leaked["question"],
            "options": leaked["options"],
            "answer": leaked["answer"],
        },  # a MedQA test question: excluded from train
        {
            "dataset_name": "medqa",
            "id_in_dataset": 11,
            "question": "Unreadable gold?",
            "options": "A. p\nB. q",
            "answer": "r",
        },
    ]
    (tmp_path / "medreason").mkdir()
    (tmp_path / "medreason" / "medreason.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    task = get_task(
        TaskConfig(name="medreason", data_dir=str(tmp_path), validation_fraction=0.0, num_demonstrations=0)
    )
    train = task.load("train")
    assert [r.problem_id for r in train] == ["medreason-medmcqa-7", "medreason-medqa-8"]
    assert [r.answer for r in train] == ["B. Vitamin D", "B. y"]
    assert task.describe()["skipped_rows_without_gold_option"] == 1
    assert task.load("validation") == []


def test_parse_options():
    assert parse_options({"B": "y", "A": "x"}) == ["x", "y"]
    assert parse_options("A) one\n(B) two\nC: three") == ["one", "two", "three"]
    with pytest.raises(ValueError, match="A, B, C"):
        parse_options("B. no A")
