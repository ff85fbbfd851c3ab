"""Optional vLLM generation backend (``sampling.backend=vllm``; GPU extra ``pip install .[gpu]``).

One vLLM engine per process is built from the policy's config on first use; before every
generation the current policy weights are pushed into it (LoRA merged on the fly), so samples come
from the policy being trained. Import-guarded: where vllm or CUDA is absent this raises a clear
error instead of silently falling back to ``generate``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence

import torch
from torch import nn

from reasoning_irl.config.sampling import SamplingConfig

_ENGINE = {}


def _require_vllm():
    try:
        import vllm
    except ImportError as err:
        raise RuntimeError(
            "sampling.backend=vllm needs the vllm package (pip install '.[gpu]' on a CUDA machine); "
            "use sampling.backend=hf on CPU"
        ) from err
    if not torch.cuda.is_available():
        raise RuntimeError("sampling.backend=vllm needs a CUDA device and none is visible; use sampling.backend=hf")
    return vllm


def _merged_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    if hasattr(model, "merge_adapter") and hasattr(model, "unmerge_adapter"):
        model.merge_adapter()
        try:
            base = model.get_base_model()
            return {
                k.replace(".base_layer", ""): v.detach().clone()
                for k, v in base.state_dict().items()
                if "lora_" not in k
            }
        finally:
            model.unmerge_adapter()
    return {k: v.detach() for k, v in model.state_dict().items()}


def _engine(model: nn.Module, sampling: SamplingConfig, seed: int):
    vllm = _require_vllm()
    key = id(model)
    if key not in _ENGINE:
        folder = tempfile.mkdtemp(prefix="reasoning_irl_vllm_")
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        base.config.save_pretrained(folder)
        _ENGINE[key] = vllm.LLM(model=folder, load_format="dummy", seed=seed, gpu_memory_utilization=0.4)
    return _ENGINE[key]


def generate_vllm(
    model: nn.Module,
    prompt_ids: Sequence[Sequence[int]],
    sampling: SamplingConfig,
    num_generations: int,
    greedy: bool,
    seed: int,
) -> list[list[int]]:
    """Token ids of ``num_generations`` completions per prompt, prompt-major (EOS kept, no padding)."""
    vllm = _require_vllm()
    engine = _engine(model, sampling, seed)
    runner = engine.llm_engine.model_executor.driver_worker.model_runner
    runner.model.load_weights(_merged_state_dict(model).items())
    params = vllm.SamplingParams(
        n=num_generations,
        temperature=0.0 if greedy else sampling.temperature,
        top_p=1.0 if greedy else sampling.top_p,
        max_tokens=sampling.max_new_tokens,
        min_tokens=sampling.min_new_tokens,
        seed=seed,
    )
    outputs = engine.generate([{"prompt_token_ids": list(p)} for p in prompt_ids], params, use_tqdm=False)
    return [list(sample.token_ids) for request in outputs for sample in request.outputs]
