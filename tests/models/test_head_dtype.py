"""Trainable heads train in float32 under a bfloat16 backbone (issue: ``0.02 + 1e-5 == 0.02`` in bf16).

The reward head (linear score, AIRL potential, the likelihood heads' bias b) is created in float32,
stays float32 under LoRA (peft's ``modules_to_save`` copy) and after save/load, its forward accepts the
backbone's bf16 hidden states, and one small AdamW step moves it where bf16 would round it away.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from reasoning_irl.config.model import ModelConfig
from reasoning_irl.config.reward import RewardConfig


def test_bf16_cannot_hold_a_small_update():
    value = torch.tensor(0.02, dtype=torch.bfloat16)
    assert value + 1e-5 == value  # why the head must not be bf16


@pytest.mark.parametrize("lora_rank", [None, 4])
@pytest.mark.parametrize("head", ["linear", "log_prob"])
def test_head_is_float32_and_trains_under_a_bf16_backbone(head, lora_rank, tmp_path):
    from reasoning_irl.rewards import build_reward_model
    from reasoning_irl.rewards.saving import load_reward_model

    cfg = ModelConfig(policy="tiny", reward="tiny", dtype="bfloat16", lora_rank=lora_rank)
    model = build_reward_model(RewardConfig(head=head), cfg, form="airl")
    head_params = model.head_parameters()
    assert head_params and all(p.dtype == torch.float32 for p in head_params)
    assert any(p.dtype == torch.bfloat16 for p in model.base_model().parameters())  # the backbone is bf16
    with torch.no_grad():
        for p in head_params:
            p.fill_(0.02)
    before = [p.detach().clone() for p in head_params]
    prepared = [model.prepare([{"role": "user", "content": "1 + 2?"}], "<think>1 + 2 = 3</think><answer>3</answer>")]
    out = model.forward_prepared(prepared)[0]
    loss = -(out.scores.sum() + out.potentials.sum())
    loss.backward()
    optimizer = torch.optim.AdamW(head_params, lr=1e-5, weight_decay=0.0)
    optimizer.step()
    assert all((p.detach() != b).all() for p, b in zip(head_params, before))  # a 1e-5 step is kept
    model.save_pretrained(tmp_path / "rm")
    loaded = load_reward_model(tmp_path / "rm", trainable=True, model=dataclasses.replace(cfg))
    assert all(p.dtype == torch.float32 for p in loaded.head_parameters())
    for p, q in zip(loaded.head_parameters(), head_params):
        torch.testing.assert_close(p.detach(), q.detach(), atol=0, rtol=0)
