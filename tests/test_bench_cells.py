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


@pytest.mark.parametrize("name", sorted({**quality.GROUPS["feasibility"], **quality.GROUPS["transfer"]}))
def test_cell_composes(name):
    ws_dir, ws_cfg, run_dir, cfg = quality.configs(name, 0)
    assert run_dir.name == f"{name}-seed0" and ws_dir.parent == quality.RUNS
    for override in quality.CELLS[name].overrides:  # every key override reached the config it names
        key, value = override.split("=", 1)
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
