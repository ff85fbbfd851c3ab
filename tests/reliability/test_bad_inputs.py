"""The bad-input matrix (issue 8 §2, docs/RELIABILITY.md): one test per row not already covered by a
component test. Each bad evaluation input runs over an output folder that already holds an earlier
evaluation, and checks the error names the offending value, says what to do, and that the earlier
``samples.jsonl`` / ``metrics.json`` are byte-for-byte intact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reasoning_irl import faults
from reasoning_irl.eval.modes import build_config, run_evaluation
from reasoning_irl.io import DataFileError
from reasoning_irl.tasks import get_task

OUTPUTS = ("samples.jsonl", "metrics.json")


def _rows(problems: int = 4, n: int = 2) -> list[dict]:
    task = get_task(build_config().task)
    rows = []
    for record in task.load("validation")[:problems]:
        for s in range(n):
            rows.append({"prompt": record.prompt, "completion": record.target, "answer": record.answer,
                         "problem_id": record.problem_id, "sample_idx": s})
    return rows


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _cfg(path: Path, out: Path, **extra):
    return build_config({"eval.mode": "pregenerated_policy", "eval.pregenerated_jsonl_path": str(path),
                         "eval.compute_policy_log_probs": False, "eval.output_dir": str(out),
                         "eval.split": "validation", "eval.bootstrap_resamples": 20, "eval.ks": [1, 2], **extra})


@pytest.fixture
def earlier(tmp_path):
    """An output folder holding a finished evaluation; returns (folder, its files' bytes)."""
    out = tmp_path / "out"
    run_evaluation(_cfg(_write(tmp_path / "good.jsonl", _rows()), out))
    return out, {name: (out / name).read_bytes() for name in OUTPUTS}


def _intact(earlier) -> None:
    out, files = earlier
    assert {name: (out / name).read_bytes() for name in OUTPUTS} == files
    assert not list(out.glob(".*.tmp"))


def test_missing_input_file(tmp_path, earlier):
    with pytest.raises(DataFileError, match=r"nope\.jsonl does not exist \(eval\.pregenerated_jsonl_path\)"):
        run_evaluation(_cfg(tmp_path / "nope.jsonl", earlier[0]))
    _intact(earlier)


def test_empty_input_file(tmp_path, earlier):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(DataFileError, match=r"empty\.jsonl holds no rows; check the file"):
        run_evaluation(_cfg(empty, earlier[0]))
    _intact(earlier)


def test_invalid_utf8_names_the_line(tmp_path, earlier):
    path = _write(tmp_path / "bad.jsonl", _rows())
    path.write_bytes(path.read_bytes() + b'{"prompt": "\xff\xfe"}\n')
    with pytest.raises(DataFileError, match=r"bad\.jsonl:9: not valid UTF-8 .*re-encode the file as UTF-8"):
        run_evaluation(_cfg(path, earlier[0]))
    _intact(earlier)


def test_wrong_field_type_names_the_field_and_line(tmp_path, earlier):
    rows = _rows()
    rows[3]["completion"] = 42
    with pytest.raises(DataFileError, match=r"bad\.jsonl:4: 'completion' must be a string, got int"):
        run_evaluation(_cfg(_write(tmp_path / "bad.jsonl", rows), earlier[0]))
    _intact(earlier)


def test_empty_completions_are_graded_wrong_not_an_error(tmp_path):
    rows = _rows()
    for r in rows[::2]:
        r["completion"] = ""
    out = tmp_path / "out"
    metrics = run_evaluation(_cfg(_write(tmp_path / "in.jsonl", rows), out))
    written = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(written) == len(rows)
    assert [r["correct"] for r in written] == [False, True] * 4
    assert metrics["pass_at_k"]["1"]["mean"] == pytest.approx(0.5)


def test_answers_in_unusual_unicode_are_graded_and_round_trip(tmp_path):
    rows = _rows(problems=3, n=2)
    fullwidth = str.maketrans("0123456789-", "０１２３４５６７８９－")
    unusual = [lambda a: a.translate(fullwidth), lambda a: a.replace("-", "\u2212") + "\u200b",
               lambda a: a + " 😀", lambda a: "e\u0301" + a, lambda a: "\u202e" + a, lambda a: "½"]
    for r, make in zip(rows, unusual):
        r["completion"] = r["completion"].replace(f"<answer>\n{r['answer']}", f"<answer>\n{make(r['answer'])}")
    out = tmp_path / "out"
    metrics = run_evaluation(_cfg(_write(tmp_path / "in.jsonl", rows), out))
    written = [json.loads(line) for line in (out / "samples.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["completion"] for r in written] == [r["completion"] for r in rows]  # exact text kept
    assert all(isinstance(r["correct"], bool) for r in written)
    assert metrics["n_samples"] == 6


def test_output_folder_that_cannot_be_written(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(OSError, match=r"eval\.output_dir='.*a_file/out' cannot be written .*writable folder"):
        run_evaluation(_cfg(_write(tmp_path / "in.jsonl", _rows()), blocker / "out"))
    assert blocker.read_text() == "not a folder"


def test_write_failing_half_way_keeps_the_previous_results(tmp_path, earlier):
    """A simulated failing write (REASONING_IRL_FAULT=eval_write:5:raise) in the middle of samples.jsonl."""
    try:
        faults.configure("eval_write:5:raise")
        with pytest.raises(faults.InjectedFault, match="eval_write"):
            run_evaluation(_cfg(_write(tmp_path / "in.jsonl", _rows()), earlier[0]))
    finally:
        faults.configure("")
    _intact(earlier)


def test_checkpoint_write_failing_half_way_keeps_the_previous_checkpoint(tmp_path):
    import torch

    from reasoning_irl.trainers.checkpoint import latest_complete_checkpoint, save_checkpoint, step_dir

    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.AdamW(model.parameters())
    save_checkpoint(step_dir(tmp_path, 2), step=2, optimizer=optimizer, state={"x": 1})
    try:
        faults.configure("checkpoint_write:1:raise")
        with pytest.raises(faults.InjectedFault):
            save_checkpoint(step_dir(tmp_path, 4), step=4, optimizer=optimizer, state={"x": 2})
    finally:
        faults.configure("")
    assert latest_complete_checkpoint(tmp_path) == step_dir(tmp_path, 2)
    assert not step_dir(tmp_path, 4).exists()


def test_unknown_task_names_it_and_lists_the_known_ones():
    from reasoning_irl.config.task import TaskConfig

    with pytest.raises(ValueError, match=r"unknown task 'arithmetic'; known tasks: .*arith"):
        get_task(TaskConfig(name="arithmetic"))


def test_fault_spec_errors_are_clear():
    with pytest.raises(ValueError, match=r"REASONING_IRL_FAULT='disc_update'.*name:count"):
        faults.parse("disc_update")
    with pytest.raises(ValueError, match="action 'boom'"):
        faults.parse("disc_update:1:boom")
    assert faults.parse("a:2, b:1:raise") == {"a": [2, "kill", 0], "b": [1, "raise", 0]}
