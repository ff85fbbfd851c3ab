"""Bad input: unknown task, missing files, malformed rows, expert trace files, the hub unreachable."""

from __future__ import annotations

import json

import pytest

from reasoning_irl.config.task import TaskConfig
from reasoning_irl.io import DataFileError
from reasoning_irl.tasks import get_task, known_tasks
from reasoning_irl.tasks.base import Record
from reasoning_irl.tasks.sources import attach_expert_traces, finish_split, load_hub_rows

GSM8K_ROW = {"question": "What is 1 + 1?", "answer": "1 + 1 = <<1+1=2>>2.\n#### 2"}


def write_gsm8k(folder, lines: list[str]) -> None:
    (folder / "gsm8k").mkdir(exist_ok=True)
    (folder / "gsm8k" / "train.jsonl").write_text("".join(line + "\n" for line in lines))


def test_unknown_task_lists_the_known_ones():
    with pytest.raises(
        ValueError,
        match="unknown task 'gsm9k'; known tasks: "
        "aime, arith, gsm8k, math500, medreason, mmlu_pro, processbench",
    ):
        get_task(TaskConfig(name="gsm9k"))
    assert known_tasks() == ["aime", "arith", "gsm8k", "math500", "medreason", "mmlu_pro", "processbench"]


def test_missing_data_file_names_it(tmp_path):
    for name, split in (
        ("gsm8k", "test"),
        ("math500", "test"),
        ("aime", "test"),
        ("processbench", "test"),
        ("mmlu_pro", "test"),
    ):
        with pytest.raises(DataFileError, match=rf"{tmp_path}/\S+ does not exist.*task\.data_dir"):
            get_task(TaskConfig(name=name, data_dir=str(tmp_path))).load(split)
    with pytest.raises(DataFileError, match="medqa/medqa_test.jsonl"):
        get_task(TaskConfig(name="medreason", data_dir=str(tmp_path))).load("test")


def test_malformed_jsonl_row_names_its_line(tmp_path):
    good = json.dumps(GSM8K_ROW)
    write_gsm8k(tmp_path, [good, "", good, '{"question": "broken", '])
    with pytest.raises(DataFileError, match=r"train\.jsonl:4: invalid JSON"):
        get_task(TaskConfig(name="gsm8k", data_dir=str(tmp_path))).load("train")
    write_gsm8k(tmp_path, [good, json.dumps({"question": "no answer"})])
    with pytest.raises(DataFileError, match=r"train\.jsonl:2: row lacks field\(s\) answer"):
        get_task(TaskConfig(name="gsm8k", data_dir=str(tmp_path))).load("train")
    write_gsm8k(tmp_path, [good, json.dumps({"question": "q", "answer": "no final line"})])
    with pytest.raises(DataFileError, match=r"row 2: a GSM8K solution has exactly one '####'"):
        get_task(TaskConfig(name="gsm8k", data_dir=str(tmp_path))).load("train")


def test_local_folder_is_used(tmp_path):
    write_gsm8k(tmp_path, [json.dumps(GSM8K_ROW)] * 3)
    task = get_task(TaskConfig(name="gsm8k", data_dir=str(tmp_path), validation_fraction=0.0))
    records = task.load("train")
    assert [r.problem_id for r in records] == ["gsm8k-train-0", "gsm8k-train-1", "gsm8k-train-2"]
    assert records[0].target == "<think>\n1 + 1 = 2.\n</think>\n<answer>\n2\n</answer>"
    assert task.describe()["sources"]["train"].endswith("gsm8k/train.jsonl")


def test_hub_failure_names_the_dataset_and_the_fix(no_hub):
    with pytest.raises(DataFileError) as err:
        load_hub_rows("openai/gsm8k", "train", config_name="main", local_hint="'gsm8k/train.jsonl'")
    message = str(err.value)
    assert "openai/gsm8k" in message and "task.data_dir" in message and "gsm8k/train.jsonl" in message


def records(n: int) -> list[Record]:
    return [Record(f"p-{i}", "q", "B. yes", [], target=None, meta={}) for i in range(n)]


def cfg(path=None, **overrides) -> TaskConfig:
    return TaskConfig(name="mmlu_pro", expert_traces_path=str(path) if path else None, **overrides)


def test_expert_trace_file(tmp_path):
    path = tmp_path / "traces.jsonl"
    path.write_text(
        json.dumps({"problem_id": "p-0", "reasoning": "line one\n\n  line two  "})
        + "\n"
        + json.dumps({"problem_id": "p-2", "target": "<think>\nx\n</think>\n<answer>\nB\n</answer>"})
        + "\n"
        + json.dumps({"problem_id": "elsewhere", "target": "<answer>A</answer>"})
        + "\n"
    )
    recs = records(3)
    attach_expert_traces(recs, cfg(path), "train")
    assert recs[0].target == "<think>\nline one\nline two\n</think>\n<answer>\nB. yes\n</answer>"
    assert recs[1].target is None
    assert recs[2].target == "<think>\nx\n</think>\n<answer>\nB\n</answer>"


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            [{"problem_id": "p-0", "reasoning": "a"}, {"problem_id": "p-0", "reasoning": "b"}],
            r":2: problem_id 'p-0' repeats line 1",
        ),
        ([{"reasoning": "a"}], r":1: expert trace row needs a string 'problem_id'"),
        ([{"problem_id": "p-0"}], r":1: an expert trace row needs 'target' or 'reasoning'"),
        ([{"problem_id": "p-0", "target": "no answer block"}], r":1: target has no <answer>"),
        (
            [{"problem_id": "q-0", "reasoning": "a"}],
            r"none of the 1 traces .* matches a train problem .*'p-0'",
        ),
    ],
)
def test_bad_expert_trace_files(tmp_path, lines, message):
    path = tmp_path / "traces.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    with pytest.raises(DataFileError, match=message):
        attach_expert_traces(records(2), cfg(path), "train")


def test_traces_required_unless_no_demonstrations(tmp_path):
    with pytest.raises(DataFileError, match="pass task.expert_traces_path=.*or task.num_demonstrations=0"):
        attach_expert_traces(records(2), cfg(), "train")
    with pytest.raises(DataFileError, match="does not exist"):
        attach_expert_traces(records(2), cfg(tmp_path / "missing.jsonl"), "validation")
    attach_expert_traces(records(2), cfg(num_demonstrations=0), "train")  # prompts only: fine
    attach_expert_traces(records(2), cfg(), "test")  # test needs no traces


def test_finish_split_demonstrations_are_a_hash_order_not_the_file_order():
    recs = records(100)
    for r in recs:
        r.target = "t"
    kept = [r.problem_id for r in finish_split(recs, "train", cfg(num_demonstrations=10)) if r.target]
    assert len(kept) == 10 and kept != [f"p-{i}" for i in range(10)]
    again = records(100)
    for r in again:
        r.target = "t"
    other_seed = [
        r.problem_id for r in finish_split(again, "train", cfg(num_demonstrations=10, seed=1)) if r.target
    ]
    assert other_seed != kept
