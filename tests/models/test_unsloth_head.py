"""``model.unsloth=true`` with a reward model: the reward head never goes into peft's ``modules_to_save``.

unsloth's ``get_peft_model`` accepts only ``lm_head``/``embed_tokens`` there. unsloth needs CUDA and is
not installed here, so a stand-in ``unsloth`` module enforces that rule and then builds the adapter with
peft (what unsloth wraps); the reward model must build, train its head, and save/load it.
"""

from __future__ import annotations

import dataclasses
import sys
import types

import pytest
import torch

from reasoning_irl.config.model import ModelConfig
from reasoning_irl.config.reward import RewardConfig


@pytest.fixture
def fake_unsloth(monkeypatch):
    calls = []

    def get_peft_model(model, *, r, lora_alpha, lora_dropout, target_modules, modules_to_save, bias,
                       use_gradient_checkpointing):
        from peft import LoraConfig
        from peft import get_peft_model as peft_get_peft_model

        calls.append({"modules_to_save": modules_to_save, "use_gradient_checkpointing": use_gradient_checkpointing})
        bad = [m for m in modules_to_save or [] if m not in ("lm_head", "embed_tokens")]
        if bad:
            raise ValueError(
                f"Unsloth: Module = {bad[0]} is not allowed. Only 'lm_head' and 'embed_tokens' is allowed.")
        config = LoraConfig(r=r, lora_alpha=lora_alpha, lora_dropout=lora_dropout, target_modules=target_modules,
                            modules_to_save=modules_to_save, bias=bias)
        return peft_get_peft_model(model, config)

    module = types.ModuleType("unsloth")
    module.FastLanguageModel = types.SimpleNamespace(get_peft_model=get_peft_model)
    monkeypatch.setitem(sys.modules, "unsloth", module)
    return calls


@pytest.mark.parametrize("head", ["linear", "log_prob"])
def test_reward_model_builds_trains_and_saves_on_the_unsloth_path(fake_unsloth, monkeypatch, tmp_path, head):
    from reasoning_irl.models import loading
    from reasoning_irl.rewards import saving

    cfg = ModelConfig(policy="tiny", reward="tiny", lora_rank=4, unsloth=True)
    plain = dataclasses.replace(cfg, unsloth=False)  # loading itself needs CUDA under unsloth
    monkeypatch.setattr(saving, "load_causal_lm", lambda path, _cfg, **kw: loading.load_causal_lm(path, plain, **kw))
    model = saving.build_reward_model(RewardConfig(head=head), cfg, form="airl")
    assert fake_unsloth and all(not c["modules_to_save"] for c in fake_unsloth)
    head_params = model.head_parameters()
    assert head_params and all(p.requires_grad for p in head_params)
    prompt = [{"role": "user", "content": "1 + 2?"}]
    out = model.forward_prepared([model.prepare(prompt, "<think>1 + 2 = 3</think><answer>3</answer>")])[0]
    (out.scores.sum() + out.potentials.sum()).backward()
    assert all(p.grad is not None for p in head_params)
    with torch.no_grad():
        for p in head_params:
            p.add_(0.25)
    expected = model.score([prompt], ["<think>1 + 2 = 3</think><answer>3</answer>"])[0].scores
    model.save_pretrained(tmp_path / "rm")
    assert (tmp_path / "rm" / saving.HEAD_FILE).is_file()
    loaded = saving.load_reward_model(tmp_path / "rm", model=plain)
    assert loaded.score([prompt], ["<think>1 + 2 = 3</think><answer>3</answer>"])[0].scores == pytest.approx(expected)
