"""Loading: names and paths, offline hub ids, safetensors only, GPU-only switches, tokenizer hash."""

from __future__ import annotations

import dataclasses
import shutil
import time

import pytest
import torch

from reasoning_irl.config.model import ModelConfig
from reasoning_irl.models import loading
from reasoning_irl.models.loading import (
    ModelLoadError,
    load_causal_lm,
    load_tokenizer,
    resolve_model_path,
    reward_model_name,
    tokenizer_hash,
)


def test_resolve_names(tiny_cfg, tiny_paths, arch, tmp_path):
    assert resolve_model_path("tiny", tiny_cfg) == tiny_paths[arch]
    assert resolve_model_path("from_policy", tiny_cfg) == tiny_paths[arch]  # the policy is tiny
    assert resolve_model_path(str(tmp_path), tiny_cfg) == str(tmp_path)
    with pytest.raises(ModelLoadError, match="does not exist"):
        resolve_model_path(str(tmp_path / "missing" / "policy"), tiny_cfg)
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(ModelLoadError, match="is a file"):
        resolve_model_path(str(tmp_path / "file.txt"), tiny_cfg)


def test_reward_model_name():
    assert reward_model_name(ModelConfig(policy="org/policy")) == "org/policy"  # from_policy by default
    assert reward_model_name(ModelConfig(policy="org/policy", reward="tiny")) == "tiny"
    assert reward_model_name(ModelConfig(reward=None)) is None


def test_unknown_hub_id_offline_fails_quickly_with_one_line(tiny_cfg):
    start = time.perf_counter()
    for load in (load_tokenizer, load_causal_lm):
        with pytest.raises(ModelLoadError) as err:
            load("no-such-org/no-such-model-123", tiny_cfg)
        message = str(err.value)
        assert "\n" not in message
        assert "'no-such-org/no-such-model-123'" in message and "HF_HUB_OFFLINE" in message
        assert "local folder" in message
    assert time.perf_counter() - start < 5


def test_load_tokenizer_and_model(tiny_cfg):
    tok = load_tokenizer("tiny", tiny_cfg)
    assert tok.padding_side == "left"
    assert load_tokenizer("tiny", tiny_cfg, padding_side="right").padding_side == "right"
    with pytest.raises(ValueError, match="padding_side"):
        load_tokenizer("tiny", tiny_cfg, padding_side="center")

    model = load_causal_lm("tiny", tiny_cfg)
    assert model.training and all(p.requires_grad for p in model.parameters())
    assert next(model.parameters()).dtype == torch.float32
    frozen = load_causal_lm("tiny", tiny_cfg, trainable=False)
    assert not frozen.training and not any(p.requires_grad for p in frozen.parameters())
    bf16 = load_causal_lm("tiny", dataclasses.replace(tiny_cfg, dtype="bfloat16"), trainable=False)
    assert next(bf16.parameters()).dtype == torch.bfloat16


def test_safetensors_only_and_trust_remote_code_from_config(tiny_cfg, monkeypatch):
    from transformers import AutoModelForCausalLM

    seen = {}

    def capture(path, **kwargs):
        seen.update(kwargs)
        raise OSError("stop here")

    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained", capture)
    with pytest.raises(ModelLoadError, match="stop here"):
        load_causal_lm("tiny", tiny_cfg)
    assert seen["use_safetensors"] is True and seen["trust_remote_code"] is False
    with pytest.raises(ModelLoadError):
        load_causal_lm("tiny", dataclasses.replace(tiny_cfg, trust_remote_code=True, allow_pickle=True))
    assert seen["use_safetensors"] is None and seen["trust_remote_code"] is True


def test_pickle_only_folder_is_refused_unless_allowed(tiny_cfg, tiny_paths, arch, tmp_path):
    from transformers import AutoModelForCausalLM

    folder = tmp_path / "pickled"
    folder.mkdir()
    shutil.copy(f"{tiny_paths[arch]}/config.json", folder)
    reference = AutoModelForCausalLM.from_pretrained(tiny_paths[arch]).eval()
    torch.save(reference.state_dict(), folder / "pytorch_model.bin")

    with pytest.raises(ModelLoadError) as err:
        load_causal_lm(str(folder), tiny_cfg)
    message = str(err.value)
    assert "pytorch_model.bin" in message and "model.allow_pickle=true" in message and "safetensors" in message

    allowed = load_causal_lm(str(folder), dataclasses.replace(tiny_cfg, allow_pickle=True), trainable=False)
    x = torch.tensor([[5, 6, 7, 8]])
    with torch.no_grad():
        assert torch.equal(allowed(x).logits, reference(x).logits)


def test_folder_without_weights_is_reported(tiny_cfg, tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelLoadError, match="holds no weights"):
        load_causal_lm(str(tmp_path), tiny_cfg)


@pytest.mark.parametrize("key", ["unsloth", "load_in_4bit"])
def test_gpu_only_switches_fail_clearly_on_cpu(tiny_cfg, key):
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present: the CPU refusal cannot be checked here")
    with pytest.raises(ModelLoadError, match=rf"model\.{key}=true needs a CUDA GPU"):
        load_causal_lm("tiny", dataclasses.replace(tiny_cfg, **{key: True}))


def test_tokenizer_hash_is_shared_by_both_tiny_archs_and_sees_changes(tiny_tokenizers, tiny_paths):
    from transformers import PreTrainedTokenizerFast

    qwen, llama = tiny_tokenizers["qwen2"], tiny_tokenizers["llama"]
    assert type(qwen).__name__ != type(llama).__name__  # Qwen2Tokenizer vs the generic backend
    digest = tokenizer_hash(qwen)
    assert len(digest) == 64 and digest == tokenizer_hash(llama)
    assert tokenizer_hash(PreTrainedTokenizerFast.from_pretrained(tiny_paths["qwen2"])) == digest

    other_template = PreTrainedTokenizerFast.from_pretrained(tiny_paths["qwen2"])
    other_template.chat_template = "{{ messages[0]['content'] }}"
    assert tokenizer_hash(other_template) != digest
    extra_token = PreTrainedTokenizerFast.from_pretrained(tiny_paths["qwen2"])
    extra_token.add_special_tokens({"extra_special_tokens": ["<|step|>"]})
    assert tokenizer_hash(extra_token) != digest


def test_hub_ids_pass_through_when_online_and_offline_follows_the_environment(tiny_cfg, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    assert not loading._offline()
    assert resolve_model_path("Qwen/Qwen2.5-3B-Instruct", tiny_cfg) == "Qwen/Qwen2.5-3B-Instruct"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert loading._offline()
