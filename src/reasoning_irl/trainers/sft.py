"""SFT baseline and AIRL warm start: imitate the expert traces with TRL's ``SFTTrainer``.

    python train_sft.py                      # arith, tiny model, CPU: about two minutes
    python train_sft.py task=gsm8k model=qwen2.5-3b training.max_steps=400

Recipe (docs/METHOD.md §7.2, with its bugs fixed):

1. The task's training records with an expert ``target`` become (prompt, completion) pairs, tokenised by
   :func:`reasoning_irl.models.encode` — the same ids the reward model, the evaluation and generation
   use — and handed to ``SFTTrainer`` pre-tokenised with a ``completion_mask``: the loss is on the
   completion tokens and its EOS only, never on the prompt (the reference's latest version trained on
   the prompt too; its older one masked with a hard-coded Qwen marker, also on Llama).
2. LoRA when ``model.lora_rank`` is set (:func:`reasoning_irl.models.apply_lora`), else full fine-tuning.
3. Every ``training.eval_every`` steps and at the last step, :class:`PolicySelection` evaluates on
   **validation** records (never test; docs/METHOD.md §10 item 3): the NLL of the expert traces, and — for
   reporting, or for selection with ``training.select_by=correctness`` — greedy accuracy and format
   rate. ``best/policy`` is the lowest NLL (default) or the highest accuracy.
4. Checkpoints ``checkpoints/step-N/{policy,trainer}``, ``best/``, ``final/`` and ``metrics.jsonl`` are
   written by :class:`~reasoning_irl.trainers.trl_run.TrainerRunCallback`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from reasoning_irl.rewards.verifiable import is_strict_format
from reasoning_irl.tasks.base import Record, Task

log = logging.getLogger("reasoning_irl")


def model_device(model: Any) -> torch.device:
    """The device of ``model``'s parameters: where every batch built on the CPU must go before a forward."""
    return next(model.parameters()).device


# --------------------------------------------------------------------------------------------------
# Validation metrics used to choose best/ (shared by the SFT, GRPO and AIRL trainers)


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
    """
    from reasoning_irl.models.encoding import collate, encode

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
            batch = {k: v.to(device) for k, v in batch.items() if isinstance(v, torch.Tensor)}
            logits = model(
                input_ids=batch["input_ids"],
                attention_mask=batch["attention_mask"],
                position_ids=batch["position_ids"],
            ).logits  # (B, T, V)
            targets = batch["input_ids"][:, 1:]
            logp = torch.log_softmax(logits[:, :-1].float(), dim=-1).gather(-1, targets[..., None])[..., 0]
            mask = batch["completion_mask"][:, 1:]  # the logit at p predicts the token at p + 1
            total += float(-(logp * mask).sum())
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
    from reasoning_irl.models.encoding import encode_prompt

    device = model_device(model)
    was_training = model.training
    model.eval()
    correct = formatted = 0
    try:
        for start in range(0, len(records), batch_size):
            chunk = records[start : start + batch_size]
            prompts = [encode_prompt(tokenizer, r.prompt) for r in chunk]
            width = max(len(p) for p in prompts)
            input_ids = torch.full((len(prompts), width), tokenizer.pad_token_id, dtype=torch.long)
            attention_mask = torch.zeros_like(input_ids)
            for row, ids in enumerate(prompts):  # left padding: every row continues at the same position
                input_ids[row, width - len(ids) :] = torch.tensor(ids)
                attention_mask[row, width - len(ids) :] = 1
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
            texts = tokenizer.batch_decode(output[:, width:], skip_special_tokens=True)
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


# --------------------------------------------------------------------------------------------------
# The SFT recipe


def sft_dataset(tokenizer: Any, records: Sequence[Record], max_length: int):
    """Pre-tokenised SFT rows: ``input_ids`` = prompt ids + completion ids + EOS, ``completion_mask`` 1 on
    the completion (EOS included). A completion cut by ``max_length`` is kept (its prefix still teaches)."""
    from datasets import Dataset

    from reasoning_irl.models.encoding import encode

    rows = []
    for record in records:
        sample = encode(tokenizer, record.prompt, record.target, max_length=max_length)
        rows.append(
            {
                "input_ids": sample.input_ids,
                "completion_mask": [0] * sample.prompt_length + [1] * sample.completion_length,
            }
        )
    return Dataset.from_list(rows)


def train_sft(cfg: Any, run_dir: str | Path | None = None) -> Path:
    """Run SFT as configured (``TrainSFTConfig``) and return the run folder."""
    from trl import SFTConfig, SFTTrainer

    from reasoning_irl.models import apply_lora, load_causal_lm, load_tokenizer
    from reasoning_irl.tasks import get_task
    from reasoning_irl.trainers.trl_run import open_trl_run, run_trl_trainer, trainer_arguments

    training = cfg.training
    run, resume_from = open_trl_run(cfg, run_dir)
    with run:
        task = get_task(cfg.task)
        run.record_info(task=task.describe())  # sizes, sources and split rule of the data
        with run.timer("load_data"):
            train = [r for r in task.load("train") if r.target]
            validation = [r for r in task.load("validation") if r.target][: training.eval_problems]
        if not train:
            raise ValueError(
                f"task {cfg.task.name!r} has no training record with an expert trace; "
                "check task.num_demonstrations (0 = none) or task.expert_traces_path"
            )
        with run.timer("load_model"):
            tokenizer = load_tokenizer(cfg.model.policy, cfg.model)
            model = apply_lora(load_causal_lm(cfg.model.policy, cfg.model), cfg.model)
        selection = PolicySelection(
            task,
            validation,
            tokenizer,
            select_by=training.select_by,
            generate=training.eval_generate,
            max_length=cfg.model.max_length,
            max_new_tokens=cfg.model.max_completion_length,
        )
        args = SFTConfig(
            **trainer_arguments(cfg, run.dir),
            per_device_train_batch_size=training.batch_size,
            max_length=cfg.model.max_length,
            completion_only_loss=True,  # labels are -100 wherever completion_mask is 0 (the prompt)
            packing=False,
            dataset_num_proc=None,
        )
        with run.timer("tokenize"):
            dataset = sft_dataset(tokenizer, train, cfg.model.max_length)
            trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
        log.info(
            "SFT on %d expert traces (%d validation) of %s; %d trainable parameters",
            len(train),
            len(validation),
            cfg.task.name,
            sum(p.numel() for p in model.parameters() if p.requires_grad),
        )
        run_trl_trainer(trainer, run, selection, tokenizer=tokenizer, resume_from=resume_from)
    return run.dir
