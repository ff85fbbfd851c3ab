"""bench/quality.py's issue-19 cells compose into valid configs, and a cell's task is the one it is evaluated on."""

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))
quality = pytest.importorskip("quality")


def _value(text: str):
    """An override's value as Hydra reads these: a list, a bool, a number or a string."""
    if text.startswith("[") and text.endswith("]"):
        return [_value(v) for v in text[1:-1].split(",")]
    if text in ("true", "false"):
        return text == "true"
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


@pytest.mark.parametrize("name", sorted({**quality.GROUPS["feasibility"], **quality.GROUPS["transfer"],
                                         **quality.GROUPS["demonstrations"]}))
def test_cell_composes(name):
    ws_dir, ws_cfg, run_dir, cfg = quality.configs(name, 0)
    assert ws_dir.parent == quality.RUNS
    if name.startswith("demos"):  # the warm start saw only that many demonstrations, as does AIRL or SFT
        count = int(name[len("demos"):].split("_")[0])
        assert ws_cfg.task.num_demonstrations == count and (cfg is None or cfg.task.num_demonstrations == count)
    if quality.CELLS[name].trainer == "none":  # the warm start itself: no run of its own
        assert run_dir is None and cfg is None
        return
    assert run_dir.name == f"{name}-seed0"
    for override in quality.CELLS[name].overrides:  # every key override reached the config it names
        key, value = override.split("=", 1)
        value = str(quality.BUDGETS.get(value, value))  # a step budget by name (@sft_steps)
        if "." not in key:  # a config group's option (reward=dense)
            continue
        target = cfg
        for part in key.split("."):
            target = getattr(target, part)
        assert target == _value(value), override


def test_transfer_cells_train_and_evaluate_on_their_own_operators():
    for name, ops in quality.TRANSFER_VARIANTS.items():
        cell = f"transfer_{name}"
        ws_dir, ws_cfg, _, cfg = quality.configs(cell, 0)
        assert ws_cfg.task.arith_operators == cfg.task.arith_operators == ops
        assert quality.task_overrides(cell) == {"task.arith_operators": ops}
        assert "/" not in ws_dir.name  # `*/` becomes x2ax2f, not a sub-folder
    assert quality._path_safe("*/") == "x2ax2f" and quality._path_safe("+-") == "+-"


def test_demonstrations_table_reads_whole_seeds_only(tmp_path, monkeypatch):
    """A seed counts for a number of demonstrations when all four of its cells have results; the table
    shows their mean and spread, and a count without them as not run."""
    demonstrations = pytest.importorskip("demonstrations")
    monkeypatch.setattr(quality, "RESULTS", tmp_path)

    def write(cell, seed, pass_at_1, reward):
        summary = {"pass_at_1": {"mean": pass_at_1},
                   "best_of_n": {"reward": {"mean": reward}, "policy_mean_logprob": {"mean": 0.5}}}
        data = {"cell": cell, "seed": seed, "summary": summary, "seconds": {"train": 100.0}}
        (tmp_path / f"{cell}-seed{seed}.json").write_text(__import__("json").dumps(data))

    for seed, value in ((0, 0.6), (1, 0.8)):
        for role in demonstrations.ROLES:
            write(f"demos300_{role}", seed, value, value)
    write("demos1000_airl", 0, 0.9, 0.9)  # the other three cells of that seed are missing
    rows = {count: demonstrations.results(count) for count in (300, 1000)}
    assert [len(rows[c]["airl"]) for c in (300, 1000)] == [2, 0]
    lines = demonstrations.table(rows).splitlines()
    assert lines[2].startswith("| 300 | 2 | 70.0 ± 14.1 |") and lines[3].startswith("| 1,000 | 0 | not run")
