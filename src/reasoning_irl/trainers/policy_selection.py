"""The policy's validation, which chooses ``best/policy`` in every trainer (SFT, GRPO, AIRL).

- :func:`expert_nll`: the mean NLL of validation expert traces, per completion token (the default
  selection metric, verifier-free);
- :func:`greedy_validation`: greedy accuracy and format rate (gold answers; reported, and the metric of
  ``training.select_by=correctness``);
- :class:`PolicySelection`: evaluates a policy with them and keeps the best step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from reasoning_irl.rewards.verifiable import is_strict_format
from reasoning_irl.tasks.base import Record, Task


def model_device(model: Any) -> torch.device:
    """The device of ``model``'s parameters: where every batch built on the CPU must go before a forward."""
    return next(model.parameters()).device


@torch.no_grad()
def expert_nll(
    model: Any,
    tokenizer: Any,
    records: Sequence[Record],
    *,
    max_length: int | None = None,
    batch_size: int = 16,
) -> float:
    """Mean negative log-likelihood, in nats per completion token (EOS included), of the records' expert
    ``target`` given their prompt — the policy's selection metric (docs/METHOD.md).

        NLL = − Σ_i Σ_t log π(y_i,t | x_i, y_i,<t) / Σ_i |y_i|

    The log-probs are :func:`reasoning_irl.rl.logprobs.completion_logprobs`'s: the output head only at
    completion positions, a chunk of rows at a time (no (B, L, V) logits: 10 GB at a 150k vocabulary).
    """
    from reasoning_irl.models.encoding import collate, encode
    from reasoning_irl.rl.logprobs import completion_logprobs

    samples = [encode(tokenizer, r.prompt, r.target, max_length=max_length) for r in records if r.target]
    if not samples:
        raise ValueError("expert_nll: none of the records has an expert target")
    device = model_device(model)
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    try:
        for start in range(0, len(samples), batch_size):
            batch = collate(samples[start : start + batch_size], tokenizer.pad_token_id, padding_side="right")
            mask = batch["completion_mask"].to(device)
            logp = completion_logprobs(model, batch["input_ids"].to(device), batch["attention_mask"].to(device), mask)
            total += float(-logp.sum())
            count += int(mask.sum())
    finally:
        model.train(was_training)
    return total / count


@torch.no_grad()
def greedy_validation(
    model: Any,
    tokenizer: Any,
    task: Task,
    records: Sequence[Record],
    *,
    max_new_tokens: int,
    batch_size: int = 32,
) -> dict[str, float]:
    """Greedy decoding of each record's prompt: ``accuracy`` (``task.grade``) and ``format_rate`` (strict
    ``<think>…</think><answer>…</answer>`` form). Uses gold answers: selection by it is opt-in."""
    from reasoning_irl.models.encoding import encode_prompt, pad_ids

    device = model_device(model)
    was_training = model.training
    model.eval()
    correct = formatted = 0
    try:
        for start in range(0, len(records), batch_size):
            chunk = records[start : start + batch_size]
            prompts = [encode_prompt(tokenizer, r.prompt) for r in chunk]
            input_ids, attention_mask = pad_ids(prompts, tokenizer.pad_token_id)  # left: rows continue together
            output = model.generate(
                input_ids=input_ids.to(device),
                attention_mask=attention_mask.to(device),
                do_sample=False,
                max_new_tokens=max_new_tokens,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
                top_p=None,
                top_k=None,
                temperature=None,
            )
            texts = tokenizer.batch_decode(output[:, input_ids.shape[1] :], skip_special_tokens=True)
            for record, text in zip(chunk, texts):
                correct += bool(task.grade(text, record))
                formatted += is_strict_format(text)
    finally:
        model.train(was_training)
    return {"accuracy": correct / len(records), "format_rate": formatted / len(records)}


class PolicySelection:
    """Evaluates a policy on validation records and says whether it is the best so far.

    ``select_by=nll``: lower ``validation_nll`` is better; ``correctness``: higher ``validation_accuracy``
    (ties keep the earlier step). ``generate`` adds greedy accuracy and format rate to the metrics.
    """

    def __init__(
        self,
        task: Task,
        records: Sequence[Record],
        tokenizer: Any,
        *,
        select_by: str,
        generate: bool,
        max_length: int,
        max_new_tokens: int,
    ) -> None:
        if not records:
            raise ValueError(
                "no validation records with an expert trace: best/ cannot be selected; "
                "check task.validation_fraction and task.max_problems"
            )
        self.task, self.records, self.tokenizer = task, list(records), tokenizer
        self.select_by = select_by
        self.generate = generate or select_by == "correctness"
        self.max_length, self.max_new_tokens = max_length, max_new_tokens
        self.metric = "validation_nll" if select_by == "nll" else "validation_accuracy"
        self.best_value: float | None = None
        self.best_step: int | None = None

    def evaluate(self, model: Any) -> dict[str, float]:
        metrics = {
            "validation_nll": expert_nll(model, self.tokenizer, self.records, max_length=self.max_length)
        }
        if self.generate:
            greedy = greedy_validation(
                model, self.tokenizer, self.task, self.records, max_new_tokens=self.max_new_tokens
            )
            metrics.update({f"validation_{k}": v for k, v in greedy.items()})
        return metrics

    def is_better(self, metrics: dict[str, float]) -> bool:
        value = metrics[self.metric]
        if not math.isfinite(value):
            return False
        if self.best_value is None:
            return True
        return value < self.best_value if self.select_by == "nll" else value > self.best_value

    def record(self, step: int, value: float) -> None:
        self.best_step, self.best_value = int(step), float(value)

    def state(self) -> dict[str, Any] | None:
        if self.best_step is None:
            return None
        return {"step": self.best_step, "metric": self.metric, "value": self.best_value}
