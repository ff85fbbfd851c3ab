"""Building, saving and loading reward models (safetensors folders + ``reward_config.json``).

Folder layout written by :func:`save_reward_model`:

- always: ``reward_config.json`` (head, form, granularity, β, …, the tokenizer hash) and the tokenizer;
- full fine-tuning: a standard Hugging Face model folder (``config.json``, ``model.safetensors``) of
  the trained backbone, ``reward_head.safetensors``, and for ``log_ratio`` the frozen π_ref in
  ``reference/``;
- LoRA: the peft adapter (``adapter_config.json``, ``adapter_model.safetensors``),
  ``reward_head.safetensors`` and the frozen base model in ``base/`` — also π_ref for ``log_ratio``,
  reached by disabling the adapter. The base never changes under LoRA: with ``RewardModel.base_store``
  set (the AIRL trainer sets ``<run>/.reward_base``), it is written there once and every saved folder's
  ``base/`` hard-links those files (copies where links fail), so each folder stays complete on its own
  while a run keeps one copy of the base on disk, not one per checkpoint, ``best/`` and ``final/``. The
  head is kept outside peft's ``modules_to_save`` (unsloth's ``get_peft_model`` accepts only
  ``lm_head``/``embed_tokens`` there): it is marked trainable after the adapter is added and saved on its
  own. A folder from before (the head inside the adapter, no head file) still loads.

:func:`load_reward_model` restores identical scores; asking it for another granularity than the saved
one is an error (the head has only learned the saved positions).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import asdict, fields
from pathlib import Path

import torch
from safetensors.torch import save_file

from reasoning_irl.config.model import TINY, ModelConfig
from reasoning_irl.config.reward import RewardConfig
from reasoning_irl.io import atomic_write_json, make_staging, swap_in
from reasoning_irl.models.loading import (
    ModelLoadError,
    load_causal_lm,
    load_safetensors,
    load_tokenizer,
    resolve_model_path,
    reward_model_name,
)
from reasoning_irl.models.lora import apply_lora
from reasoning_irl.rewards.forms import build_form
from reasoning_irl.rewards.heads import HEAD_ATTRIBUTE, LIKELIHOOD_HEADS, beta_of
from reasoning_irl.rewards.reward_model import RewardModel, attach_head

log = logging.getLogger(__name__)

CONFIG_NAME = "reward_config.json"
HEAD_FILE = "reward_head.safetensors"
#: The base store's list of files and sizes (written last: a store without it is rewritten).
BASE_MANIFEST = "files.json"
FORMAT_VERSION = 1


def build_reward_model(reward: RewardConfig, model: ModelConfig, *, form: str = "gail", gamma: float = 1.0,
                       backbone: str | None = None) -> RewardModel:
    """A fresh reward model from ``model.reward`` (``from_policy``: the policy's weights) or ``backbone``.

    ``log_ratio`` loads the same weights twice, π_ψ trainable and π_ref frozen (with LoRA, π_ref is the
    base with adapters disabled); the head is created in float32 and stays trainable under LoRA (outside
    peft's ``modules_to_save``, which unsloth refuses for it).
    """
    name = backbone or reward_model_name(model)
    if name is None:
        raise ValueError("model.reward is null: there is no reward model to build")
    if reward.head in LIKELIHOOD_HEADS and name == TINY:
        log.warning(f"{reward.head} reward on a randomly initialised 'tiny' backbone: its log-probabilities "
                    "carry no signal; start it from the policy's warm start (model.reward=from_policy)")
    path = resolve_model_path(name, model)
    tokenizer = load_tokenizer(path, model)
    network = load_causal_lm(path, model, trainable=True)
    attach_head(network, reward, potential=build_form(form).needs_potential)
    reference = None
    if reward.head == "log_ratio" and not model.lora_rank:
        reference = load_causal_lm(path, model, trainable=False)
    network = apply_lora(network, model)
    _base_of(network).get_submodule(HEAD_ATTRIBUTE).requires_grad_(True)  # LoRA froze every non-adapter weight
    return RewardModel(network, tokenizer, reward, form=form, gamma=gamma, reference=reference,
                       max_length=model.max_length)


def _base_of(network: torch.nn.Module) -> torch.nn.Module:
    return network.get_base_model() if hasattr(network, "get_base_model") else network


def _save_head(reward_model: RewardModel, directory: Path) -> None:
    head_state = {k: v.detach().contiguous() for k, v in reward_model.head.state_dict().items()}
    save_file(head_state, str(directory / HEAD_FILE))


def _plain_base_state_dict(reward_model: RewardModel) -> dict[str, torch.Tensor]:
    """The base weights under the LoRA layers, with the names of a plain Hugging Face model."""
    out = {}
    for key, value in reward_model.base_model().state_dict().items():
        if "lora_" in key or key.startswith(HEAD_ATTRIBUTE + "."):
            continue
        out[key.replace(".base_layer.", ".")] = value
    return out


def _save_base(reward_model: RewardModel, target: Path) -> None:
    """``target``: the frozen base under the adapter, linked from ``reward_model.base_store`` when it has one."""
    store = reward_model.base_store
    if store is None:
        reward_model.base_model().save_pretrained(target, state_dict=_plain_base_state_dict(reward_model))
        return
    store = Path(store)
    manifest = store / BASE_MANIFEST
    files = json.loads(manifest.read_text()) if manifest.is_file() else None
    if not files or any(not (store / n).is_file() or (store / n).stat().st_size != size for n, size in files.items()):
        store.parent.mkdir(parents=True, exist_ok=True)
        tmp = make_staging(store)  # written whole, then swapped in: a crash leaves no half store behind
        reward_model.base_model().save_pretrained(tmp, state_dict=_plain_base_state_dict(reward_model))
        files = {p.name: p.stat().st_size for p in sorted(tmp.iterdir()) if p.is_file()}
        atomic_write_json(tmp / BASE_MANIFEST, files)
        swap_in(tmp, store)
    target.mkdir(parents=True, exist_ok=True)
    for name in files:
        try:
            os.link(store / name, target / name)
        except OSError:  # another file system, or no hard links: a copy
            shutil.copy2(store / name, target / name)


def save_reward_model(reward_model: RewardModel, directory: str | os.PathLike) -> Path:
    """Write ``reward_model`` to ``directory`` (layout in the module docstring)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    reward_model.tokenizer.save_pretrained(directory)
    base = reward_model.base_model()
    if reward_model.is_lora:
        reward_model.backbone.save_pretrained(directory)
        _save_base(reward_model, directory / "base")
        if not hasattr(reward_model.head, "modules_to_save"):  # an older folder's head lives in the adapter
            _save_head(reward_model, directory)
    else:
        state = {k: v for k, v in base.state_dict().items() if not k.startswith(HEAD_ATTRIBUTE + ".")}
        base.save_pretrained(directory, state_dict=state)
        _save_head(reward_model, directory)
        if reward_model.reference is not None:
            reward_model.reference.save_pretrained(directory / "reference")
    atomic_write_json(directory / CONFIG_NAME, {
        "format_version": FORMAT_VERSION,
        # β as used, not null: a later change of the head's default must not change a saved model
        "reward": {**asdict(reward_model.config), "beta": beta_of(reward_model.config)},
        "form": reward_model.form.name,
        "gamma": getattr(reward_model.form, "gamma", 1.0),
        "lora": reward_model.is_lora,
        "max_length": reward_model.max_length,
        "tokenizer_hash": reward_model.tokenizer_hash,
        # Repeated at the top level for readers that only need these (evaluation, plots).
        "head": reward_model.config.head,
        "granularity": reward_model.config.granularity,
        "beta": beta_of(reward_model.config),
    })
    return directory


#: Keys of ``reward_config.json`` that loading needs.
REQUIRED_KEYS = ("reward", "form", "lora", "tokenizer_hash")


def read_reward_config(directory: str | os.PathLike) -> dict:
    path = Path(directory) / CONFIG_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: {directory} is not a saved reward model folder")
    again = "the reward model folder is damaged: save it again, or point model.reward at another one"
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise ModelLoadError(f"{path}: not valid JSON ({str(err).splitlines()[0]}); {again}") from None
    if not isinstance(saved, dict):
        raise ModelLoadError(f"{path}: expected a JSON object, got {type(saved).__name__}; {again}")
    missing = [k for k in REQUIRED_KEYS if k not in saved]
    if missing or not isinstance(saved["reward"], dict):
        what = f"lacks {', '.join(map(repr, missing))}" if missing else "has a 'reward' that is not an object"
        raise ModelLoadError(f"{path} {what}; {again}")
    return saved


def load_reward_model(directory: str | os.PathLike, *, granularity: str | None = None, trainable: bool = False,
                      model: ModelConfig | None = None) -> RewardModel:
    """Load a folder written by :func:`save_reward_model`; ``granularity`` (if given) must match the saved one.

    ``model`` supplies loading switches (dtype, pickles, remote code); its names are not used.
    """
    directory = Path(directory)
    saved = read_reward_config(directory)
    known = {f.name for f in fields(RewardConfig)}
    config = RewardConfig(**{k: v for k, v in saved["reward"].items() if k in known})
    model = model or ModelConfig()
    form = saved["form"]
    tokenizer = load_tokenizer(str(directory), model)
    if saved["lora"]:
        from peft import PeftModel

        network = load_causal_lm(str(directory / "base"), model, trainable=trainable)
        attach_head(network, config, potential=build_form(form).needs_potential)
        network = PeftModel.from_pretrained(network, str(directory), is_trainable=trainable)
        if (directory / HEAD_FILE).is_file():
            head = _base_of(network).get_submodule(HEAD_ATTRIBUTE)
            head.load_state_dict(load_safetensors(directory / HEAD_FILE, f"the reward model {directory}"))
            head.requires_grad_(trainable)
        reference = None
    else:
        network = load_causal_lm(str(directory), model, trainable=trainable)
        head = attach_head(network, config, potential=build_form(form).needs_potential)
        head.load_state_dict(load_safetensors(directory / HEAD_FILE, f"the reward model {directory}"))
        head.requires_grad_(trainable)
        reference = (load_causal_lm(str(directory / "reference"), model, trainable=False)
                     if config.head == "log_ratio" else None)
    reward_model = RewardModel(network, tokenizer, config, form=form, gamma=saved.get("gamma", 1.0),
                               reference=reference, max_length=saved.get("max_length"))
    if reward_model.tokenizer_hash != saved["tokenizer_hash"]:
        raise ValueError(f"the tokenizer in {directory} does not match the one the reward model was trained with "
                         f"(hash {reward_model.tokenizer_hash[:12]} ≠ {saved['tokenizer_hash'][:12]})")
    reward_model.check_granularity(granularity)
    reward_model.train(trainable)
    return reward_model
