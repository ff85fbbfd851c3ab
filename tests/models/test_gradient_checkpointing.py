"""``model.gradient_checkpointing``: trainable models recompute activations, with the same gradients.

Consumed by the loader (policy and reward backbones; frozen models are left alone) and by TRL's
arguments (SFT and GRPO baselines).
"""

from __future__ import annotations

import pytest
import torch

from reasoning_irl.config.model import ModelConfig


def _grads(cfg: ModelConfig) -> dict[str, torch.Tensor]:
    from reasoning_irl.models import apply_lora, load_causal_lm

    torch.manual_seed(0)  # the same LoRA initialisation in both runs
    model = apply_lora(load_causal_lm("tiny", cfg), cfg)
    ids = torch.arange(5, 29).reshape(2, 12)
    model(input_ids=ids, labels=ids).loss.backward()
    return {n: p.grad for n, p in model.named_parameters() if p.requires_grad}


def test_default_is_off_and_the_key_turns_it_on_for_trainable_models_only():
    from reasoning_irl.models import load_causal_lm

    assert not ModelConfig().gradient_checkpointing
    assert not load_causal_lm("tiny", ModelConfig()).is_gradient_checkpointing
    cfg = ModelConfig(gradient_checkpointing=True)
    assert load_causal_lm("tiny", cfg).is_gradient_checkpointing
    assert not load_causal_lm("tiny", cfg, trainable=False).is_gradient_checkpointing


@pytest.mark.parametrize("lora_rank", [None, 4])
def test_gradients_are_unchanged_by_checkpointing(lora_rank):
    plain = _grads(ModelConfig(lora_rank=lora_rank))
    checkpointed = _grads(ModelConfig(lora_rank=lora_rank, gradient_checkpointing=True))
    assert plain.keys() == checkpointed.keys() and plain
    for name in plain:
        assert checkpointed[name] is not None, name  # reaches LoRA weights too (non-reentrant)
        torch.testing.assert_close(checkpointed[name], plain[name], atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("value", [False, True])
def test_trl_arguments_follow_the_key(tmp_path, value):
    from reasoning_irl.config.schema import TrainSFTConfig
    from reasoning_irl.trainers.trl_run import trainer_arguments

    cfg = TrainSFTConfig()
    cfg.model.gradient_checkpointing = value
    args = trainer_arguments(cfg, tmp_path)
    assert args["gradient_checkpointing"] is value
    assert args["gradient_checkpointing_kwargs"] == {"use_reentrant": False}
