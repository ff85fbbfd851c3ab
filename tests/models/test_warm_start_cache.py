"""The warm-start fixture's cache (reasoning_irl.testing): one folder per distinct training, built once.

The folder is named by what changes the weights (the training traces, the base model and the optimiser
settings), not by how the task config spells them, so the suite's tests share one build; concurrent
callers wait for the one that builds instead of training the same policy again.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

from reasoning_irl import testing
from reasoning_irl.config.model import ModelConfig
from reasoning_irl.config.task import TaskConfig
from reasoning_irl.models.loading import resolve_model_path


def test_folder_is_named_by_the_traces_not_by_the_config_spelling():
    default = testing.warm_start_folder()
    assert default.name.startswith("arith-300-0-")
    # system_prompt "" and None (arith's default: none) write the same prompts, so the same weights.
    assert testing.warm_start_folder(task_cfg=TaskConfig(system_prompt="")) == default
    assert testing.warm_start_folder(task_cfg=TaskConfig(system_prompt="Be brief.")) != default
    assert testing.warm_start_folder(task_cfg=TaskConfig(seed=1)) != default  # other problems
    assert testing.warm_start_folder(learning_rate=1e-3) != default
    assert testing.warm_start_folder(steps=10) != default


def test_concurrent_callers_build_once_and_share_the_folder(tmp_path, monkeypatch):
    # A private cache holding only a copy of the built tiny model; the training itself is replaced by a
    # slow stand-in that counts its calls (the lock, not the training, is under test).
    tiny = Path(resolve_model_path("tiny", ModelConfig()))
    shutil.copytree(tiny, tmp_path / "tiny" / tiny.name)
    model_cfg = ModelConfig(cache_dir=str(tmp_path))
    calls = []

    def fake_train(out, base, model_cfg, records, steps, seed, learning_rate, batch_size):
        calls.append(out)
        time.sleep(0.5)
        (out / "model.safetensors").write_bytes(b"weights")
        return {"seconds": 0.5}

    monkeypatch.setattr(testing, "_train", fake_train)
    results = []
    def build():
        results.append(testing.warm_started_policy(steps=3, model_cfg=model_cfg))

    threads = [threading.Thread(target=build) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert len(set(results)) == 1 and len(results) == 3
    folder = results[0]
    assert folder == testing.warm_start_folder(steps=3, model_cfg=model_cfg)
    info = json.loads((folder / testing.INFO_FILE).read_text())
    assert info["settings"]["steps"] == 3 and info["task"]["name"] == "arith"
    assert not [p for p in folder.parent.iterdir() if p.name.endswith(".tmp")]  # no build left behind


def test_every_test_file_that_trains_a_warm_start_is_marked():
    """The conftest starts the background build when a collected test is marked `warm_start`."""
    tests = Path(__file__).resolve().parents[1]
    users = [p for p in tests.rglob("test_*.py")
             if "warm_started_policy(" in p.read_text() and p != Path(__file__)]
    assert len(users) >= 4
    for path in users:
        assert "pytest.mark.warm_start" in path.read_text(), f"{path} calls warm_started_policy, unmarked"
