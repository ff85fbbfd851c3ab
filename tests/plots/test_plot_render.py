"""End to end on the evaluation fixture (tests/fixtures/run, schema v1): every figure, table and the report
are written and non-empty, a missing run is skipped with a message, the output is byte-for-byte
deterministic, and the report renders in headless Chromium."""

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

from reasoning_irl.plots.main import Options, main, render, render_spec
from reasoning_irl.plots.spec import load_spec

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "run"
CHROMIUM = Path("/usr/bin/chromium")

FIGURES = ["pass_at_k/arith", "runs/airl/best_of_n", "runs/airl/reliability", "runs/airl/score_histogram",
           "runs/airl/training_curves", "runs/airl/tokens/pair_0", "runs/airl/tokens/pair_1",
           "runs/airl/tokens/pair_2", "runs/sft/best_of_n", "runs/sft/training_curves"]
TABLES = ["pass_at_k", "reward_weighted_pass_at_k", "reranking_gain", "calibration", "localisation"]


def write_spec(folder: Path, **extra) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data = {"output_root": "out", "title": "fixture", "runs": [
        {"label": "AIRL (step)", "name": "airl", "method": "airl", "granularity": "step", "form": "gail",
         "task": "arith", "run": str(FIXTURE), "eval": "pregenerated_policy_and_reward_arith"},
        {"label": "SFT", "name": "sft", "method": "sft", "task": "arith", "run": str(FIXTURE),
         "eval": "pregenerated_policy_arith"},
        {"label": "GRPO", "name": "grpo", "method": "grpo", "task": "arith", "run": "no_such_run"}], **extra}
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plots")
    spec = load_spec(write_spec(folder))
    result = render_spec(spec, Options(folder / "out", workers=2, allow_missing=True))
    return folder / "out", result, spec


def test_every_figure_and_table_is_written(rendered):
    root, result, _ = rendered
    assert not result.errors, result.errors
    for stem in FIGURES:
        for suffix in (".png", ".pdf"):
            path = root / f"{stem}{suffix}"
            assert path.is_file() and path.stat().st_size > 1000, path
    for name in TABLES:
        for suffix in (".md", ".tex"):
            assert (root / "tables" / f"{name}{suffix}").stat().st_size > 100
    assert (root / "pass_at_k" / "arith.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (root / "runs/airl/best_of_n.pdf").read_bytes()[:5] == b"%PDF-"
    assert b"CreationDate" not in (root / "runs/airl/best_of_n.pdf").read_bytes()
    assert (root / "report.html").stat().st_size > 10_000


def test_missing_run_is_skipped_with_a_message(rendered):
    root, result, _ = rendered
    assert len(result.skipped) == 1
    assert ("'grpo'" in result.skipped[0] and "no_such_run" in result.skipped[0]
            and "does not exist" in result.skipped[0])
    assert not (root / "runs" / "grpo").exists()
    report = (root / "report.html").read_text()
    assert "no_such_run" in report and "AIRL (step)" in report and "SFT" in report


def test_report_is_self_contained_with_hoverable_token_spans(rendered):
    root, _, _ = rendered
    report = (root / "report.html").read_text()
    assert report.count('src="data:image/png;base64,') >= len(FIGURES)
    for forbidden in ('src="http', "src='http", 'href="http', "<script", str(root)):
        assert forbidden not in report
    assert report.count('class="tok') > 30 and 'data-tip="reward ' in report
    assert "<table" in report and "Best-of-N" in report


def test_rendering_twice_gives_identical_bytes(rendered, tmp_path):
    root, _, spec = rendered
    again = tmp_path / "again"
    # same spec, another output folder, another worker count
    render_spec(spec, Options(again, workers=1, allow_missing=True))
    first = sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())
    second = sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    assert first == second
    different = [str(p) for p in first if (root / p).read_bytes() != (again / p).read_bytes()]
    assert not different, different


def test_cli_reports_misspelt_key_and_renders_without_token_figures(tmp_path, capsys):
    bad = write_spec(tmp_path / "bad", token_figure={"prompts": 1})
    assert main(["--config", str(bad)]) == 2
    assert "unknown key 'token_figure'" in capsys.readouterr().err
    spec = write_spec(tmp_path / "ok", runs=[{"label": "SFT", "method": "sft", "task": "arith", "run": str(FIXTURE),
                                              "eval": "pregenerated_policy_arith"}])
    assert main(["--config", str(spec), "--workers", "1", "--no-token-figs", "--ckpt", "best",
                 "--output-root", str(tmp_path / "cli")]) == 0
    assert "report:" in capsys.readouterr().out
    assert (tmp_path / "cli/runs/sft/best_of_n.png").is_file() and not list((tmp_path / "cli").rglob("pair_*"))


def test_render_from_run_mappings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = render([{"label": "SFT", "method": "sft", "task": "arith", "run": str(FIXTURE),
                      "eval": "pregenerated_policy_arith"}], tmp_path / "demo", workers=1)
    assert report == tmp_path / "demo" / "report.html" and report.stat().st_size > 1000


def test_report_renders_in_headless_chromium(rendered, tmp_path):
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing under CI=true: .ci/run must install Debian's chromium package")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install -y chromium); the browser check needs it")
    root, _, _ = rendered
    shot = tmp_path / "shot.png"
    command = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars",
               "--window-size=1200,1600", f"--screenshot={shot}", (root / "report.html").resolve().as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert shot.is_file(), f"chromium wrote no screenshot (exit {done.returncode}): {done.stderr[-2000:]}"
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)[..., :3]
    assert pixels.shape[:2] == (1600, 1200)
    not_white = (pixels < 0.95).any(axis=-1).mean()
    colours = np.unique((pixels * 255).astype(np.uint8).reshape(-1, 3), axis=0).shape[0]
    assert not_white > 0.02, f"the screenshot is blank ({not_white:.1%} of pixels not white)"
    assert colours > 50, f"the screenshot has only {colours} colours"
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)
