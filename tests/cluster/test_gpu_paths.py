"""The optional GPU paths (``gpu`` extra: unsloth, bitsandbytes; docs/CLUSTER.md; the vLLM backend was removed).

Here (no CUDA) the guards are checked: each path asked for where it cannot run fails with a clear error
naming the key and the fix. The tests marked ``gpu`` need a CUDA device (and the ``gpu`` extra) and are
skipped here with the reason; each docstring says what it checks on a GPU machine.
"""

from __future__ import annotations

import importlib.util

import pytest
import torch

from reasoning_irl.config.model import ModelConfig
from reasoning_irl.config.sampling import SamplingConfig

NO_CUDA = not torch.cuda.is_available()
gpu = pytest.mark.gpu


def _needs(package: str):
    return pytest.mark.skipif(NO_CUDA or importlib.util.find_spec(package) is None,
                              reason=f"needs a CUDA device and the '{package}' package (pip install '.[gpu]')")


# --------------------------------------------------------------------------------------------------
# Guards (run everywhere)


def test_vllm_backend_is_refused_everywhere():
    with pytest.raises(ValueError, match="sampling.backend=vllm is not supported"):
        SamplingConfig(backend="vllm")


@pytest.mark.skipif(not NO_CUDA, reason="checks the error raised where CUDA is absent")
@pytest.mark.parametrize("key", ["load_in_4bit", "unsloth"])
def test_quantised_and_unsloth_loading_refused_without_cuda(key):
    from reasoning_irl.models.loading import ModelLoadError, load_causal_lm

    cfg = ModelConfig(**{key: True})
    with pytest.raises(ModelLoadError, match=f"model.{key}"):
        load_causal_lm("tiny", cfg)


# --------------------------------------------------------------------------------------------------
# GPU only


@gpu
@_needs("bitsandbytes")
def test_load_in_4bit_gives_a_trainable_lora_model():
    """``model.load_in_4bit=true`` loads 4-bit weights through bitsandbytes and LoRA still trains: one
    optimiser step changes the LoRA weights and the loss stays finite."""
    from reasoning_irl.models import apply_lora, load_causal_lm

    cfg = ModelConfig(load_in_4bit=True, lora_rank=8)
    model = apply_lora(load_causal_lm("tiny", cfg), cfg)
    ids = torch.randint(0, 100, (2, 16)).cuda()
    loss = model(input_ids=ids, labels=ids).loss
    assert torch.isfinite(loss)
    loss.backward()
    assert any(p.grad is not None for n, p in model.named_parameters() if "lora_" in n)


@gpu
@_needs("unsloth")
def test_unsloth_fast_path_loads_and_generates():
    """``model.unsloth=true`` loads through unsloth's FastLanguageModel and generates the same greedy
    continuation as the plain transformers model of the same weights."""
    from reasoning_irl.models import load_causal_lm, load_tokenizer

    cfg = ModelConfig(unsloth=True)
    tokenizer = load_tokenizer("tiny", cfg)
    model = load_causal_lm("tiny", cfg)
    ids = torch.tensor([tokenizer("1 + 2 =", add_special_tokens=False)["input_ids"]]).cuda()
    out = model.generate(ids, do_sample=False, max_new_tokens=4, pad_token_id=tokenizer.pad_token_id)
    assert out.shape[1] > ids.shape[1]


@gpu
@pytest.mark.skipif(NO_CUDA or torch.cuda.device_count() < 2, reason="needs 2 CUDA devices (NCCL)")
def test_policy_update_matches_one_process_on_two_gpus():
    """The two-process policy-update check of test_distributed_airl.py, on 2 GPUs with NCCL
    (``torchrun --nproc_per_node 2``): identical parameters on both ranks after every step, and within
    the stated tolerance of one process on the whole batch."""
    pytest.skip("run tests/cluster/test_distributed_airl.py with CUDA_VISIBLE_DEVICES=0,1 on a GPU node")
