"""Every Hydra launcher preset (configs/hydra/launcher/) composes, resolves and builds its launcher for every
entry point, with and without a paper experiment — what ``--multirun hydra/launcher=…`` does first.

Composition alone (``--cfg hydra``) does not resolve interpolations; the broken ``HF_HOME`` line of
``slurm.yaml`` only failed when the launcher's ``setup`` was resolved, so each test resolves the whole
launcher node, constructs the launcher class from it, and runs the resolved ``setup`` lines' exports in
bash.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import get_class
from omegaconf import OmegaConf

from reasoning_irl.config.schema import register

register()  # the entry points' schemas (what their scripts do at import)

ROOT = Path(__file__).resolve().parents[2]
PRESETS = sorted(p.stem for p in (ROOT / "configs/hydra/launcher").glob("*.yaml"))
ENTRIES = {
    "train_irl": "paper/gsm8k_qwen2.5-3b_airl_step",
    "train_sft": "paper/gsm8k_qwen2.5-3b_sft",
    "train_grpo": "paper/gsm8k_qwen2.5-3b_grpo",
    "evaluate": "paper/eval/gsm8k_qwen2.5-3b_airl_step",
}


def test_the_presets_are_the_documented_ones():
    assert {"local", "slurm", "slurm_multigpu"} <= set(PRESETS)


@pytest.mark.parametrize("experiment", [False, True], ids=["defaults", "paper"])
@pytest.mark.parametrize("entry", sorted(ENTRIES))
@pytest.mark.parametrize("preset", PRESETS)
def test_launcher_preset_composes_and_resolves(preset, entry, experiment, monkeypatch):
    monkeypatch.delenv("HF_HOME", raising=False)
    overrides = [f"hydra/launcher={preset}"] + ([f"experiment={ENTRIES[entry]}"] if experiment else [])
    with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
        cfg = compose(config_name=entry, overrides=overrides, return_hydra_config=True)
    cfg.hydra.job.name = entry  # set by Hydra at run time; the launcher's ``name`` reads it
    launcher = OmegaConf.to_container(cfg.hydra.launcher, resolve=True)
    target = get_class(launcher.pop("_target_"))
    target(**launcher)  # the submitit launcher accepts every key of the preset
    setup = launcher.get("setup") or []
    exports = [line for line in setup if line.startswith("export ")]
    if exports:
        env = {k: v for k, v in os.environ.items() if k != "HF_HOME"}
        result = subprocess.run(["bash", "-c", "; ".join(exports) + '; echo "$HF_HOME"'], capture_output=True,
                                text=True, env=env, timeout=30)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == str(Path.home() / ".cache/huggingface")
    if preset.startswith("slurm"):
        assert launcher["gpus_per_node"] >= 1
