"""The demo's summary of what ``best/`` holds."""

import json
import os

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


def test_quiet_libraries_silences_library_noise_but_not_ours(capsys, monkeypatch):
    import warnings

    monkeypatch.setenv("WANDB_SILENT", "unset")  # restored after the test
    monkeypatch.delenv("WANDB_SILENT")

    import datasets
    from transformers.utils import logging as hf_logging

    from reasoning_irl.demo import quiet_libraries

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            quiet_libraries()
            for module in ("transformers.training_args", "trl.trainer.sft_trainer", "reasoning_irl.trainers.sft"):
                warnings.warn_explicit("`x` is deprecated", FutureWarning, "f.py", 1, module=module)
        assert [w.message.args[0] for w in caught] == ["`x` is deprecated"]  # ours only
        assert not hf_logging.is_progress_bar_enabled() and os.environ["WANDB_SILENT"] == "true"
        datasets.Dataset.from_dict({"a": list(range(50))}).map(lambda row: row,
                                                               desc="Building labels for train dataset")
        assert "Building labels" not in capsys.readouterr().err
    finally:
        datasets.enable_progress_bars()
        hf_logging.enable_progress_bar()
