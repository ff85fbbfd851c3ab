"""Collapse monitors of adversarial training: warnings, and an optional stop, when the AIRL loop degenerates."""

from __future__ import annotations

from typing import Any


class CollapseMonitor:
    """Flags the failure modes of adversarial training (docs/METHOD.md §10.24).

    - the discriminator's accuracy pinned at ≥ 0.99 for ``patience`` consecutive policy steps (the
      policy gets no useful gradient);
    - the strict-format rate of the rollouts below half its value at the first policy step;
    - the mean completion length below half its first value, or every completion cut at
      ``max_new_tokens``.
    Each returns a message; the trainer logs them as warnings and stops when ``stop_on_collapse``.
    """

    def __init__(self, patience: int, max_new_tokens: int) -> None:
        self.patience = patience
        self.max_new_tokens = max_new_tokens
        self.pinned = 0
        self.initial_format: float | None = None
        self.initial_length: float | None = None
        self.initial_finished: float | None = None

    def check(self, accuracy: float | None, format_rate: float, mean_length: float, finished_rate: float) -> list[str]:
        if self.initial_format is None:
            self.initial_format, self.initial_length, self.initial_finished = format_rate, mean_length, finished_rate
        problems = []
        self.pinned = self.pinned + 1 if accuracy is not None and accuracy >= 0.99 else 0
        if self.pinned >= self.patience:
            problems.append(f"discriminator accuracy ≥ 0.99 for {self.pinned} policy steps")
        if self.initial_format > 0 and format_rate < 0.5 * self.initial_format:
            problems.append(f"format rate fell to {format_rate:.2f} (was {self.initial_format:.2f})")
        if self.initial_length and mean_length < 0.5 * self.initial_length:
            problems.append(f"mean completion length fell to {mean_length:.1f} tokens (was {self.initial_length:.1f})")
        if finished_rate == 0.0 and self.initial_finished:
            problems.append(f"no completion ends before max_new_tokens={self.max_new_tokens}")
        return problems

    def state_dict(self) -> dict[str, Any]:
        return {"pinned": self.pinned, "initial_format": self.initial_format, "initial_length": self.initial_length,
                "initial_finished": self.initial_finished}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.pinned = state["pinned"]
        self.initial_format, self.initial_length = state["initial_format"], state["initial_length"]
        self.initial_finished = state["initial_finished"]
