"""Shared fixtures of the task tests: the offline data files (skipped when absent, failed under CI)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from reasoning_irl.io import data_root


def require_data_file(relative: str) -> Path:
    """The offline data file ``relative``; skip the test (with the reason) when it is absent.

    Under ``CI=true`` a missing file is a failure: CI must run the data tests.
    """
    root = data_root()
    path = root / relative if root is not None else None
    if path is None or not path.is_file():
        reason = (
            f"offline data file {relative!r} not found under {root or '../shared/data'} "
            "(set REASONING_IRL_DATA to the shared data folder)"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI=true requires the data files")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def data_file() -> Callable[[str], Path]:
    """``data_file("gsm8k/test.jsonl")`` → its path, or skip / fail as :func:`require_data_file`."""
    return require_data_file


@pytest.fixture
def no_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any hub access fail at once, as on a machine without network."""
    import datasets

    def offline(*args, **kwargs):
        raise ConnectionError(f"hub unreachable (test) for {args[0] if args else kwargs}")

    monkeypatch.setattr(datasets, "load_dataset", offline)
