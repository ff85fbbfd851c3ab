"""Input rows → problems (aliases, streaming, errors) and the atomic samples.jsonl writer."""

import json

import pytest

from reasoning_irl.eval.samples import SampleWriter, iter_problems, iter_rows, normalise_row
from reasoning_irl.io import DataFileError


def _write(path, rows):
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def _row(pid, idx, completion="<answer>\n1\n</answer>", answer="1"):
    return {
        "prompt": f"question {pid}",
        "completion": completion,
        "answer": answer,
        "problem_id": pid,
        "sample_idx": idx,
    }


def test_reference_fields_are_mapped():
    s = normalise_row(
        {
            "prompt": [{"role": "user", "content": "q"}],
            "generation": {"content": "text"},
            "generation_idx": 3,
            "answer": "7",
        },
        1,
    )
    assert (s.completion, s.sample_idx, s.answer) == ("text", 3, "7")
    assert s.problem_id.startswith("prompt-")  # derived from the prompt when absent


def test_processbench_style_rows():
    s = normalise_row({"id": "gsm8k-1", "problem": "p", "steps": ["a\nb", "c"], "label": 1}, 1)
    assert s.completion == "a\nb\n\nc" and s.first_error_step == 1 and s.has_truth
    assert normalise_row({"problem": "p", "steps": ["a"], "label": -1}, 1).first_error_step is None


def test_problems_are_grouped_and_streamed(tmp_path):
    path = _write(tmp_path / "in.jsonl", [_row("a", 0), _row("a", 1), _row("b", 1), _row("b", 0)])
    problems = list(iter_problems(iter_rows(path), path=path))
    assert [p.problem_id for p in problems] == ["a", "b"]
    assert [s.sample_idx for s in problems[1].samples] == [1, 0]
    assert len(list(iter_problems(iter_rows(path), max_problems=1))) == 1


def test_malformed_line_names_its_number(tmp_path):
    path = _write(tmp_path / "in.jsonl", [_row("a", 0), "{not json", _row("a", 1)])
    with pytest.raises(DataFileError, match=r"in.jsonl:2"):
        list(iter_problems(iter_rows(path)))


def test_missing_field_is_named(tmp_path):
    row = _row("a", 0)
    del row["completion"]
    path = _write(tmp_path / "in.jsonl", [row])
    with pytest.raises(DataFileError, match=r"in.jsonl:1.*'completion'"):
        list(iter_rows(path))


def test_a_row_without_answer_is_joined_later_and_null_means_no_gold(tmp_path):
    row = _row("a", 0)
    del row["answer"]
    null = {**_row("b", 0), "answer": None}
    path = _write(tmp_path / "in.jsonl", [row, null])
    first, second = list(iter_rows(path))
    assert first.join_by_prompt and first.answer is None
    assert not second.join_by_prompt and second.answer is None


def test_ragged_problems_need_allow_ragged(tmp_path):
    path = _write(tmp_path / "in.jsonl", [_row("a", 0), _row("a", 1), _row("b", 0)])
    with pytest.raises(DataFileError, match="allow_ragged"):
        list(iter_problems(iter_rows(path), path=path))
    assert [len(p.samples) for p in iter_problems(iter_rows(path), allow_ragged=True)] == [2, 1]


def test_not_prompt_major_and_duplicates(tmp_path):
    path = _write(tmp_path / "in.jsonl", [_row("a", 0), _row("b", 0), _row("a", 1)])
    with pytest.raises(DataFileError, match="prompt-major"):
        list(iter_problems(iter_rows(path), allow_ragged=True))
    path = _write(tmp_path / "dup.jsonl", [_row("a", 0), _row("a", 0)])
    with pytest.raises(DataFileError, match="sample_idx"):
        list(iter_problems(iter_rows(path)))


def test_nan_scores_in_input_are_an_error(tmp_path):
    row = _row("a", 0)
    row["reward"] = {"sequence_score": float("nan"), "scores": [0.1]}
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(row) + "\n")  # json writes NaN, as some tools do
    with pytest.raises(DataFileError, match="NaN"):
        list(iter_rows(path))


def test_writer_is_atomic(tmp_path):
    target = tmp_path / "samples.jsonl"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), SampleWriter(target) as writer:
        writer.write({"a": 1})
        raise RuntimeError("boom")
    assert target.read_text() == "old\n" and list(tmp_path.iterdir()) == [target]
    with SampleWriter(target) as writer:
        writer.write({"a": 1})
        writer.commit()
    assert target.read_text() == '{"a": 1}\n'
    with pytest.raises(ValueError, match="NaN"), SampleWriter(target) as writer:
        writer.write({"x": float("nan")})
    assert target.read_text() == '{"a": 1}\n'


def test_outputs_are_readable_like_any_file(tmp_path):
    """``samples.jsonl`` and every atomic write get 0666 & ~umask, not mkstemp's 0600 (io.temp_file_beside)."""
    import os
    import stat

    from reasoning_irl.io import atomic_write_text

    old = os.umask(0o022)
    try:
        with SampleWriter(tmp_path / "samples.jsonl") as writer:
            writer.write({"problem_id": "p"})
            writer.commit()
        atomic_write_text(tmp_path / "metrics.json", "{}\n")
    finally:
        os.umask(old)
    for name in ("samples.jsonl", "metrics.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644
