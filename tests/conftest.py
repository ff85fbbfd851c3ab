"""Test-wide settings: offline hub, no wandb, two torch threads, a private cache for tiny models."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Idle OpenMP threads sleep instead of spinning: spinning threads starve each other on 2 shared cores.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# Tiny models and warm-started fixture policies are built once per checkout and reused across tests.
os.environ.setdefault("REASONING_IRL_CACHE",
                      os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".cache"))

import torch  # noqa: E402

torch.set_num_threads(2)


# Offline data files (../shared/data or $REASONING_IRL_DATA): skipped with the reason when absent,
# a failure under CI=true, where the data tests must run.
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from reasoning_irl.io import data_root  # noqa: E402


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


# The warm-started tiny policy (reasoning_irl.testing.warm_started_policy) takes about a minute to train
# in a fresh checkout. When the session holds tests marked `warm_start`, a child process builds it from
# the start, at a lower priority, on the cores the tests that come first leave idle; a test that needs it
# before it is done waits on its lock.
_BUILDER: list = []


def pytest_collection_finish(session: pytest.Session) -> None:
    marked = any(item.get_closest_marker("warm_start") for item in session.items)
    if session.config.option.collectonly or not marked:
        return
    from reasoning_irl.testing import build_warm_start_in_background

    builder = build_warm_start_in_background(threads=torch.get_num_threads())
    if builder is not None:
        _BUILDER.append(builder)


def pytest_sessionfinish(session: pytest.Session) -> None:
    for builder in _BUILDER:
        if builder.poll() is None:  # the session ended before the tests that needed it
            builder.terminate()
            builder.wait(timeout=60)
