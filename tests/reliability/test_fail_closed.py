"""Evaluation fails closed (issue 17, docs/RELIABILITY.md §2 rows 29–40): a failure leaves the previous
output folder exactly as it was, every setting is checked before any work, and a silently wrong result
(a trace dropped for a false reason, best-of-4 reported as best-of-100, a file read by half) is refused
with a line naming the value."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from reasoning_irl import faults
from reasoning_irl.eval.modes import build_config, run_evaluation
from reasoning_irl.eval.plan import make_plan
from reasoning_irl.eval.samples import iter_rows
from reasoning_irl.io import DataFileError
from reasoning_irl.tasks import get_task

OUTPUTS = ("samples.jsonl", "metrics.json", "run_info.json")


def _rows(problems: int = 4, n: int = 2) -> list[dict]:
    task = get_task(build_config().task)
    rows = []
    for record in task.load("validation")[:problems]:
        for s in range(n):
            rows.append({"prompt": record.prompt, "completion": record.target, "answer": record.answer,
                         "problem_id": record.problem_id, "sample_idx": s,
                         "reward": {"sequence_score": float(s), "aggregation": "last"}})
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
    """An output folder holding a finished evaluation (all its files); returns (folder, their bytes)."""
    out = tmp_path / "out"
    run_evaluation(_cfg(_write(tmp_path / "good.jsonl", _rows()), out))
    return out, {name: (out / name).read_bytes() for name in OUTPUTS}


def _intact(earlier) -> None:
    out, files = earlier
    assert sorted(p.name for p in out.iterdir()) == sorted(files)
    assert {name: (out / name).read_bytes() for name in OUTPUTS} == files
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]  # no staging left


# --- item 1: one swap, finite floats -------------------------------------------------------------

def test_failure_between_the_output_files_leaves_the_folder_as_it_was(tmp_path, earlier):
    """Raised after samples.jsonl is complete, before metrics.json (REASONING_IRL_FAULT=eval_outputs:1:raise)."""
    rows = _rows()
    rows[0]["completion"] += " changed"  # the new run would write other samples
    try:
        faults.configure("eval_outputs:1:raise")
        with pytest.raises(faults.InjectedFault, match="eval_outputs"):
            run_evaluation(_cfg(_write(tmp_path / "new.jsonl", rows), earlier[0]))
    finally:
        faults.configure("")
    _intact(earlier)


@pytest.mark.parametrize("key,value", [("eval.reward_temperature", "inf"), ("eval.discount", "nan"),
                                       ("sampling.temperature", "inf")])
def test_non_finite_float_settings_are_refused_naming_the_key(key, value):
    with pytest.raises(ValueError, match=rf"{key}={value} is not a finite number"):
        build_config({key: value})


def test_a_folder_with_foreign_files_is_not_replaced(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(OSError, match=r"holds files that are not an evaluation's \(notes\.txt\).*new folder"):
        run_evaluation(_cfg(_write(tmp_path / "in.jsonl", _rows()), out))
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_swap_without_an_atomic_exchange_and_a_kill_between_its_renames(tmp_path, monkeypatch):
    import reasoning_irl.io as io
    from reasoning_irl.io import discard_stale_staging, swap_in

    target, staging = tmp_path / "out", tmp_path / ".out.1.x.tmp"
    target.mkdir()
    (target / "metrics.json").write_text("old")
    staging.mkdir()
    (staging / "metrics.json").write_text("new")
    monkeypatch.setattr(io, "_exchange", lambda a, b: False)
    swap_in(staging, target)
    assert (target / "metrics.json").read_text() == "new" and sorted(os.listdir(tmp_path)) == ["out"]
    # A kill between the two renames leaves the previous folder aside as .out.<pid>.old: put back.
    target.rename(tmp_path / ".out.999999999.old")
    discard_stale_staging(target)
    assert (target / "metrics.json").read_text() == "new" and sorted(os.listdir(tmp_path)) == ["out"]


# --- item 5: silently wrong results ---------------------------------------------------------------

def test_first_error_step_beyond_the_steps_names_the_row(tmp_path, earlier):
    rows = _rows()
    for r in rows:
        r["first_error_step"] = 1
    rows[5]["first_error_step"] = 7  # the completions have 4 steps: 3 lines of thought and the answer
    with pytest.raises(DataFileError, match=r"in\.jsonl:6: first_error_step=7 but the trace has 4 steps"):
        run_evaluation(_cfg(_write(tmp_path / "in.jsonl", rows), earlier[0]))
    _intact(earlier)


def test_best_of_n_beyond_the_samples_is_refused(tmp_path, earlier):
    with pytest.raises(ValueError, match=r"eval\.best_of_ns=\[100\]: N=100 exceeds the 2 samples"):
        run_evaluation(_cfg(_write(tmp_path / "in.jsonl", _rows()), earlier[0], **{"eval.best_of_ns": [100]}))
    _intact(earlier)
    generate = build_config({"eval.best_of_ns": [100], "sampling.n_samples": 4})
    with pytest.raises(ValueError, match=r"N=100 exceeds sampling\.n_samples=4"):
        make_plan(generate)  # generate mode: before any model is loaded


def test_input_file_cut_while_being_read_is_refused(tmp_path):
    path = _write(tmp_path / "in.jsonl", _rows())
    rows = iter_rows(path)
    next(rows)
    data = path.read_bytes()
    path.write_bytes(data[: data.index(b"\n", len(data) // 2) + 1])  # cut at a line boundary
    with pytest.raises(DataFileError, match=r"in\.jsonl changed while it was read \(size \d+ → \d+ bytes"):
        list(rows)


@pytest.mark.parametrize("override,message", [
    ({"sampling.n_samples": 0}, r"sampling\.n_samples=0 must be at least 1"),
    ({"seed": -1}, r"seed=-1 must be in \[0, 2\*\*32\)"),  # item 8: numpy refused it after all the work
])
def test_settings_are_checked_when_the_config_is_built(override, message):
    with pytest.raises(ValueError, match=message):
        build_config({"eval.mode": "generate", **override})


@pytest.mark.parametrize("name", ["SFTTrainingConfig", "IRLTrainingConfig", "GRPOTrainingConfig"])
def test_an_explicit_resume_path_is_checked_when_the_config_is_built(name, tmp_path):
    """The trainers resolved it only after opening the run (SFT/GRPO: after their models and tracker)."""
    from reasoning_irl.config import training

    with pytest.raises(ValueError, match=r"training\.resume='.*step-3' is not a complete checkpoint folder"):
        getattr(training, name)(resume=str(tmp_path / "step-3"))
    (tmp_path / "step-3").mkdir()
    (tmp_path / "step-3" / "COMPLETE").write_text("")
    assert getattr(training, name)(resume=str(tmp_path / "step-3")).resume.endswith("step-3")


# --- item 6: one line instead of a traceback -------------------------------------------------------

def test_non_numeric_aggregate_and_over_long_number_name_the_line(tmp_path, earlier):
    rows = _rows()
    rows[2]["reward"]["aggregates"] = {"last": "abc"}
    with pytest.raises(DataFileError, match=r"in\.jsonl:3: reward\.aggregates\.last = 'abc' is not a number"):
        run_evaluation(_cfg(_write(tmp_path / "in.jsonl", rows), earlier[0]))
    path = _write(tmp_path / "long.jsonl", _rows())
    lines = path.read_text().splitlines()
    lines[4] = lines[4].replace('"sample_idx": 0', '"sample_idx": ' + "9" * 5000)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFileError, match=r"long\.jsonl:5: invalid JSON \(Exceeds the limit \(4300 digits\)"):
        run_evaluation(_cfg(path, earlier[0]))
    _intact(earlier)


def _fit(tmp_path: Path, name: str = "fit", **extra) -> Path:
    out = tmp_path / name
    run_evaluation(_cfg(_write(tmp_path / "in.jsonl", _rows()), out,
                        **{"eval.fit_on": "validation", "eval.reward_aggregation": "last", **extra}))
    return out / "calibration.json"


@pytest.mark.parametrize("content,message", [
    ('{"calibration_version": 1, "fitted', r"calibration\.json: not valid JSON .*refit it"),
    ("[1, 2]", r"calibration\.json: expected a calibration object, got list"),
])
def test_damaged_calibration_is_one_line(tmp_path, earlier, content, message):
    bad = tmp_path / "bad" / "calibration.json"
    bad.parent.mkdir()
    bad.write_text(content)
    with pytest.raises(ValueError, match=message):
        run_evaluation(_cfg(tmp_path / "good.jsonl", earlier[0], **{"eval.calibration_path": str(bad)}))
    _intact(earlier)


def test_calibration_of_another_task_or_reward_model_is_refused(tmp_path, earlier):
    calibration = _fit(tmp_path)
    fitted = json.loads(calibration.read_text())
    assert fitted["fitted_on"]["task"] == "arith" and "reward_model" in fitted["fitted_on"]
    use = {"eval.calibration_path": str(calibration)}
    run_evaluation(_cfg(tmp_path / "in.jsonl", tmp_path / "ok", **use))  # same task, same (no) model: used
    fitted["fitted_on"]["task"] = "gsm8k"
    calibration.write_text(json.dumps(fitted))
    with pytest.raises(ValueError, match=r"was fitted on task 'gsm8k', not 'arith'"):
        run_evaluation(_cfg(tmp_path / "in.jsonl", earlier[0], **use))
    fitted["fitted_on"].update(task="arith", reward_model="0123abcd")
    calibration.write_text(json.dumps(fitted))
    with pytest.raises(ValueError, match=r"fitted with another reward model's scores \(fingerprint 0123abcd"):
        run_evaluation(_cfg(tmp_path / "in.jsonl", earlier[0], **use))
    _intact(earlier)


@pytest.fixture(scope="module")
def saved_reward_model(tmp_path_factory) -> Path:
    from reasoning_irl.config.model import ModelConfig
    from reasoning_irl.config.reward import RewardConfig
    from reasoning_irl.rewards.saving import build_reward_model, save_reward_model

    folder = tmp_path_factory.mktemp("rm") / "good"
    save_reward_model(build_reward_model(RewardConfig(head="linear"), ModelConfig(reward="tiny"), backbone="tiny"),
                      folder)
    return folder


def _cut(file: Path) -> None:
    file.write_bytes(file.read_bytes()[: file.stat().st_size // 2])


@pytest.mark.parametrize("file,damage,message", [
    ("reward_config.json", _cut, r"reward_config\.json: not valid JSON .*save it again"),
    ("reward_config.json", lambda f: f.write_text("{}"), r"reward_config\.json lacks 'reward', 'form'"),
    ("model.safetensors", _cut, r"model\.safetensors is damaged \(.*incomplete metadata.*\): a truncated"),
    ("reward_head.safetensors", _cut, r"reward_head\.safetensors is damaged .*save or copy the reward model"),
    ("tokenizer.json", _cut, r"cannot load the tokenizer .*its files are damaged \(UnicodeDecodeError"),
])
def test_damaged_reward_model_files_are_named(tmp_path, saved_reward_model, file, damage, message):
    """Each with the folder otherwise complete (a checkpoint's COMPLETE marker would be present)."""
    import shutil

    from reasoning_irl.rewards.saving import load_reward_model

    folder = tmp_path / "rm"
    shutil.copytree(saved_reward_model, folder)
    damage(folder / file)
    with pytest.raises(Exception, match=message) as caught:
        load_reward_model(folder)
    assert isinstance(caught.value, (ValueError, OSError, RuntimeError)) and "\n" not in str(caught.value)


# --- item 7: resume falls back from a damaged checkpoint -------------------------------------------

def test_resume_falls_back_from_a_damaged_checkpoint(tmp_path, caplog):
    import torch

    from reasoning_irl.trainers.checkpoint import (
        latest_complete_checkpoint,
        load_checkpoint,
        save_checkpoint,
        step_dir,
    )
    from reasoning_irl.trainers.resume import resolve_resume

    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.AdamW(model.parameters())
    model(torch.ones(1, 2)).sum().backward()
    optimizer.step()
    for step in (2, 4):
        save_checkpoint(step_dir(tmp_path, step), step=step, optimizer=optimizer, state={"x": step})
    _cut(step_dir(tmp_path, 4) / "loop_tensors.safetensors")  # its COMPLETE marker is still there
    with caplog.at_level("WARNING"):
        assert resolve_resume("auto", tmp_path) == step_dir(tmp_path, 2)
    assert "step-4 is damaged (loop_tensors.safetensors has" in caplog.text
    assert "falling back to the previous complete checkpoint" in caplog.text
    assert load_checkpoint(latest_complete_checkpoint(tmp_path), optimizer=optimizer).state == {"x": 2}
    with pytest.raises(FileNotFoundError, match=r"step-4' is damaged \(loop_tensors\.safetensors has \d+ bytes"):
        resolve_resume(str(step_dir(tmp_path, 4)), tmp_path)
    (step_dir(tmp_path, 2) / "loop_state.json").unlink()
    assert latest_complete_checkpoint(tmp_path) is None  # nothing intact: a fresh start, never a broken resume


# --- items 3 and 4: plot specs stay inside their output root; a render never drops runs silently ----

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "run"


@pytest.mark.parametrize("key,value", [("task", "/tmp/elsewhere"), ("task", "../.."), ("task", "a/b"),
                                       ("checkpoint", "C:x"), ("eval", "x\\..")])
def test_plot_spec_names_that_become_paths_are_single_names(key, value):
    from reasoning_irl.plots.spec import SpecError, parse_spec

    run = {"label": "SFT", "method": "sft", "task": "arith", "run": "runs/sft", key: value}
    with pytest.raises(SpecError, match=rf"runs\[0\]\.{key}=.* must be a single folder name .*not a path"):
        parse_spec({"runs": [run]}, base_dir=Path("/tmp/spec"), source="spec.yaml")


def test_a_label_of_dots_stays_a_sub_folder():
    from reasoning_irl.plots.spec import parse_spec

    spec = parse_spec({"runs": [{"label": "..", "method": "sft", "task": "arith", "run": "r"},
                                {"label": ".hidden", "method": "sft", "task": "arith", "run": "r"}]})
    assert [r.key for r in spec.runs] == ["run", "hidden"]


def _plot_spec(folder: Path, runs: list[dict]) -> Path:
    import yaml

    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump({"output_root": "out", "runs": runs}))
    return path


def test_a_render_that_skips_runs_refuses_unless_allowed_and_says_when_it_replaces(tmp_path, capsys):
    import shutil

    from reasoning_irl.plots.main import main

    sft = {"label": "SFT", "method": "sft", "task": "arith", "run": "sft", "eval": "pregenerated_policy_arith"}
    shutil.copytree(FIXTURE, tmp_path / "sft")
    spec = _plot_spec(tmp_path, [sft])
    report = tmp_path / "out" / "report.html"
    assert main(["--config", str(spec), "--workers", "1", "--no-token-figs"]) == 0
    good = report.read_bytes()
    metrics = tmp_path / "sft" / "best" / "eval" / "pregenerated_policy_arith" / "metrics.json"
    metrics.write_text(metrics.read_text()[:200])  # truncated
    capsys.readouterr()
    assert main(["--config", str(spec), "--workers", "1", "--no-token-figs"]) == 1
    err = capsys.readouterr().err
    assert "error: 1 of 1 runs cannot be drawn (listed above); nothing was written and" in err
    assert "--allow-missing" in err and report.read_bytes() == good
    assert main(["--config", str(spec), "--workers", "1", "--no-token-figs", "--allow-missing"]) == 0
    assert "[warning] " + str(report) + " replaced by a report that draws 0 of the 1 runs" in capsys.readouterr().err
    assert main(["--config", str(spec), "--ckpt", "../..", "--no-token-figs"]) == 2
    assert "--ckpt='../..' must be a single folder name" in capsys.readouterr().err


# --- item 9: the project's message alone, the traceback behind REASONING_IRL_DEBUG=1 ----------------

ROOT = Path(__file__).resolve().parents[2]


def _evaluate(tmp_path: Path, **env: str):
    import subprocess
    import sys

    args = [sys.executable, str(ROOT / "evaluate.py"), "eval.mode=pregenerated_policy",
            f"eval.pregenerated_jsonl_path={tmp_path / 'nope.jsonl'}", f"output_root={tmp_path}"]
    environ = {k: v for k, v in os.environ.items() if k not in ("REASONING_IRL_DEBUG", "HYDRA_FULL_ERROR")}
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**environ, "OMP_NUM_THREADS": "1", **env})


def test_entry_point_errors_are_one_line_and_debug_shows_the_traceback(tmp_path):
    done = _evaluate(tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: input file {tmp_path / 'nope.jsonl'} does not exist (eval.pregenerated_jsonl_path)"]
    debug = _evaluate(tmp_path, REASONING_IRL_DEBUG="1")
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "DataFileError" in debug.stderr


def test_every_entry_point_reports_errors_in_the_one_place():
    for script in ("train_irl.py", "train_sft.py", "train_grpo.py", "evaluate.py"):
        text = (ROOT / script).read_text()
        assert "@hydra.main(" in text and ")\n@report_errors\ndef main(" in text, script


def test_unexpected_errors_name_their_type_and_plot_cli_errors_are_one_line(tmp_path, capsys, monkeypatch):
    from reasoning_irl.cli import error_line, guarded, report_errors
    from reasoning_irl.plots.main import main

    monkeypatch.delenv("REASONING_IRL_DEBUG", raising=False)
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    assert error_line(ValueError("x=1 is bad; use 2")) == "error: x=1 is bad; use 2"
    assert error_line(KeyError("k")).startswith("error: KeyError: 'k' (unexpected; REASONING_IRL_DEBUG=1")

    def boom(_cfg=None):
        raise OSError("disk full")

    with pytest.raises(SystemExit, match="^error: disk full$"):
        report_errors(boom)(None)
    assert guarded(boom) == 1 and capsys.readouterr().err == "error: disk full\n"
    monkeypatch.setenv("REASONING_IRL_DEBUG", "1")
    with pytest.raises(OSError, match="disk full"):
        report_errors(boom)(None)
    monkeypatch.delenv("REASONING_IRL_DEBUG")
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)  # set by the wrapper for Hydra, on its way out
    blocker = tmp_path / "file"
    blocker.write_text("")
    spec = _plot_spec(tmp_path, [{"label": "SFT", "method": "sft", "task": "arith", "run": str(FIXTURE),
                                  "eval": "pregenerated_policy_arith"}])
    assert main(["--config", str(spec), "--workers", "1", "--no-token-figs", "--output-root", str(blocker / "o")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err and len(err.strip().splitlines()) == 1
