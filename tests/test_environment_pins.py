"""environment.yaml (conda, GPU machines) pins exactly what pyproject.toml pins."""

from pathlib import Path

import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_conda_environment_mirrors_the_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pins = set(project["project"]["dependencies"]) | set(project["project"]["optional-dependencies"]["slurm"])
    environment = yaml.safe_load((ROOT / "environment.yaml").read_text())
    pip = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    assert set(pip) == pins
