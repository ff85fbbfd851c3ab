"""TaskConfig: the yaml files of the task group, value checks, and every field read by the tasks."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from reasoning_irl.config.task import TaskConfig, check_task_config
from reasoning_irl.tasks import TASKS, get_task

ROOT = Path(__file__).resolve().parents[2]
FIELDS = [f.name for f in dataclasses.fields(TaskConfig)]


def test_one_yaml_per_task_and_each_composes_onto_the_schema():
    files = sorted(p.stem for p in (ROOT / "configs" / "task").glob("*.yaml"))
    assert files == sorted(TASKS)
    for name in files:
        text = (ROOT / "configs" / "task" / f"{name}.yaml").read_text()
        assert text.startswith("# ") and "python " in text.splitlines()[1]  # the command that runs it
        node = OmegaConf.merge(
            OmegaConf.structured(TaskConfig), OmegaConf.load(ROOT / "configs" / "task" / f"{name}.yaml")
        )
        assert node.name == name
        assert type(get_task(node)).name == name  # a Hydra node works like the dataclass


def test_unknown_key_is_refused_by_the_schema():
    with pytest.raises(Exception, match="validaton_fraction"):
        OmegaConf.merge(OmegaConf.structured(TaskConfig), {"validaton_fraction": 0.2})


def test_every_field_is_read_by_the_code():
    sources = "".join(p.read_text() for p in (ROOT / "src" / "reasoning_irl" / "tasks").glob("*.py"))
    for name in FIELDS:
        assert re.search(rf"\b(cfg|c|self\.cfg)\.{name}\b", sources), f"task.{name} is never read"


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"num_demonstrations": -1}, "num_demonstrations"),
        ({"max_problems": -5}, "max_problems"),
        ({"arith_min_ops": 5, "arith_max_ops": 4}, "arith_min_ops"),
        ({"arith_operand_max": 1}, "arith_operand_max"),
        ({"arith_operators": "+x"}, "arith_operators"),
        ({"arith_operators": "++"}, "arith_operators"),
        ({"arith_result_max": 5}, "arith_result_max"),
        ({"processbench_subset": "prm800k"}, "processbench_subset"),
        ({"aime_years": [2023]}, "aime_years"),
        ({"mmlu_pro_test_fraction": 0.0}, "mmlu_pro_test_fraction"),
    ],
)
def test_bad_values_name_the_key(overrides, key):
    with pytest.raises(ValueError, match=rf"task\.{key}="):
        check_task_config(TaskConfig(**overrides))
