"""``make demo``: the whole method on the embedded default (arith task, tiny model, CPU).

    python -m reasoning_irl.demo

Stages: build the tiny model and tokenizer locally, generate the arith data and show a problem with
its expert trace and how the trace is split into steps and tokens.
"""

from __future__ import annotations

import time

from reasoning_irl.config.model import ModelConfig
from reasoning_irl.config.task import TaskConfig
from reasoning_irl.models import encode, load_tokenizer, tiny_model_path
from reasoning_irl.tasks import get_task
from reasoning_irl.text import segment_steps


def preview_data(task_cfg: TaskConfig, model_cfg: ModelConfig) -> None:
    """Print split sizes and one expert demonstration, split into steps and tokens."""
    task = get_task(task_cfg)
    splits = {split: task.load(split) for split in ("train", "validation", "test")}
    print("arith splits: " + ", ".join(f"{name} {len(records)}" for name, records in splits.items()))
    record = splits["train"][0]
    print(f"\nquestion: {record.question}\nexpert trace:\n{record.target}\n")
    tokenizer = load_tokenizer(str(tiny_model_path(model_cfg)), model_cfg)
    sample = encode(tokenizer, record.prompt, record.target)
    for i, step in enumerate(segment_steps(record.target)):
        tokens = [record.target[s:e] for s, e in sample.completion_offsets if step.start <= s < step.end]
        print(f"  step {i}: {step.text!r:34} {len(tokens):2d} tokens {tokens}")
    print(f"\nprompt tokens: {sample.prompt_length}, completion tokens: {sample.completion_length}")


def main() -> None:
    start = time.perf_counter()
    task_cfg, model_cfg = TaskConfig(name="arith"), ModelConfig()
    print(f"tiny model: {tiny_model_path(model_cfg)}")
    preview_data(task_cfg, model_cfg)
    print(f"\ndemo finished in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
