"""Randomly initialised models with published architectures, and a tokenizer built locally (no download).

:func:`build_random_model` writes a Hugging Face folder (safetensors + config + tokenizer) whose model has
exactly the layer sizes of a published checkpoint, with random weights: what ``scripts/gpu_check.py``
needs to measure memory and speed at the real shapes on a machine without hub access. The tokenizer is
the tiny byte-level BPE of :mod:`reasoning_irl.models.tiny`, padded with added tokens to the model's
vocabulary size, so sampled ids anywhere in the vocabulary decode and re-encode to themselves.

The values are those of the checkpoints' ``config.json`` (Qwen/Qwen2.5-0.5B, Qwen/Qwen2.5-3B); ``toy``
is a small model of the same family for CPU dry runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: Architecture values per name (Qwen2 family: vocabulary 151,936, tied input/output embeddings).
ARCHITECTURES: dict[str, dict[str, Any]] = {
    "qwen2.5-0.5b": {"hidden_size": 896, "num_hidden_layers": 24, "num_attention_heads": 14,
                     "num_key_value_heads": 2, "intermediate_size": 4864, "vocab_size": 151936,
                     "tie_word_embeddings": True, "rope_theta": 1_000_000.0, "rms_norm_eps": 1e-6,
                     "max_position_embeddings": 32768},
    "qwen2.5-3b": {"hidden_size": 2048, "num_hidden_layers": 36, "num_attention_heads": 16,
                   "num_key_value_heads": 2, "intermediate_size": 11008, "vocab_size": 151936,
                   "tie_word_embeddings": True, "rope_theta": 1_000_000.0, "rms_norm_eps": 1e-6,
                   "max_position_embeddings": 32768},
    "toy": {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
            "intermediate_size": 128, "vocab_size": 1024, "tie_word_embeddings": True, "rope_theta": 10_000.0,
            "rms_norm_eps": 1e-6, "max_position_embeddings": 4096},
}
#: Vocabulary of the trained BPE before padding (the tiny model's).
BPE_VOCAB = 512


def build_tokenizer(vocab_size: int):
    """The tiny BPE tokenizer padded with ``<|pad_i|>`` added tokens to exactly ``vocab_size`` entries."""
    from reasoning_irl.models.tiny import build_tiny_tokenizer

    tokenizer = build_tiny_tokenizer(BPE_VOCAB)
    missing = vocab_size - len(tokenizer)
    if missing < 0:
        raise ValueError(f"vocab_size={vocab_size} is smaller than the BPE vocabulary ({len(tokenizer)})")
    tokenizer.add_tokens([f"<|pad_{i}|>" for i in range(missing)])
    return tokenizer


def build_random_model(name: str, folder: str | Path, *, dtype: str = "bfloat16", device: str = "cpu") -> Path:
    """Write a randomly initialised (seed 0) ``name`` model and its tokenizer into ``folder``; return it.

    ``device`` is where the weights are initialised (``cuda`` is much faster for billions of parameters).
    """
    import torch
    from transformers import AutoModelForCausalLM, Qwen2Config

    if name not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {name!r}; use one of {', '.join(ARCHITECTURES)}")
    folder = Path(folder)
    if (folder / "config.json").is_file() and (folder / "tokenizer.json").is_file():
        return folder
    values = ARCHITECTURES[name]
    tokenizer = build_tokenizer(values["vocab_size"])
    config = Qwen2Config(**values, pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id)
    with torch.random.fork_rng(devices=[]), torch.device(device):
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_config(config, dtype=getattr(torch, dtype))
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    del model
    return folder


def parameter_count(name: str) -> int:
    """Parameters of ``name`` computed from its architecture values (tied embeddings counted once)."""
    v = ARCHITECTURES[name]
    h, layers, heads, kv, inter, vocab = (v[k] for k in ("hidden_size", "num_hidden_layers", "num_attention_heads",
                                                          "num_key_value_heads", "intermediate_size", "vocab_size"))
    head_dim = h // heads
    attention = h * h + h + 2 * (h * kv * head_dim + kv * head_dim) + h * h  # q (+bias), k, v (+bias), o
    block = attention + 3 * h * inter + 2 * h
    return vocab * h * (1 if v["tie_word_embeddings"] else 2) + layers * block + h
