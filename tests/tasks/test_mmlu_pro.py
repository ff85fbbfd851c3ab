"""MMLU-Pro (12,032 questions): letters and texts of gold options correct, of distractors wrong."""

from __future__ import annotations

import json

import pytest

from reasoning_irl.config.task import TaskConfig
from reasoning_irl.io import DataFileError
from reasoning_irl.tasks import get_task
from reasoning_irl.tasks.mmlu_pro import LOCAL_FILE, in_mmlu_pro_test, read_mmlu_pro_zip
from reasoning_irl.text import format_completion


@pytest.fixture(scope="module")
def task():
    return get_task(TaskConfig(name="mmlu_pro", num_demonstrations=0))


@pytest.fixture(scope="module")
def splits(task, data_file):
    data_file(LOCAL_FILE)
    return {split: task.load(split) for split in ("train", "validation", "test")}


def answer(text: str) -> str:
    return format_completion(["thinking"], text)


def test_carve_by_question_id(splits):
    sizes = {split: len(records) for split, records in splits.items()}
    assert sizes == {"train": 9505, "validation": 1065, "test": 1462}
    ids = {split: {r.meta["question_id"] for r in records} for split, records in splits.items()}
    assert sum(len(v) for v in ids.values()) == 12032
    assert (
        not (ids["train"] & ids["test"])
        and not (ids["validation"] & ids["test"])
        and not (ids["train"] & ids["validation"])
    )
    assert all(in_mmlu_pro_test(q, 0.125) for q in ids["test"])
    assert splits["test"][0].meta["category"] and splits["test"][0].problem_id.startswith("mmlu_pro-")


def test_only_original_fields_are_read(data_file):
    rows = read_mmlu_pro_zip(data_file(LOCAL_FILE))
    assert len(rows) == 12032
    assert set(rows[0]) == {
        "question_id",
        "question",
        "options",
        "answer",
        "answer_index",
        "cot_content",
        "category",
        "src",
    }
    # one row's answer_index disagrees with its letter; the letter is used (and is the right answer)
    mismatched = [r["question_id"] for r in rows if "ABCDEFGHIJ"[r["answer_index"]] != r["answer"]]
    assert mismatched == [3983]


def test_gold_and_distractors_grade_honestly(task, splits):
    records = [r for rs in splits.values() for r in rs]
    gold_letter_wrong = [r.problem_id for r in records if not task.grade(answer(r.meta["answer_letter"]), r)]
    gold_full_wrong = [r.problem_id for r in records if not task.grade(answer(r.answer), r)]
    gold_text_wrong = [r.problem_id for r in records if not task.grade(answer(r.meta["answer_text"]), r)]
    assert gold_letter_wrong == [] and gold_full_wrong == []
    # The one gold text graded wrong is a bare letter: question 8057 ("which vowel …") has gold
    # option B whose text is "E"; a bare "E" is read as the label E (another option).
    assert gold_text_wrong == ["mmlu_pro-8057"]
    distractors = letter_right = text_right = full_right = 0
    right_texts = []
    for r in records:
        options = r.meta["options"]
        for letter, full in zip(r.meta["distractor_letters"], r.meta["distractors"]):
            distractors += 1
            text = options["ABCDEFGHIJ".index(letter)]
            letter_right += task.grade(answer(letter), r)
            full_right += task.grade(answer(full), r)
            if task.grade(answer(text), r):
                text_right += 1
                right_texts.append((r.problem_id, text))
    assert distractors == 101963
    assert letter_right == 0 and full_right == 0
    # No distractor repeats the gold text verbatim (45 do up to case, e.g. genotypes "Bb Bb" /
    # "bb bb": case decides). The one distractor text graded right is again a bare letter: question
    # 3540 lists the element "B" (boron) as option D, and its gold letter is B.
    assert right_texts == [("mmlu_pro-3540", "B")]


def test_training_needs_expert_traces(data_file, tmp_path):
    data_file(LOCAL_FILE)
    with pytest.raises(DataFileError, match="task.expert_traces_path="):
        get_task(TaskConfig(name="mmlu_pro")).load("train")
    traces = tmp_path / "traces.jsonl"
    traces.write_text(
        json.dumps({"problem_id": "mmlu_pro-11286", "reasoning": "LIFO means last in, first out.\n\nSo C."})
        + "\n"
        + json.dumps(
            {"problem_id": "mmlu_pro-11288", "target": "<think>\nx\n</think>\n<answer>\nA\n</answer>"}
        )
        + "\n"
    )
    task = get_task(TaskConfig(name="mmlu_pro", expert_traces_path=str(traces)))
    train = task.load("train")
    with_target = [r for r in train if r.target is not None]
    assert [r.problem_id for r in with_target] == ["mmlu_pro-11286"]
    assert (
        with_target[0].target
        == "<think>\nLIFO means last in, first out.\nSo C.\n</think>\n<answer>\nC. LIFO memory\n</answer>"
    )
    assert task.grade(with_target[0].target, with_target[0])
    assert "split_rule" in task.describe() and "question_id" in task.describe()["split_rule"]
