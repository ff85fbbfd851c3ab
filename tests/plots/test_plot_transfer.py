"""Transfer spec on the fixture: heatmap, table and report; an entry without its evaluation is skipped."""

from pathlib import Path

import yaml

from reasoning_irl.plots.main import Options
from reasoning_irl.plots.spec import load_spec
from reasoning_irl.plots.transfer import main, render_transfer_spec

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "run"


def test_transfer_heatmap_table_and_skipped_entry(tmp_path, capsys):
    spec_path = tmp_path / "transfer.yaml"
    spec_path.write_text(yaml.safe_dump({"output_root": "out", "runs": [
        {"label": "AIRL arith", "name": "airl", "method": "airl", "granularity": "step", "form": "gail",
         "task": "arith", "run": str(FIXTURE)},
        {"label": "SFT arith", "name": "sft", "method": "sft", "task": "arith", "run": str(FIXTURE)},
        {"label": "AIRL gsm8k", "name": "airl-gsm8k", "method": "airl", "granularity": "dense", "form": "airl",
         "task": "gsm8k", "run": "missing"}],
        "transfer": [{"reward_run": "airl", "policy_run": "sft"}, {"reward_run": "airl-gsm8k", "policy_run": "sft"}]}))
    result = render_transfer_spec(load_spec(spec_path, "transfer"), Options(tmp_path / "out", workers=1,
                                                                             token_figures=False, allow_missing=True))
    root = tmp_path / "out"
    assert not result.errors
    assert len(result.skipped) == 1 and "airl-gsm8k → sft" in result.skipped[0]
    for name in ("transfer_heatmap.png", "transfer_heatmap.pdf", "tables/transfer.md", "tables/transfer.tex",
                 "entries/airl__on__sft/best_of_n.png", "report.html"):
        assert (root / name).stat().st_size > 100, name
    # success@1|4 of the fixture's reward: 1/3 against 3/4 for a random pick.
    assert "| AIRL arith | SFT arith | arith | arith | 4 | 75.0 [75.0, 75.0] | 33.3 [0.0, 83.3] | -41.7 |" in \
        (root / "tables/transfer.md").read_text()
    assert "airl-gsm8k" in (root / "report.html").read_text()

    assert main(["--config", str(spec_path), "--output-root", str(tmp_path / "cli"), "--workers", "1",
                 "--no-token-figs", "--allow-missing"]) == 0
    assert "[skipped] transfer airl-gsm8k" in capsys.readouterr().out


def test_transfer_root_layout_of_the_evaluation_guide(tmp_path):
    """``transfer_root``: entries read <root>/P_<policy folder>_R_<reward folder> (EVALUATION_GUIDE §7)."""
    import shutil

    evaluation = FIXTURE / "best" / "eval" / "pregenerated_policy_and_reward_arith"
    shutil.copytree(evaluation, tmp_path / "transfer" / "P_sft-run_R_airl-run")
    for name in ("airl-run", "sft-run"):
        (tmp_path / name).mkdir()
    spec = {"output_root": "out", "transfer_root": "transfer", "runs": [
        {"label": "AIRL", "name": "airl", "method": "airl", "granularity": "step", "form": "gail", "task": "arith",
         "run": "airl-run", "backbone": "qwen"},
        {"label": "SFT", "name": "sft", "method": "sft", "task": "gsm8k", "run": "sft-run", "backbone": "llama"}],
        "axes": "backbone", "transfer": [{"reward_run": "airl", "policy_run": "sft"},
                                         {"reward_run": "sft", "policy_run": "airl"}]}
    (tmp_path / "t.yaml").write_text(yaml.safe_dump(spec))
    result = render_transfer_spec(load_spec(tmp_path / "t.yaml", "transfer"),
                                  Options(tmp_path / "out", workers=1, token_figures=False, allow_missing=True))
    assert len(result.skipped) == 1 and "P_airl-run_R_sft-run" in result.skipped[0]
    table = (tmp_path / "out/tables/transfer.md").read_text()
    assert "| AIRL | SFT | qwen | llama | 4 |" in table
