"""Validation batches go to the model's device (a CUDA model must never receive CPU tensors).

There is no GPU here, so the model's parameters sit on the ``meta`` device: a spy model records the
device of every tensor it is called with and stops the call. Before the fix the batches stayed on the
CPU and these tests failed.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from reasoning_irl.config.model import ModelConfig
from reasoning_irl.models import load_tokenizer
from reasoning_irl.tasks.base import Record


class _Stop(Exception):
    pass


class SpyModel(nn.Module):
    """Parameters on ``meta``; ``forward`` / ``generate`` record their tensor arguments' devices."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(2, device="meta"))
        self.seen: dict[str, torch.device] = {}

    def _record(self, kwargs) -> None:
        self.seen = {k: v.device for k, v in kwargs.items() if isinstance(v, torch.Tensor)}
        raise _Stop

    def forward(self, **kwargs):
        self._record(kwargs)

    def generate(self, **kwargs):
        self._record(kwargs)


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("tiny", ModelConfig())


def _records() -> list[Record]:
    return [Record(problem_id="p0", question="1 + 2 =", answer="3",
                   prompt=[{"role": "user", "content": "1 + 2 ="}], target="<think>1+2</think><answer>3</answer>")]


def test_expert_nll_moves_its_batch_to_the_model_device(tokenizer, monkeypatch):
    """``expert_nll`` hands ``completion_logprobs`` (which cannot run on ``meta``) tensors on the model's device."""
    from reasoning_irl.rl import logprobs
    from reasoning_irl.trainers.policy_selection import expert_nll

    model = SpyModel()

    def spy(model_, input_ids, attention_mask, completion_mask):
        model_._record({"input_ids": input_ids, "attention_mask": attention_mask, "completion_mask": completion_mask})

    monkeypatch.setattr(logprobs, "completion_logprobs", spy)
    with pytest.raises(_Stop):
        expert_nll(model, tokenizer, _records())
    assert set(model.seen) == {"input_ids", "attention_mask", "completion_mask"}
    assert {d.type for d in model.seen.values()} == {"meta"}


def test_greedy_validation_moves_its_prompts_to_the_model_device(tokenizer):
    from reasoning_irl.config.task import TaskConfig
    from reasoning_irl.tasks import get_task
    from reasoning_irl.trainers.policy_selection import greedy_validation

    model = SpyModel()
    with pytest.raises(_Stop):
        greedy_validation(model, tokenizer, get_task(TaskConfig(name="arith")), _records(), max_new_tokens=4)
    assert set(model.seen) >= {"input_ids", "attention_mask"}
    assert {d.type for d in model.seen.values()} == {"meta"}


def test_one_device_resolution_for_every_entry_point(monkeypatch):
    """``device`` resolves the same way for AIRL, the TRL trainers and the evaluation (one function)."""
    from reasoning_irl import distributed
    from reasoning_irl.eval import models as eval_models
    from reasoning_irl.trainers import airl, trl_run

    assert distributed.resolve_device("cpu") == "cpu"
    assert distributed.resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert distributed.resolve_device("auto") == "cpu"
    assert airl._device("auto") == torch.device("cpu") and trl_run.device_is_cpu("auto")
    assert eval_models._device("auto") == "cpu"
    for resolve in (distributed.resolve_device, airl._device, trl_run.device_is_cpu, eval_models._device):
        with pytest.raises(ValueError, match="no CUDA device is visible; use device=cpu or device=auto"):
            resolve("cuda")
        with pytest.raises(ValueError, match="device='mps'; use auto, cpu or cuda"):
            resolve("mps")
