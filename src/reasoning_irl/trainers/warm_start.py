"""AIRL's built-in warm start: with ``model.policy=tiny``, a short SFT run of its own before the adversarial loop.

Any other ``model.policy`` (a hub id, or an SFT run's ``best/policy``) is the warm start itself.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from reasoning_irl import distributed
from reasoning_irl.config.model import FROM_POLICY, TINY

log = logging.getLogger("reasoning_irl")


def warm_start(cfg: Any, run_dir: Path) -> str:
    """The policy to start from: ``model.policy`` itself, or for ``tiny`` a short SFT run of our own."""
    if cfg.model.policy != TINY or cfg.training.warm_start_steps == 0:
        return cfg.model.policy
    if distributed.world_size() > 1:
        raise ValueError("the built-in SFT warm start (model.policy=tiny, training.warm_start_steps > 0) does not run "
                         "under several processes: run train_sft.py first and pass "
                         "model.policy=<sft run>/best/policy, or set training.warm_start_steps=0")
    from reasoning_irl.trainers.sft import train_sft

    folder = run_dir / "warm_start"
    if not (folder / "final" / "policy").is_dir():
        log.info("model.policy=tiny: SFT warm start for %d steps into %s", cfg.training.warm_start_steps, folder)
        train_sft(warm_start_config(cfg, run_dir), folder)
    return str(folder / "best" / "policy")


def warm_start_config(cfg: Any, output_root: str | Path):
    """The SFT run (``TrainSFTConfig``) of the built-in warm start: ``training.warm_start_steps`` steps of the SFT
    baseline's defaults on the same task, model and seed, evaluated (NLL) only at its end."""
    from reasoning_irl.config.schema import TrainSFTConfig
    from reasoning_irl.config.training import SFTTrainingConfig

    return TrainSFTConfig(seed=cfg.seed, run_name="warm_start", output_root=str(output_root), device=cfg.device,
                          task=cfg.task, model=dataclasses.replace(cfg.model, reward=FROM_POLICY),  # SFT has none
                          logging=dataclasses.replace(cfg.logging, wandb_mode="disabled"),
                          training=SFTTrainingConfig(max_steps=cfg.training.warm_start_steps, checkpoint_every=0,
                                                     eval_every=0, eval_generate=False, bf16=cfg.training.bf16,
                                                     eval_problems=cfg.training.eval_problems))
