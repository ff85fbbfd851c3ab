"""Token views: tokens from the run's own tokenizer (saved in its checkpoint), or the scored spans of
samples.jsonl when there is none; values are the stored rewards; steps are marked."""

import json
import shutil
from pathlib import Path

import pytest

from reasoning_irl.plots.jobs import tokens_job
from reasoning_irl.plots.tokens import build_view, colour_views, select_pairs

EVAL = (Path(__file__).resolve().parents[1] / "fixtures" / "run" / "best" / "eval"
        / "pregenerated_policy_and_reward_arith")


def rows():
    return [json.loads(line) for line in (EVAL / "samples.jsonl").read_text().splitlines()]


def test_view_from_stored_spans_partitions_the_completion():
    row = rows()[1]
    view, warning = build_view(row, None, "reward")
    assert warning is None and view.token_source == "scored positions"
    text = "".join(t.text for t in view.tokens if not t.special)
    assert text == row["completion"]
    positions = row["reward"]["positions"]
    assert [t.reward for t in view.tokens if t.scored] == [p["reward"] for p in positions]
    assert [t.value for t in view.tokens] == [t.reward for t in view.tokens]
    assert view.tokens[-1].special and view.tokens[-1].text == positions[-1]["token"]  # EOS, shown by name
    assert sum(t.step_end for t in view.tokens) == len(row["steps"])
    assert view.first_error_step == 3 and not view.correct
    score_view, _ = build_view(row, None, "score")
    assert [t.value for t in score_view.tokens if t.scored] == [p["score"] for p in positions]


def test_pairs_take_best_correct_and_worst_wrong():
    pairs = select_pairs(EVAL / "samples.jsonl", 2)
    assert len(pairs) == 2
    by_problem = {}
    for row in rows():
        by_problem.setdefault(row["problem_id"], []).append(row)
    for correct, wrong in pairs:
        assert correct["correct"] and not wrong["correct"] and correct["problem_id"] == wrong["problem_id"]
        samples = by_problem[correct["problem_id"]]
        assert correct["reward"]["sequence_score"] == max(r["reward"]["sequence_score"]
                                                          for r in samples if r["correct"])
        assert wrong["reward"]["sequence_score"] == min(r["reward"]["sequence_score"]
                                                        for r in samples if not r["correct"])


def test_colours_share_one_symmetric_scale():
    views = [build_view(row, None)[0] for row in rows()[:4]]
    limit = colour_views(views)
    assert limit == max(abs(t.value) for v in views for t in v.tokens if t.value is not None)
    strongest = max((t for v in views for t in v.tokens), key=lambda t: abs(t.value))
    assert strongest.colour in ("#053061", "#67001f")  # an end of RdBu


def test_views_use_the_tokenizer_saved_in_the_run(tmp_path):
    """The fixture was scored by the tiny model; a run folder holding its tokenizer gives one view token per
    model token, aligned with the stored positions."""
    from reasoning_irl.config.model import ModelConfig
    from reasoning_irl.models.loading import load_tokenizer

    tokenizer = load_tokenizer("tiny", ModelConfig())
    folder = tmp_path / "run" / "best" / "reward_model"
    tokenizer.save_pretrained(folder)
    shutil.copytree(EVAL, tmp_path / "eval")
    result = tokens_job(tmp_path / "out", "tiny", tmp_path / "eval" / "samples.jsonl", (folder,),
                        {"prompts": 1, "value": "reward", "line_width": 60})
    assert not result.messages, result.messages
    view = result.data["pairs"][0][0]
    assert view["token_source"] == "tokenizer"
    row = next(r for r in rows() if r["problem_id"] == view["problem_id"] and r["sample_idx"] == view["sample_idx"])
    assert len(view["tokens"]) == row["reward"]["num_completion_tokens"]
    assert "".join(t["text"] for t in view["tokens"] if not t["special"]) == row["completion"]
    scored = [i for i, t in enumerate(view["tokens"]) if t["scored"]]
    assert scored == [p["token_index"] for p in row["reward"]["positions"]]
    assert [p.name for p in result.paths] == ["pair_0.png", "pair_0.pdf"]


@pytest.mark.parametrize("value", ["reward", "score"])
def test_tokens_job_writes_figures_from_spans(tmp_path, value):
    result = tokens_job(tmp_path, "fixture", EVAL / "samples.jsonl", (), {"prompts": 2, "value": value,
                                                                            "line_width": 40})
    assert [p.name for p in result.paths] == ["pair_0.png", "pair_0.pdf", "pair_1.png", "pair_1.pdf"]
    assert all(p.stat().st_size > 1000 for p in result.paths)
    assert result.data["value"] == value and "spans stored in samples.jsonl" in result.messages[0]
