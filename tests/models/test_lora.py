"""LoRA through peft on the tiny Qwen2 and Llama models."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from safetensors.torch import load_file

from reasoning_irl.models.loading import load_causal_lm
from reasoning_irl.models.lora import apply_lora

# LoRA adds r × (in + out) per adapted Linear. Per tiny layer (hidden 128, MLP 512): q, k, v, o are
# 128→128 (4 × 256 r), gate and up 128→512 (2 × 640 r), down 512→128 (640 r): 2944 r; 4 layers: 11776 r.
LORA_PARAMS_PER_RANK = 11776


def lora_cfg(cfg, rank=4, **kw):
    return dataclasses.replace(cfg, lora_rank=rank, **kw)


def test_full_fine_tuning_returns_the_model_unchanged(tiny_cfg):
    model = load_causal_lm("tiny", tiny_cfg)
    assert apply_lora(model, tiny_cfg) is model
    assert apply_lora(model, lora_cfg(tiny_cfg, rank=0)) is model


def test_only_lora_parameters_train_and_a_step_changes_them(tiny_cfg):
    model = apply_lora(load_causal_lm("tiny", tiny_cfg), lora_cfg(tiny_cfg))
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    assert sum(p.numel() for p in trainable.values()) == 4 * LORA_PARAMS_PER_RANK
    assert model.peft_config["default"].lora_alpha == 8  # 2 × rank
    assert model.peft_config["default"].r == 4

    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    optimizer = torch.optim.AdamW(trainable.values(), lr=1e-2)
    x = torch.randint(4, 512, (2, 16), generator=torch.Generator().manual_seed(0))
    for _ in range(2):  # lora_B starts at 0, so lora_A gets a gradient from the second step on
        loss = model(input_ids=x, labels=x).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    for name, p in model.named_parameters():
        changed = not torch.equal(p, before[name])
        assert changed == (name in trainable), name


def test_modules_to_save_are_trained_and_saved(tiny_cfg, tmp_path):
    model = apply_lora(load_causal_lm("tiny", tiny_cfg), lora_cfg(tiny_cfg, rank=2), modules_to_save=["lm_head"])
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert any("lm_head" in n and "lora_" not in n for n in trainable)
    model.save_pretrained(tmp_path)
    saved = load_file(tmp_path / "adapter_model.safetensors")
    assert any("lm_head" in k for k in saved) and any("lora_A" in k for k in saved)


def test_alpha_dropout_and_targets_come_from_the_config(tiny_cfg):
    cfg = lora_cfg(tiny_cfg, rank=2, lora_alpha=3.0, lora_dropout=0.1, lora_target_modules=["q_proj", "v_proj"])
    model = apply_lora(load_causal_lm("tiny", tiny_cfg), cfg)
    peft_cfg = model.peft_config["default"]
    assert ((peft_cfg.lora_alpha, peft_cfg.lora_dropout, set(peft_cfg.target_modules))
            == (3.0, 0.1, {"q_proj", "v_proj"}))
    # q and v: 2 × 256 r per layer, 4 layers, r = 2
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == 4 * 2 * 256 * 2


def test_unknown_target_module_is_an_error_naming_the_key(tiny_cfg):
    with pytest.raises(ValueError, match=r"model\.lora_target_modules names \['qkv'\]"):
        apply_lora(load_causal_lm("tiny", tiny_cfg), lora_cfg(tiny_cfg, lora_target_modules=["q_proj", "qkv"]))
