"""Loading policies and reward backbones: a hub id, a local folder, or the tiny local model.

Rules (docs/ARCHITECTURE.md (Runs and outputs); docs/CLUSTER.md):

- ``tiny`` is built locally and cached (:mod:`reasoning_irl.models.tiny`); ``from_policy`` means "the
  same weights as ``cfg.policy``"; an existing folder is used as is; anything else is a hub id.
- Weights come from safetensors only. A folder that holds only pickled weights (``pytorch_model.bin``)
  is refused unless ``model.allow_pickle=true``; otherwise ``use_safetensors=True`` is passed, so
  transformers never unpickles a file.
- Repository code runs only when ``model.trust_remote_code=true``.
- A hub id that is neither cached nor reachable (``HF_HUB_OFFLINE=1``) fails at once with one line that
  names the id and what to do, instead of transformers' long retry and traceback.
- ``model.unsloth`` / ``model.load_in_4bit`` need CUDA and their package; asked for where they cannot
  run, they fail with an error naming the key.
- A LoRA adapter folder (``adapter_config.json``, e.g. an SFT run's ``best/policy``) is loaded as its
  base with the adapter **merged in** (in float32, then cast to ``model.dtype``): the model computes the
  adapted policy, and a later :func:`~reasoning_irl.models.lora.apply_lora` adds a fresh, zero-initialised
  adapter on top — so a LoRA warm start is kept, and disabling the new adapter (π_ref) gives the warm
  start, not the original base. The merged model's ``name_or_path`` is the adapter folder, so an adapter
  trained on top of it records that folder as its base and reloads through the same chain.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
from pathlib import Path

from reasoning_irl.config.model import FROM_POLICY, TINY, ModelConfig

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-]+)?$")
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
ADAPTER_CONFIG = "adapter_config.json"


class ModelLoadError(RuntimeError):
    """A model or tokenizer cannot be loaded; the message names it and says what to do."""


def _offline() -> bool:
    from huggingface_hub import constants

    env = (os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or "").upper()
    return bool(constants.HF_HUB_OFFLINE) or env in {"1", "ON", "YES", "TRUE"}


def _hub_snapshot(repo_id: str) -> Path | None:
    """The local snapshot folder of a cached hub repository (None when it is not in the HF cache)."""
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(repo_id, "config.json")
    return Path(cached).parent if isinstance(cached, str) else None


def reward_model_name(cfg: ModelConfig) -> str | None:
    """What ``cfg.reward`` names, with ``from_policy`` replaced by the policy (None: no reward model)."""
    return cfg.policy if cfg.reward == FROM_POLICY else cfg.reward


def resolve_model_path(name: str, cfg: ModelConfig) -> str:
    """A loadable name: the tiny model's cached folder, a local folder, or a hub id passed through.

    ``from_policy`` resolves ``cfg.policy``. A name that looks like a path but does not exist, and a hub
    id that is not cached while the hub is offline, raise :class:`ModelLoadError`.
    """
    if name == FROM_POLICY:
        if cfg.policy == FROM_POLICY:
            raise ModelLoadError("model.policy=from_policy is circular; give the policy a hub id, a folder or 'tiny'")
        return resolve_model_path(cfg.policy, cfg)
    if name == TINY:
        from reasoning_irl.models.tiny import tiny_model_path

        return str(tiny_model_path(cfg))
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path)
    if path.exists():
        raise ModelLoadError(f"model {name!r} is a file; give the folder that holds config.json and the weights")
    if not _HUB_ID.match(name):
        raise ModelLoadError(f"model folder {name!r} does not exist; give an existing folder, a hub id or 'tiny'")
    if _offline() and _hub_snapshot(name) is None:
        raise ModelLoadError(
            f"model {name!r} is not a local folder and not in the Hugging Face cache, and the hub is offline "
            f"(HF_HUB_OFFLINE=1): pass a local folder (model.policy=/path/to/model), download it first "
            f"(`hf download {name}`) where the hub is reachable, or unset HF_HUB_OFFLINE"
        )
    return name


def _check_weight_files(folder: Path, name: str, cfg: ModelConfig) -> None:
    """Refuse a folder whose only weights are pickled (unless ``allow_pickle``) or that has no weights."""
    files = [p.name for p in folder.iterdir() if p.is_file()]
    if any(f.endswith(".safetensors") or f.endswith(".safetensors.index.json") for f in files):
        return
    pickled = sorted(f for f in files if f.endswith(_PICKLE_SUFFIXES) or f.endswith(".bin.index.json"))
    if pickled and not cfg.allow_pickle:
        raise ModelLoadError(
            f"model {name!r} has only pickled weights ({', '.join(pickled)}), which can run arbitrary code when "
            f"loaded; convert them to safetensors (model.save_pretrained(folder)) or set model.allow_pickle=true "
            f"if you trust the file"
        )
    if not pickled:
        raise ModelLoadError(f"model folder {name!r} holds no weights (*.safetensors); is it a model folder?")


def _check_gpu_options(cfg: ModelConfig) -> None:
    import torch

    for key, package in (("unsloth", "unsloth"), ("load_in_4bit", "bitsandbytes")):
        if not getattr(cfg, key):
            continue
        if not torch.cuda.is_available():
            raise ModelLoadError(f"model.{key}=true needs a CUDA GPU and none is available; set model.{key}=false")
        if importlib.util.find_spec(package) is None:
            raise ModelLoadError(
                f"model.{key}=true needs the '{package}' package, which is not installed; "
                f"pip install {package} (GPU only) or set model.{key}=false"
            )


def load_tokenizer(name_or_path: str, cfg: ModelConfig, padding_side: str = "left"):
    """The tokenizer of a model, with ``padding_side`` set and a pad token guaranteed.

    A tokenizer without a pad token (Llama 3) gets its eos token as pad: our collation builds attention
    masks from lengths, never from pad ids, so this is safe.
    """
    from transformers import AutoTokenizer

    if padding_side not in ("left", "right"):
        raise ValueError(f"padding_side={padding_side!r}; use 'left' or 'right'")
    path = resolve_model_path(name_or_path, cfg)
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            path, trust_remote_code=cfg.trust_remote_code, padding_side=padding_side
        )
    except OSError as err:
        raise ModelLoadError(f"cannot load the tokenizer of {name_or_path!r} ({path}): {_first_line(err)}") from None
    except Exception as err:  # a truncated tokenizer.json: UnicodeDecodeError, the tokenizers library's errors
        raise ModelLoadError(
            f"cannot load the tokenizer of {name_or_path!r} ({path}): its files are damaged "
            f"({type(err).__name__}: {_first_line(err)}); copy or save the model folder again"
        ) from None
    tokenizer.padding_side = padding_side
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise ModelLoadError(f"tokenizer of {name_or_path!r} has neither a pad nor an eos token")
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_causal_lm(name_or_path: str, cfg: ModelConfig, trainable: bool = True):
    """A causal LM in ``cfg.dtype``: in train mode with gradients (``trainable``; gradient checkpointing when
    ``model.gradient_checkpointing``) or frozen in eval mode."""
    import torch

    _check_gpu_options(cfg)
    path = resolve_model_path(name_or_path, cfg)
    # Online, use_safetensors=True already refuses pickles; offline we check what the cache holds.
    folder = Path(path) if Path(path).is_dir() else _hub_snapshot(path) if _offline() else None
    if folder is not None:
        _check_weight_files(folder, name_or_path, cfg)
    if folder is not None and (folder / ADAPTER_CONFIG).is_file():
        return _load_merged_adapter(folder, name_or_path, cfg, trainable)
    dtype = getattr(torch, cfg.dtype)
    try:
        if cfg.unsloth:
            from unsloth import FastLanguageModel

            model, _ = FastLanguageModel.from_pretrained(
                model_name=path, max_seq_length=cfg.max_length, dtype=dtype, load_in_4bit=cfg.load_in_4bit,
                trust_remote_code=cfg.trust_remote_code,
            )
        else:
            from transformers import AutoModelForCausalLM

            kwargs = {}
            if cfg.load_in_4bit:
                from transformers import BitsAndBytesConfig

                kwargs["quantization_config"] = BitsAndBytesConfig(
                    load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=dtype,
                    bnb_4bit_use_double_quant=True,
                )
                kwargs["device_map"] = {"": torch.cuda.current_device()}
            model = AutoModelForCausalLM.from_pretrained(
                path,
                dtype=dtype,
                trust_remote_code=cfg.trust_remote_code,
                use_safetensors=None if cfg.allow_pickle else True,
                **kwargs,
            )
    except OSError as err:
        raise ModelLoadError(f"cannot load model {name_or_path!r} ({path}): {_first_line(err)}") from None
    except Exception as err:
        damaged = damaged_safetensors(folder) if folder is not None else None
        if damaged is None:
            raise
        raise ModelLoadError(
            f"{damaged} is damaged ({_first_line(err)}): a truncated or partly copied file; copy or save "
            f"the model {name_or_path!r} again"
        ) from None
    return _set_mode(model, cfg, trainable)


def _set_mode(model, cfg: ModelConfig, trainable: bool):
    """Train mode with gradients (and gradient checkpointing when ``model.gradient_checkpointing``), or frozen."""
    model.train(trainable)
    if not trainable:  # (never requires_grad_(True): 4-bit weights are integer tensors)
        model.requires_grad_(False)
    if trainable and cfg.gradient_checkpointing and not cfg.unsloth:  # unsloth sets its own in apply_lora
        # Non-reentrant checkpointing: gradients reach LoRA weights without enable_input_require_grads.
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.config.use_cache = False
    return model


def _load_merged_adapter(folder: Path, name: str, cfg: ModelConfig, trainable: bool):
    """The base model named by the adapter folder's ``adapter_config.json`` with the adapter merged in."""
    import dataclasses

    import torch
    from peft import PeftModel

    if cfg.load_in_4bit or cfg.unsloth:
        key = "load_in_4bit" if cfg.load_in_4bit else "unsloth"
        raise ModelLoadError(
            f"model {name!r} is a LoRA adapter folder and model.{key}=true cannot merge it exactly; load it with "
            f"model.{key}=false, or merge it into a full model folder first (peft's merge_and_unload)"
        )
    base_name = json.loads((folder / ADAPTER_CONFIG).read_text(encoding="utf-8")).get("base_model_name_or_path")
    if not base_name:
        raise ModelLoadError(f"adapter folder {name!r} names no base model (base_model_name_or_path in "
                             f"{ADAPTER_CONFIG}); set it to the folder or hub id the adapter was trained on")
    base = load_causal_lm(base_name, dataclasses.replace(cfg, dtype="float32"), trainable=False)
    merged = PeftModel.from_pretrained(base, str(folder)).merge_and_unload()
    merged = merged.to(getattr(torch, cfg.dtype))
    merged.name_or_path = merged.config._name_or_path = str(folder)
    merged.requires_grad_(trainable)  # the base was loaded frozen; no 4-bit weights on this path
    return _set_mode(merged, cfg, trainable)


def tokenizer_hash(tokenizer) -> str:
    """sha256 of what decides token ids and their meaning: vocabulary, merges, normaliser and
    pre-tokeniser, special tokens and chat template. Equal hashes ⇒ the reward model and the policy
    can share token positions."""
    backend = json.loads(tokenizer.backend_tokenizer.to_str())
    payload = {
        "vocab": sorted(tokenizer.get_vocab().items(), key=lambda kv: kv[1]),
        "merges": backend.get("model", {}).get("merges"),
        "normalizer": backend.get("normalizer"),
        "pre_tokenizer": backend.get("pre_tokenizer"),
        "special": {name: getattr(tokenizer, name) for name in ("bos_token", "eos_token", "pad_token", "unk_token")},
        "added": sorted((i, t.content, t.special) for i, t in tokenizer.added_tokens_decoder.items()),
        "chat_template": tokenizer.chat_template or "",
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def damaged_safetensors(folder: str | os.PathLike) -> Path | None:
    """The first ``*.safetensors`` file directly in ``folder`` whose header or size is inconsistent, or None."""
    from safetensors import safe_open

    for file in sorted(Path(folder).glob("*.safetensors")):
        try:
            with safe_open(str(file), framework="pt"):
                pass
        except Exception:  # SafetensorError: "incomplete metadata, file not fully covered", bad header, …
            return file
    return None


def load_safetensors(path: str | os.PathLike, what: str) -> dict:
    """``safetensors.torch.load_file`` with a damaged file reported as one line naming it."""
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except FileNotFoundError:
        raise ModelLoadError(f"{path} does not exist; {what} is incomplete: save it again") from None
    except Exception as err:
        raise ModelLoadError(
            f"{path} is damaged ({_first_line(err)}): a truncated or partly copied file; save or copy {what} again"
        ) from None


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
