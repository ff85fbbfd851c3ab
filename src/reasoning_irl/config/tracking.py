"""Config group ``logging``: experiment tracking."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class LoggingConfig:
    #: ``offline`` (default: wandb writes locally), ``online``, or ``disabled``.
    wandb_mode: str = "offline"
    #: wandb project name.
    wandb_project: str = "reasoning-irl"
    #: wandb entity (team); None = the user's default.
    wandb_entity: str | None = None
    #: Print a log line every this many steps.
    logging_steps: int = 10
    #: Show a progress bar.
    progress_bar: bool = True
