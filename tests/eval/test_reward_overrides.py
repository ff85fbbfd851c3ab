"""``reward.*`` at evaluation with a trained reward folder: refused when it cannot apply, applied when it can."""

from __future__ import annotations

import json

import pytest

from reasoning_irl.config.model import ModelConfig
from reasoning_irl.config.reward import RewardConfig
from reasoning_irl.config.task import TaskConfig
from reasoning_irl.eval.modes import build_config, run_evaluation
from reasoning_irl.rewards.saving import build_reward_model
from reasoning_irl.tasks import get_task
from reasoning_irl.text.format import format_completion


@pytest.fixture(scope="module")
def trained_min(tmp_path_factory):
    """A saved reward folder trained (as far as its reward_config.json says) with aggregation=min."""
    folder = tmp_path_factory.mktemp("rm") / "reward_model"
    rm = build_reward_model(RewardConfig(head="linear", granularity="step", aggregation="min", head_init_std=0.3),
                            ModelConfig(reward="tiny"), backbone="tiny")
    rm.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def samples_file(tmp_path_factory):
    records = get_task(TaskConfig(name="arith", arith_num_test=4)).load("test")
    rows = [{"prompt": r.prompt, "problem_id": r.problem_id, "answer": r.answer,
             "completion": format_completion(r.target.split("\n")[1:-4], str(int(r.answer) + s))}
            for r in records for s in range(3)]
    path = tmp_path_factory.mktemp("in") / "samples.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _cfg(tmp_path, folder, path, **overrides):
    return build_config({"eval.mode": "pregenerated_policy_and_reward", "eval.compute_policy_log_probs": False,
                         "eval.pregenerated_jsonl_path": str(path), "model.reward": str(folder),
                         "eval.output_dir": str(tmp_path / "out"), "eval.ks": [1],
                         "eval.bootstrap_resamples": 10, **overrides})


def test_model_trained_with_min_reports_its_reward_selector(tmp_path, trained_min, samples_file):
    metrics = run_evaluation(_cfg(tmp_path, trained_min, samples_file))
    selectors = metrics["best_of_n"]["selectors"]
    assert metrics["computed"]["reward_aggregation"] == "min"
    assert selectors["reward"]["available"], selectors["reward"]
    assert selectors["reward"]["success"] == selectors["reward_min"]["success"]
    assert metrics["calibration"]["reward"]["available"]


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"reward.granularity": "dense"}, r"reward\.granularity='dense'.*fixes granularity='step'"),
        ({"reward.head": "log_ratio", "reward.interval_tokens": 8},
         r"reward\.interval_tokens=8, reward\.head='log_ratio': cannot apply.*fixes interval_tokens=15, head='linear'"),
        ({"reward.micro_batch_size": 4}, r"reward\.micro_batch_size=4.*eval\.batch_size"),
        ({"reward.aggregation": "mean", "eval.reward_aggregation": "last"}, "disagree; set one of them"),
    ],
)
def test_overrides_that_cannot_apply_are_refused_before_any_model_loads(
    tmp_path, trained_min, samples_file, monkeypatch, overrides, named
):
    import reasoning_irl.models as models_pkg

    monkeypatch.setattr(models_pkg, "load_causal_lm", lambda *a, **k: pytest.fail("a model was loaded"))
    with pytest.raises(ValueError, match=named) as err:
        run_evaluation(_cfg(tmp_path, trained_min, samples_file, **overrides))
    assert "\n" not in str(err.value)
    assert not (tmp_path / "out" / "metrics.json").exists()


def test_aggregation_applies_and_a_setting_equal_to_the_saved_one_is_harmless(tmp_path, trained_min, samples_file):
    metrics = run_evaluation(_cfg(tmp_path, trained_min, samples_file,
                                  **{"reward.aggregation": "mean", "reward.head": "linear"}))
    assert metrics["computed"]["reward_aggregation"] == "mean"
    selectors = metrics["best_of_n"]["selectors"]
    assert selectors["reward"]["success"] == selectors["reward_mean"]["success"]
    rows = [json.loads(line) for line in (tmp_path / "out" / "samples.jsonl").read_text().splitlines()]
    assert all(r["reward"]["aggregation"] == "mean" for r in rows)
    assert all(r["reward"]["sequence_score"] == pytest.approx(r["reward"]["aggregates"]["mean"]) for r in rows)
