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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reasoning_irl.tasks.base import Record
from reasoning_irl.trainers.policy_selection import PolicySelection

log = logging.getLogger("reasoning_irl")


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
