"""Trainers and what they share: the run folder (:mod:`.run`, :mod:`.run_config`, :mod:`.provenance`),
atomic checkpoints (:mod:`.checkpoint`, :mod:`.atomic_dirs`, :mod:`.loop_state`, :mod:`.weights`),
``best/``/``final/`` (:mod:`.selected`), resuming (:mod:`.resume`), the SFT and GRPO baselines through TRL
(:mod:`.sft`, :mod:`.grpo`, glued to our run folder by :mod:`.trl_run`) and the AIRL trainer (:mod:`.airl`)."""

from reasoning_irl.trainers.checkpoint import (
    Checkpoint,
    clean_incomplete,
    latest_complete_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from reasoning_irl.trainers.resume import resolve_resume
from reasoning_irl.trainers.run import Run, is_main_process
from reasoning_irl.trainers.selected import read_selection, save_selected


def train_sft(cfg, run_dir=None):
    """See :func:`reasoning_irl.trainers.sft.train_sft` (imported on use: it pulls in TRL)."""
    from reasoning_irl.trainers.sft import train_sft as _train_sft

    return _train_sft(cfg, run_dir)


def train_grpo(cfg, run_dir=None):
    """See :func:`reasoning_irl.trainers.grpo.train_grpo` (imported on use: it pulls in TRL)."""
    from reasoning_irl.trainers.grpo import train_grpo as _train_grpo

    return _train_grpo(cfg, run_dir)


__all__ = [
    "Checkpoint",
    "Run",
    "clean_incomplete",
    "is_main_process",
    "latest_complete_checkpoint",
    "load_checkpoint",
    "read_selection",
    "resolve_resume",
    "save_checkpoint",
    "save_selected",
    "train_grpo",
    "train_sft",
]
