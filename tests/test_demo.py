"""The demo's summary of what ``best/`` holds."""

import json

from reasoning_irl.demo import describe_selection


def _run(tmp_path, reward_step):
    (tmp_path / "best").mkdir(parents=True)
    selection = {"policy": {"step": 40, "metric": "validation_nll", "value": 0.035},
                 "reward_model": {"step": reward_step, "metric": "validation_auroc", "value": 0.9875}}
    (tmp_path / "best" / "selection.json").write_text(json.dumps(selection))
    return tmp_path


def test_selection_names_each_step_and_flags_an_untrained_reward_model(tmp_path):
    text = describe_selection(_run(tmp_path / "a", reward_step=0))
    assert "best/policy: step 40 (by validation_nll = 0.035)" in text
    assert "best/reward_model: step 0 (by validation_auroc = 0.9875)" in text
    assert "reward model at initialisation" in text
    assert "initialisation" not in describe_selection(_run(tmp_path / "b", reward_step=30))
