"""``ModelConfig``: which backbones to load (policy and reward), how, and with which LoRA.

The Hydra group ``model/`` (``configs/model/*.yaml``) fills this schema; an unknown key is an error.
Readers: :mod:`reasoning_irl.models.loading` (names, dtype, trust/pickle/unsloth/4-bit switches,
lengths), :mod:`reasoning_irl.models.tiny` (``tiny_*`` sizes, ``cache_dir``) and
:mod:`reasoning_irl.models.lora` (``lora_*``); ``gradient_checkpointing`` by the loader (trainable models)
and :mod:`reasoning_irl.trainers.trl_run` (TRL's arguments).
"""

from __future__ import annotations

from dataclasses import dataclass, field

TINY = "tiny"
FROM_POLICY = "from_policy"
TINY_ARCHS = ("qwen2", "llama")
DTYPES = ("float32", "bfloat16")


def _default_lora_targets() -> list[str]:
    # Every linear layer of a Qwen2/Llama block, as in the reference runs (docs/METHOD.md §2).
    return ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@dataclass
class ModelConfig:
    # Policy backbone: a hub id (``Qwen/Qwen2.5-3B-Instruct``), a local folder, or ``tiny`` (built locally).
    policy: str = TINY
    # Reward backbone: hub id, local folder, ``tiny``, ``from_policy`` (start from the same weights as the
    # policy, e.g. its SFT warm start — the default for the ``log_ratio`` head), or None (no reward model).
    reward: str | None = FROM_POLICY
    # Architecture of the tiny model: ``qwen2`` or ``llama`` (both share the tiny tokenizer).
    tiny_arch: str = "qwen2"
    # Tiny model sizes: hidden width 128 ...
    tiny_hidden_size: int = 128
    # ... MLP width 512 ...
    tiny_intermediate_size: int = 512
    # ... 4 decoder layers ...
    tiny_num_layers: int = 4
    # ... 4 attention heads (and 4 key/value heads) ...
    tiny_num_heads: int = 4
    # ... and a BPE vocabulary of 512 entries (special tokens included): about 1.2M parameters in all.
    tiny_vocab_size: int = 512
    # LoRA rank; None or 0 = full fine-tuning (every weight trained).
    lora_rank: int | None = None
    # LoRA alpha; None = 2 × rank (the reference runs' choice).
    lora_alpha: float | None = None
    # Dropout on the LoRA branch (0.0 as in the reference runs).
    lora_dropout: float = 0.0
    # Module names LoRA adapts (the names are the same in Qwen2 and Llama blocks).
    lora_target_modules: list[str] = field(default_factory=_default_lora_targets)
    # Weights' dtype: ``float32`` (CPU, exact tests) or ``bfloat16`` (GPU).
    dtype: str = "float32"
    # Run modelling code shipped with a hub repository (off: only code from the installed transformers).
    trust_remote_code: bool = False
    # Accept pickled weights (``pytorch_model.bin``); off: only safetensors are loaded.
    allow_pickle: bool = False
    # Load through unsloth's FastLanguageModel (needs CUDA and the ``unsloth`` package).
    unsloth: bool = False
    # Load 4-bit quantised weights through bitsandbytes (needs CUDA and ``bitsandbytes``).
    load_in_4bit: bool = False
    # Recompute each decoder layer's activations in the backward pass instead of keeping them (trainable
    # models: policy, reward model; TRL's SFT/GRPO too): far less activation memory for ~30 % more
    # compute. On for every paper-scale run (docs/CLUSTER.md); off for the tiny CPU model.
    gradient_checkpointing: bool = False
    # Longest prompt in tokens (the reference runs: 300); with the next, the tokenizer's model_max_length.
    max_prompt_length: int = 300
    # Longest completion in tokens (the reference runs: 824).
    max_completion_length: int = 824
    # Where built tiny models are cached; None = ``$REASONING_IRL_CACHE`` or ``~/.cache/reasoning_irl``.
    cache_dir: str | None = None

    def __post_init__(self) -> None:
        if self.tiny_arch not in TINY_ARCHS:
            raise ValueError(f"model.tiny_arch={self.tiny_arch!r} is not supported; use one of {', '.join(TINY_ARCHS)}")
        if self.dtype not in DTYPES:
            raise ValueError(f"model.dtype={self.dtype!r} is not supported; use one of {', '.join(DTYPES)}")
        if not self.policy:
            raise ValueError("model.policy is empty; give a hub id, a local folder, or 'tiny'")
        if self.lora_rank is not None and self.lora_rank < 0:
            raise ValueError(
                f"model.lora_rank={self.lora_rank} is negative; use a positive rank, or 0/null for full fine-tuning"
            )
        if not 0.0 <= self.lora_dropout < 1.0:
            raise ValueError(f"model.lora_dropout={self.lora_dropout} must be in [0, 1)")
        if self.tiny_hidden_size % self.tiny_num_heads:
            raise ValueError(
                f"model.tiny_hidden_size={self.tiny_hidden_size} is not divisible by "
                f"model.tiny_num_heads={self.tiny_num_heads}"
            )
        for key in ("max_prompt_length", "max_completion_length", "tiny_vocab_size", "tiny_num_layers"):
            if getattr(self, key) <= 0:
                raise ValueError(f"model.{key}={getattr(self, key)} must be positive")

    @property
    def max_length(self) -> int:
        """Longest prompt + completion, in tokens."""
        return self.max_prompt_length + self.max_completion_length
