"""Loading policies and reward backbones (hub id, local folder, or the tiny local model), LoRA, and the
shared encoding that places completion tokens."""

from reasoning_irl.models.encoding import (
    EncodedSample,
    collate,
    encode,
    encode_prompt,
    prompt_text,
    token_index_of_char,
)
from reasoning_irl.models.loading import (
    ModelLoadError,
    load_causal_lm,
    load_tokenizer,
    resolve_model_path,
    reward_model_name,
    tokenizer_hash,
)
from reasoning_irl.models.lora import apply_lora
from reasoning_irl.models.tiny import tiny_model_path

__all__ = [
    "EncodedSample",
    "ModelLoadError",
    "apply_lora",
    "collate",
    "encode",
    "encode_prompt",
    "load_causal_lm",
    "load_tokenizer",
    "prompt_text",
    "resolve_model_path",
    "reward_model_name",
    "tiny_model_path",
    "token_index_of_char",
    "tokenizer_hash",
]
