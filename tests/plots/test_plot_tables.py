"""Tables are built from metrics.json values (never parsed back from text) and rendered three ways."""

from pathlib import Path

from reasoning_irl.plots import table_builders as T
from reasoning_irl.plots.load import locate_run
from reasoning_irl.plots.spec import parse_spec
from reasoning_irl.plots.tables import Cell, Table, latex_escape, to_html, to_latex, to_markdown

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "run"


def fixture_runs():
    spec = parse_spec({"runs": [
        {"label": "AIRL", "method": "airl", "granularity": "step", "form": "gail", "task": "arith", "run": str(FIXTURE),
         "eval": "pregenerated_policy_and_reward_arith"},
        {"label": "SFT", "method": "sft", "task": "arith", "run": str(FIXTURE), "eval": "pregenerated_policy_arith"}]})
    return [locate_run(spec, r) for r in spec.runs]


def test_cell_formats_percent_interval_and_delta():
    assert Cell.of({"mean": 0.75, "low": 0.5, "high": 0.9}).parts() == ("75.0", "[50.0, 90.0]")
    assert Cell(-0.41666, kind="delta").parts() == ("-41.7", None)
    assert Cell.of({"available": False, "reason": "x"}).parts() == ("n/a", None)
    assert Cell.of(None).parts() == ("n/a", None)


def test_pass_at_k_table_from_fixture():
    table = T.pass_at_k_table(fixture_runs())
    assert table.columns[-3:] == ["pass@1", "pass@2", "pass@4"]
    md = to_markdown(table)
    # The fixture: 18 of 24 samples correct, every problem has a correct sample among 2 → pass@1 75, pass@2 100.
    assert "| AIRL | AIRL (step, gail) | arith | 4 | 75.0 [75.0, 75.0] | 100.0 [100.0, 100.0] |" in md


def test_reranking_gain_is_reward_minus_random():
    table = T.reranking_gain_table(fixture_runs())
    rows = {(r[0].text, r[1].text): r for r in table.rows}
    reward = rows[("AIRL", "reward model (last)")]
    # success@1|4: reward 1/3 (metrics.json), random 3/4 → gain −41.7 points.
    assert reward[-2].parts()[0] == "33.3" and reward[-1].parts() == ("-41.7", None)
    assert ("SFT", "reward model (last)") not in rows  # unavailable selectors go to the note with the reason
    assert "SFT: reward model (last)" in table.note and "not computed" in table.note
    assert rows[("SFT", "majority vote")][-1].parts() == ("+25.0", None)


def test_calibration_and_localisation_tables():
    runs = fixture_runs()
    calibration = to_markdown(T.calibration_table(runs))
    assert "| AIRL | reward model score | 24 | 47.2 [27.7, 69.4] | 24.9 [24.9, 24.9] | n/a |" in calibration
    localisation = T.localisation_table(runs)
    methods = [r[1].text for r in localisation.rows]
    assert methods[:2] == ["reward score < τ", "reward largest drop"] and methods[-1] == "chance"
    assert localisation.columns[-1] == "MAP"


def test_latex_and_html_escape():
    table = Table("t_1", "A & B: 50% of σ", ["Run", "x"])
    table.add(["a_b & c", Cell(0.5, 0.25, 0.75)])
    latex = to_latex(table)
    assert r"a\_b \& c & 50.0 {\scriptsize [25.0, 75.0]} \\" in latex
    assert r"\caption{A \& B: 50\% of $\sigma$}" in latex and r"\label{tab:t-1}" in latex
    assert latex_escape("x^2~") == r"x\textasciicircum{}2\textasciitilde{}"
    html = to_html(table)
    assert "a_b &amp; c" in html and '<span class="ci">[25.0, 75.0]</span>' in html
