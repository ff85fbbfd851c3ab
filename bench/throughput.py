"""Tiny-model throughput on this CPU: generation with and without the KV cache, training tokens/s and FLOP/s.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/throughput.py [--threads 2] [--repeats 3] [--quick]

On the tiny model (``tiny_model_path(ModelConfig())``, random init) and arith prompts, in one process:

- generation: the same left-padded batch of ``--batch`` arith prompts through HF ``generate`` with
  ``use_cache=True`` and ``use_cache=False`` (the settings of :func:`generate_rollouts`: T = 1, top-p 1,
  no top-k, fixed seed; ``min_new_tokens = max_new_tokens`` so every row makes the same number of
  tokens), and through :func:`generate_rollouts` itself (G = 1, what the trainers call) → new tokens/s;
- training: forward + backward + AdamW step on batches of ``--batch`` arith expert traces, collated as
  in SFT (right padding, loss on completion tokens) → tokens/s and achieved FLOP/s, estimated as
  ``6·N·T_pad + 12·L·d·S·T_pad`` per step (PaLM's formula: N = matmul weights of the blocks + lm_head,
  embeddings and norms excluded; the second term is QKᵀ and AV over the padded length S, without
  causal savings; T_pad = padded tokens, which the model does compute);
- matmul: float32 ``torch.matmul`` at square sizes (this CPU's peak) and at the model's own shapes.

Every time is the best of ``--repeats`` (best-of is least disturbed by other jobs on the cores). Prints
a table of ratios and writes ``bench/results/throughput.json`` (with ``uptime``: a load average above
the thread count means the numbers were taken on a loaded machine).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from transformers import GenerationConfig  # noqa: E402

from reasoning_irl.config.model import ModelConfig  # noqa: E402
from reasoning_irl.config.sampling import SamplingConfig  # noqa: E402
from reasoning_irl.config.task import TaskConfig  # noqa: E402
from reasoning_irl.io import atomic_write_text  # noqa: E402
from reasoning_irl.models import (  # noqa: E402
    collate,
    encode,
    encode_prompt,
    load_causal_lm,
    load_tokenizer,
    tiny_model_path,
)
from reasoning_irl.models.encoding import pad_ids  # noqa: E402
from reasoning_irl.rl.rollout import generate_rollouts  # noqa: E402
from reasoning_irl.tasks import get_task  # noqa: E402


def best_time(fn, repeats: int) -> float:
    """Best wall time of ``repeats`` calls of ``fn`` (after one untimed warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def matmul_flops(m: int, k: int, n: int, repeats: int) -> float:
    """Achieved FLOP/s of an (m × k) @ (k × n) float32 matmul."""
    a, b = torch.randn(m, k), torch.randn(k, n)
    inner = max(1, int(2e8 // (2 * m * k * n)))  # time ≥ ~0.2 GFLOP per call so small shapes are measurable
    return inner * 2 * m * k * n / best_time(lambda: [torch.matmul(a, b) for _ in range(inner)], repeats)


def generation(model, tokenizer, prompts, args) -> dict[str, float]:
    sampling = SamplingConfig(num_generations=1, max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens)
    input_ids, attention_mask = pad_ids(prompts, tokenizer.pad_token_id)
    new_tokens = len(prompts) * args.new_tokens

    @torch.no_grad()
    def hf_generate(use_cache: bool) -> None:
        config = GenerationConfig(do_sample=True, temperature=1.0, top_p=1.0, top_k=0, use_cache=use_cache,
                                  max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens,
                                  eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
        torch.manual_seed(0)
        out = model.generate(input_ids=input_ids, attention_mask=attention_mask, generation_config=config)
        assert out.shape[1] - input_ids.shape[1] == args.new_tokens

    model.eval()
    seconds = {
        "cached": best_time(lambda: hf_generate(True), args.repeats),
        "uncached": best_time(lambda: hf_generate(False), args.repeats),
        "generate_rollouts": best_time(lambda: generate_rollouts(model, tokenizer, prompts, sampling, seed=0),
                                       args.repeats),
    }
    return {f"{name}_tokens_per_s": new_tokens / s for name, s in seconds.items()} | {"new_tokens": new_tokens}


def training(model, tokenizer, records, args) -> dict[str, float]:
    samples = [encode(tokenizer, r.prompt, r.target) for r in records]
    batch = collate(samples, tokenizer.pad_token_id, padding_side="right")
    labels = batch["input_ids"].masked_fill(~batch["completion_mask"], -100)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()

    def step() -> None:
        loss = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    seconds = best_time(step, args.repeats)
    cfg = model.config
    matmul_params = sum(p.numel() for name, p in model.named_parameters()
                        if p.dim() == 2 and "embed_tokens" not in name)  # block weights + lm_head
    rows, width = batch["input_ids"].shape
    flops = 6 * matmul_params * rows * width + 12 * cfg.num_hidden_layers * cfg.hidden_size * width * rows * width
    return {
        "batch_shape": [rows, width],
        "real_tokens": int(batch["attention_mask"].sum()),
        "step_s": seconds,
        "tokens_per_s": int(batch["attention_mask"].sum()) / seconds,
        "padded_tokens_per_s": rows * width / seconds,
        "matmul_params": matmul_params,
        "flop_per_step": flops,
        "flop_per_s": flops / seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats per measurement (best is kept)")
    parser.add_argument("--batch", type=int, default=32, help="sequences per generation / training batch")
    parser.add_argument("--new-tokens", type=int, default=64, help="new tokens per generated sequence")
    parser.add_argument("--quick", action="store_true", help="small settings for a smoke run (not written)")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.batch, args.new_tokens = 1, 4, 8
    torch.set_num_threads(args.threads)
    path = str(tiny_model_path(ModelConfig()))
    tokenizer, model = load_tokenizer(path, ModelConfig()), load_causal_lm(path, ModelConfig())
    records = [r for r in get_task(TaskConfig(name="arith")).load("train") if r.target][: args.batch]

    gen = generation(model, tokenizer, [encode_prompt(tokenizer, r.prompt) for r in records], args)
    train = training(model, tokenizer, records, args)
    rows, width = train["batch_shape"]
    d, ffn = model.config.hidden_size, model.config.intermediate_size
    shapes = {"square_1024": (1024, 1024, 1024), "square_2048": (2048, 2048, 2048),
              "train_qkvo": (rows * width, d, d), "train_up_gate_lm_head": (rows * width, d, ffn),
              "train_down": (rows * width, ffn, d), "decode_up": (args.batch, d, ffn)}
    matmul = {name: matmul_flops(*shape, args.repeats) for name, shape in shapes.items()}
    peak = max(matmul["square_1024"], matmul["square_2048"])
    ratios = {
        "generation_cached_over_uncached": gen["cached_tokens_per_s"] / gen["uncached_tokens_per_s"],
        "generation_rollouts_over_cached": gen["generate_rollouts_tokens_per_s"] / gen["cached_tokens_per_s"],
        "training_flop_s_over_peak": train["flop_per_s"] / peak,
        "model_matmul_up_over_peak": matmul["train_up_gate_lm_head"] / peak,
        "decode_matmul_up_over_peak": matmul["decode_up"] / peak,
    }
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    result = {
        "benchmark": "throughput",
        "settings": vars(args) | {"sampling": "T=1, top_p=1, top_k=0, seed 0", "model": "tiny qwen2 (random init)"},
        "generation": gen,
        "training": train,
        "matmul_flop_per_s": {name: {"shape_mkn": shapes[name], "flop_per_s": v} for name, v in matmul.items()},
        "peak_flop_per_s": peak,
        "ratios": ratios,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu": cpu,
        "uptime": uptime,
        "load_average_1_5_15min": [round(x, 2) for x in os.getloadavg()],
        "loaded_machine": os.getloadavg()[0] > 1.5,  # other jobs on the cores: small ops stall on thread sync
    }
    print(f"generation ({args.batch} × {args.new_tokens} new tokens): cached {gen['cached_tokens_per_s']:.0f}, "
          f"uncached {gen['uncached_tokens_per_s']:.0f}, "
          f"generate_rollouts {gen['generate_rollouts_tokens_per_s']:.0f} tok/s")
    print(f"training (batch {rows}×{width}): {train['tokens_per_s']:.0f} tok/s, "
          f"{train['flop_per_s'] / 1e9:.2f} GFLOP/s; "
          f"matmul peak {peak / 1e9:.1f} GFLOP/s on {args.threads} threads ({cpu})")
    for name, value in ratios.items():
        print(f"  {name:34s} {value:8.3f}")
    print(uptime + ("  (loaded machine: numbers are noisy)" if result["loaded_machine"] else ""))
    if args.quick:
        return
    out = Path(__file__).resolve().parent / "results" / "throughput.json"
    atomic_write_text(out, json.dumps(result, indent=2) + "\n")  # a reader never sees a half-written file
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
