"""The config tree composes for every entry point, and bad keys or values fail naming them."""

import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from reasoning_irl.cli import to_schema
from reasoning_irl.config.schema import SCHEMAS

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"


def _compose(entry: str, overrides: list[str] | None = None):
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        return compose(config_name=entry, overrides=overrides or [])


@pytest.mark.parametrize("entry", sorted(SCHEMAS))
def test_every_entry_composes_into_its_schema(entry):
    cfg = _compose(entry)
    typed = to_schema(cfg, SCHEMAS[entry])
    assert isinstance(typed, SCHEMAS[entry])
    assert typed.task.name == "arith" and typed.model.policy == "tiny"
    OmegaConf.resolve(cfg)  # every interpolation resolves


def test_run_name_derives_from_config_not_clock():
    cfg = _compose("train_irl", ["seed=3", "reward=dense"])
    assert cfg.run_name == "irl-arith-dense-seed3"


@pytest.mark.parametrize(
    "override, named",
    [
        ("task.nmae=gsm8k", "nmae"),
        ("training.learnig_rate=0.1", "learnig_rate"),
        ("training.max_steps=many", "max_steps"),
    ],
)
def test_misspelt_key_or_wrong_type_names_it(override, named):
    with pytest.raises(ConfigCompositionException) as err:
        _compose("train_irl", [override])
    message = str(err.value) + str(err.value.__cause__)
    assert named in message


def test_force_added_key_is_refused_by_the_schema():
    # `+key=value` makes Hydra add a key even to a structured node; the entry points' to_schema refuses it.
    cfg = _compose("train_irl", ["+training.learnig_rate=0.1"])
    with pytest.raises(SystemExit, match="learnig_rate"):
        to_schema(cfg, SCHEMAS["train_irl"])


def test_unknown_group_option_is_an_error():
    with pytest.raises(ConfigCompositionException) as err:
        _compose("train_irl", ["reward=hourly"])
    assert "hourly" in str(err.value)


@pytest.mark.parametrize("group", ["task", "model", "reward", "discriminator", "algo"])
def test_every_group_option_composes(group):
    entry = "train_irl"
    for option in sorted(p.stem for p in (CONFIGS / group).glob("*.yaml")):
        cfg = _compose(entry, [f"{group}={option}"])
        to_schema(cfg, SCHEMAS[entry])


def test_cfg_job_prints_the_composed_config(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "train_irl.py"), "--cfg", "job", "seed=7"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    printed = OmegaConf.create(result.stdout)
    assert printed.seed == 7 and printed.task.name == "arith"


def test_misspelt_key_on_command_line_is_one_clear_error(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "train_irl.py"), "--cfg", "job", "task.seeed=1"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert result.returncode != 0
    assert "seeed" in result.stderr
