"""Config group ``sampling``: how completions are drawn from the policy."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SamplingConfig:
    #: Sampling temperature (1.0 in training as in the paper; evaluation reports its own).
    temperature: float = 1.0
    #: Nucleus sampling threshold.
    top_p: float = 1.0
    #: Completions per prompt during training (G).
    num_generations: int = 8
    #: Completions per problem at evaluation (n of pass@k and best-of-N).
    n_samples: int = 16
    #: Maximum number of new tokens per completion.
    max_new_tokens: int = 96
    #: Minimum number of new tokens (EOS suppressed before); 0 = none. Benchmarks set it equal to
    #: ``max_new_tokens`` so that compared trainers generate equal lengths.
    min_new_tokens: int = 0
    #: Generation backend: ``hf`` (Hugging Face ``generate`` with the KV cache), the only one. ``vllm`` was
    #: removed (docs/CLUSTER.md, "GPU-only paths"): it was never run and did not match vLLM's current API.
    backend: str = "hf"

    def __post_init__(self) -> None:
        if self.backend == "vllm":
            raise ValueError("sampling.backend=vllm is not supported: the vLLM backend was removed (untested, and "
                             "written against vLLM's old V0 engine); use sampling.backend=hf")
        if self.backend != "hf":
            raise ValueError(f"sampling.backend={self.backend!r} is not supported; use 'hf'")
        if self.temperature <= 0:
            raise ValueError(
                f"sampling.temperature={self.temperature} must be positive (greedy decoding is an eval option)"
            )
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"sampling.top_p={self.top_p} must be in (0, 1]")
        if self.n_samples < 1:
            raise ValueError(f"sampling.n_samples={self.n_samples} must be at least 1 (completions per problem)")
        if self.num_generations < 1 or self.max_new_tokens < 1:
            raise ValueError("sampling.num_generations and sampling.max_new_tokens must be at least 1")
        if not 0 <= self.min_new_tokens <= self.max_new_tokens:
            raise ValueError(
                f"sampling.min_new_tokens={self.min_new_tokens} must be in [0, max_new_tokens={self.max_new_tokens}]"
            )
