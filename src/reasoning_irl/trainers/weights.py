"""Model weights of a checkpoint: written with ``save_pretrained`` (safetensors), read back in place."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file


def save_model(model: Any, folder: Path, tokenizer: Any = None) -> None:
    """``model.save_pretrained(folder)`` in safetensors (and ``tokenizer``, when given, beside it)."""
    model.save_pretrained(folder, safe_serialization=True) if _accepts_safe(model) else model.save_pretrained(
        folder
    )
    if tokenizer is not None:
        tokenizer.save_pretrained(folder)


def _accepts_safe(model: Any) -> bool:
    # transformers 5 always writes safetensors and dropped the flag; peft still accepts it.
    import inspect

    return "safe_serialization" in inspect.signature(model.save_pretrained).parameters


def load_weights(model: torch.nn.Module, folder: str | os.PathLike) -> None:
    """Load the safetensors weights of a ``save_pretrained`` folder into ``model`` in place.

    A PEFT model reads ``adapter_model.safetensors``; a full model reads ``model.safetensors`` (or its
    shards). Keys missing from the file are allowed only for weights tied to another loaded weight
    (the output embedding of a tied model).
    """
    folder = Path(folder)
    adapter = folder / "adapter_model.safetensors"
    if adapter.is_file():
        from peft import set_peft_model_state_dict

        result = set_peft_model_state_dict(model, load_file(str(adapter)))
        if getattr(result, "unexpected_keys", None):
            raise KeyError(f"{adapter}: unexpected adapter keys {result.unexpected_keys[:5]}")
        return
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        files = sorted(set(json.loads(index.read_text())["weight_map"].values()))
    elif (folder / "model.safetensors").is_file():
        files = ["model.safetensors"]
    else:
        raise FileNotFoundError(
            f"{folder} holds no safetensors weights (model.safetensors or adapter_model.safetensors)"
        )
    weights: dict[str, torch.Tensor] = {}
    for name in files:
        weights.update(load_file(str(folder / name)))
    result = model.load_state_dict(weights, strict=False)
    loaded = {id(p) for n, p in model.named_parameters() if n in weights}
    params = dict(model.named_parameters(remove_duplicate=False))
    untied = [k for k in result.missing_keys if k in params and id(params[k]) not in loaded]
    if result.unexpected_keys or untied:
        raise KeyError(
            f"{folder}: weights do not match the model (missing {untied[:5]}, "
            f"unexpected {list(result.unexpected_keys)[:5]})"
        )
