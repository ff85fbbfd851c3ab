"""Shared fixtures of the task tests: the offline data files (skipped when absent, failed under CI)."""

from __future__ import annotations

import pytest


@pytest.fixture
def no_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any hub access fail at once, as on a machine without network."""
    import datasets

    def offline(*args, **kwargs):
        raise ConnectionError(f"hub unreachable (test) for {args[0] if args else kwargs}")

    monkeypatch.setattr(datasets, "load_dataset", offline)
