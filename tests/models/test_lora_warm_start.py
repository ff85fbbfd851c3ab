"""A LoRA warm start is kept: an SFT run with LoRA, then AIRL's setup from its ``best/policy``.

AIRL's setup loads the policy with ``apply_lora(load_causal_lm(path))`` and the reward model
(``model.reward=from_policy``) through ``build_reward_model(backbone=path)``. Both must compute exactly the
SFT policy at step 0 (before the fix, the adapter was replaced by a fresh one: the base model's logits),
π_ref (the new adapter disabled) must be the SFT policy too, and an adapter trained on top of the warm
start must reload through the same chain.
"""

from __future__ import annotations

import json

import pytest
import torch

from reasoning_irl.config.reward import RewardConfig
from reasoning_irl.config.schema import TrainSFTConfig

ATOL = 1e-4  # float32 merge of the adapter: W + s·BA instead of W·x + s·B(A·x)


@pytest.fixture(scope="module")
def sft_lora_run(tmp_path_factory):
    from reasoning_irl.trainers.sft import train_sft

    cfg = TrainSFTConfig(run_name="sft-lora", output_root=str(tmp_path_factory.mktemp("sft")), seed=0, device="cpu")
    cfg.task.arith_num_train, cfg.task.arith_num_validation, cfg.task.arith_num_test = 32, 4, 4
    cfg.model.max_completion_length, cfg.model.lora_rank = 64, 8
    cfg.logging.wandb_mode, cfg.logging.progress_bar, cfg.logging.logging_steps = "disabled", False, 1
    t = cfg.training
    t.max_steps, t.batch_size, t.learning_rate = 2, 8, 1e-2
    t.checkpoint_every, t.eval_every, t.eval_problems, t.eval_generate = 0, 0, 4, False
    return cfg, train_sft(cfg)


def _ids(tokenizer) -> dict[str, torch.Tensor]:
    ids = torch.tensor([tokenizer("<think>12 + 30 = 42</think><answer>42</answer>")["input_ids"]])
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}


def _sft_policy_logits(folder, cfg, inputs) -> torch.Tensor:
    """The SFT policy as peft computes it: base + the saved adapter, unmerged."""
    from peft import PeftModel

    from reasoning_irl.models import load_causal_lm

    base_name = json.loads((folder / "adapter_config.json").read_text())["base_model_name_or_path"]
    model = PeftModel.from_pretrained(load_causal_lm(base_name, cfg.model, trainable=False), str(folder))
    with torch.no_grad():
        return model(**inputs).logits


def test_airl_policy_from_a_lora_sft_run_has_the_sft_logits(sft_lora_run, tmp_path):
    from reasoning_irl.models import apply_lora, load_causal_lm, load_tokenizer

    cfg, run_dir = sft_lora_run
    folder = run_dir / "best" / "policy"
    assert (folder / "adapter_config.json").is_file()  # the SFT run saved an adapter, not a full model
    tokenizer = load_tokenizer(str(folder), cfg.model)
    inputs = _ids(tokenizer)
    expected = _sft_policy_logits(folder, cfg, inputs)
    with torch.no_grad():
        base = load_causal_lm("tiny", cfg.model, trainable=False)(**inputs).logits
    assert (expected - base).abs().max() > 1e-2  # SFT moved the policy: the check below is not vacuous

    policy = apply_lora(load_causal_lm(str(folder), cfg.model), cfg.model)  # AIRL's setup
    with torch.no_grad():
        torch.testing.assert_close(policy(**inputs).logits, expected, atol=ATOL, rtol=0)
        with policy.disable_adapter():  # π_ref of the KL penalty is the warm start, not the base
            torch.testing.assert_close(policy(**inputs).logits, expected, atol=ATOL, rtol=0)

    # An adapter trained on top of the warm start records the warm start as its base and reloads exactly.
    with torch.no_grad():
        for name, p in policy.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.05)
        trained = policy(**inputs).logits
    policy.save_pretrained(tmp_path / "airl")
    with torch.no_grad():
        reloaded = load_causal_lm(str(tmp_path / "airl"), cfg.model, trainable=False)(**inputs).logits
    torch.testing.assert_close(reloaded, trained, atol=ATOL, rtol=0)


def test_reward_model_from_policy_starts_from_the_sft_policy(sft_lora_run):
    from reasoning_irl.models import load_tokenizer
    from reasoning_irl.rewards.saving import build_reward_model

    cfg, run_dir = sft_lora_run
    folder = run_dir / "best" / "policy"
    inputs = _ids(load_tokenizer(str(folder), cfg.model))
    expected = _sft_policy_logits(folder, cfg, inputs)
    reward_model = build_reward_model(RewardConfig(head="log_prob"), cfg.model, form="airl", backbone=str(folder))
    with torch.no_grad():
        torch.testing.assert_close(reward_model.backbone(**inputs).logits, expected, atol=ATOL, rtol=0)


@pytest.mark.parametrize("key", ["load_in_4bit", "unsloth"])
def test_adapter_folder_with_a_quantised_or_unsloth_load_is_refused(sft_lora_run, key):
    import dataclasses

    from reasoning_irl.models.loading import ModelLoadError, _load_merged_adapter

    cfg, run_dir = sft_lora_run
    folder = run_dir / "best" / "policy"
    with pytest.raises(ModelLoadError, match=f"LoRA adapter folder and model.{key}=true"):
        _load_merged_adapter(folder, str(folder), dataclasses.replace(cfg.model, **{key: True}), True)


def test_a_merged_warm_start_loads_trainable_or_frozen(sft_lora_run):
    from reasoning_irl.models import load_causal_lm

    cfg, run_dir = sft_lora_run
    folder = str(run_dir / "best" / "policy")
    trainable = load_causal_lm(folder, cfg.model)
    assert trainable.training and all(p.requires_grad for p in trainable.parameters())
    frozen = load_causal_lm(folder, cfg.model, trainable=False)
    assert not frozen.training and not any(p.requires_grad for p in frozen.parameters())
