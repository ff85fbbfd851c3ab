"""The run folder: config, deterministic metrics log, run info, resume truncation, main-process only."""

from __future__ import annotations

import json
import logging

import pytest
import yaml

from reasoning_irl.config.schema import TrainSFTConfig
from reasoning_irl.trainers.run import Run, is_main_process


def _cfg(tmp_path, **logging_overrides) -> TrainSFTConfig:
    cfg = TrainSFTConfig(run_name="unit", output_root=str(tmp_path))
    cfg.logging.wandb_mode = "disabled"
    cfg.logging.progress_bar = False
    for key, value in logging_overrides.items():
        setattr(cfg.logging, key, value)
    return cfg


def _log_steps(run: Run, steps) -> None:
    for step in steps:
        run.log(step, {"loss": 1.0 / step, "lr": 0.1}, tokens=100)


def test_files_of_a_run(tmp_path):
    cfg = _cfg(tmp_path)
    with Run.open(cfg, total_steps=4) as run:
        _log_steps(run, range(1, 5))
        with run.timer("evaluation"):
            pass
    assert run.dir == tmp_path / "unit"
    assert yaml.safe_load((run.dir / "config.yaml").read_text())["training"]["learning_rate"] == 1e-3
    rows = [json.loads(line) for line in (run.dir / "metrics.jsonl").read_text().splitlines()]
    assert rows == [{"step": s, "loss": 1.0 / s, "lr": 0.1} for s in range(1, 5)]  # nothing from the clock
    info = json.loads((run.dir / "run_info.json").read_text())
    session = info["sessions"][0]
    assert session["status"] == "finished" and session["versions"]["torch"] and session["host"]
    assert "evaluation" in session["timings_s"] and session["tokens_per_s"] > 0


def test_resume_cuts_the_log_back_so_it_equals_an_uninterrupted_one(tmp_path):
    with Run.open(_cfg(tmp_path), tmp_path / "a") as run:
        _log_steps(run, range(1, 7))
    uninterrupted = (tmp_path / "a" / "metrics.jsonl").read_text()

    with Run.open(_cfg(tmp_path), tmp_path / "b") as run:
        _log_steps(run, range(1, 6))  # crashed after step 5; the last checkpoint was step 3
    with Run.open(_cfg(tmp_path), tmp_path / "b") as run:
        run.resume(3)
        _log_steps(run, range(4, 7))
    assert (tmp_path / "b" / "metrics.jsonl").read_text() == uninterrupted
    sessions = json.loads((tmp_path / "b" / "run_info.json").read_text())["sessions"]
    assert [s["resumed_from_step"] for s in sessions] == [None, 3]


def test_only_the_main_process_writes(tmp_path, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    assert not is_main_process()
    with Run.open(_cfg(tmp_path), total_steps=2) as run:
        _log_steps(run, [1, 2])
        run.resume(1)
    assert not run.is_main and not (tmp_path / "unit").exists()
    monkeypatch.setenv("RANK", "0")
    assert is_main_process()


def test_a_log_line_every_logging_steps(tmp_path, caplog):
    with (
        caplog.at_level(logging.INFO, logger="reasoning_irl"),
        Run.open(_cfg(tmp_path, logging_steps=2)) as run,
    ):
        _log_steps(run, range(1, 6))
        run.log(5, {"validation_nll": 0.5}, force=True)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("step ")]
    assert [line.split()[1] for line in lines] == ["2/?", "4/?", "5/?"]


def test_failure_is_recorded_and_bad_wandb_mode_refused(tmp_path, monkeypatch):
    with pytest.raises(RuntimeError), Run.open(_cfg(tmp_path)):
        raise RuntimeError("boom")
    info = json.loads((tmp_path / "unit" / "run_info.json").read_text())
    assert info["sessions"][-1]["status"] == "failed: RuntimeError"
    monkeypatch.delenv("WANDB_MODE", raising=False)
    with pytest.raises(ValueError, match="wandb_mode=.sometimes."):
        Run.open(_cfg(tmp_path, wandb_mode="sometimes"))


def test_wandb_offline_writes_inside_the_run(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    with Run.open(_cfg(tmp_path, wandb_mode="offline")) as run:
        run.log(1, {"loss": 1.0})
    assert any((run.dir / "wandb").glob("offline-run-*"))
