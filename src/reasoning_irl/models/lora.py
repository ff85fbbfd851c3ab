"""LoRA adapters through peft (or unsloth's wrapper when ``model.unsloth=true``).

``model.lora_rank`` None or 0 means full fine-tuning: :func:`apply_lora` then returns the model as it is.
Otherwise only the LoRA matrices of ``model.lora_target_modules`` are trainable, plus every module named
in ``modules_to_save``, which peft trains in full and saves with the adapter (unsloth accepts only
``lm_head``/``embed_tokens`` there; the reward head is therefore kept outside it, see
:mod:`reasoning_irl.rewards.saving`).
"""

from __future__ import annotations

from collections.abc import Sequence

from reasoning_irl.config.model import ModelConfig


def lora_alpha(cfg: ModelConfig) -> float:
    """``model.lora_alpha``, or 2 × rank when it is None (the reference runs' choice)."""
    return float(cfg.lora_alpha) if cfg.lora_alpha is not None else 2.0 * (cfg.lora_rank or 0)


def apply_lora(model, cfg: ModelConfig, modules_to_save: Sequence[str] | None = None):
    """Wrap ``model`` with LoRA adapters as configured; full fine-tuning returns ``model`` unchanged."""
    if not cfg.lora_rank:
        return model
    targets = list(cfg.lora_target_modules)
    leaf_names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    missing = [t for t in targets if t not in leaf_names]
    if not targets or missing:
        raise ValueError(
            f"model.lora_target_modules names {missing or targets} that this model does not have; "
            f"its modules include {sorted(n for n in leaf_names if n.endswith('proj'))}"
        )
    to_save = list(modules_to_save) if modules_to_save else None
    if cfg.unsloth:
        from unsloth import FastLanguageModel

        return FastLanguageModel.get_peft_model(
            model, r=cfg.lora_rank, lora_alpha=lora_alpha(cfg), lora_dropout=cfg.lora_dropout,
            target_modules=targets, modules_to_save=to_save, bias="none",
            use_gradient_checkpointing="unsloth" if cfg.gradient_checkpointing else False,
        )
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    if cfg.load_in_4bit:
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    config = LoraConfig(
        r=cfg.lora_rank,
        lora_alpha=lora_alpha(cfg),
        lora_dropout=cfg.lora_dropout,
        target_modules=targets,
        modules_to_save=to_save,
        bias="none",
        # A causal LM gets peft's causal-LM wrapper (generate, TRL); another module (a backbone with a
        # reward head) the generic one, which only forwards.
        task_type="CAUSAL_LM" if hasattr(model, "prepare_inputs_for_generation") else None,
    )
    return get_peft_model(model, config)


def share_frozen_base(source, target) -> int:
    """Point each frozen weight of ``target``'s base at ``source``'s weight of the same name, shape and dtype.

    Two LoRA models of one base — the policy and a ``from_policy`` reward model, loaded from the same
    folder — then hold one copy of it: under LoRA no optimiser touches it (``requires_grad`` is False in
    both), each keeps its own adapters and trainable modules, and π_ref (adapters disabled) is that same
    base. Call it with ``target`` on the CPU before moving it to ``source``'s device: its own copy is freed
    and never reaches the GPU. Returns the bytes no longer held twice.
    """
    mine = dict(_base(source).named_parameters())
    shared = 0
    for name, weight in _base(target).named_parameters():
        other = mine.get(name)
        if (weight.requires_grad or other is None or other.requires_grad or other.shape != weight.shape
                or other.dtype != weight.dtype or other.data_ptr() == weight.data_ptr()):
            continue
        weight.data = other.data
        shared += weight.numel() * weight.element_size()
    return shared


def _base(model):
    return model.get_base_model() if hasattr(model, "get_base_model") else model
