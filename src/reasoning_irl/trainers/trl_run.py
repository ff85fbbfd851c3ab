"""Running a TRL trainer (``SFTTrainer``, ``GRPOTrainer``) inside our run folder, through public API only.

TRL keeps its own training loop; a :class:`TrainerRunCallback` (a transformers ``TrainerCallback``)
makes it write our layout (docs/ARCHITECTURE.md (Runs and outputs)):

- ``on_log``: TRL's logs go to :meth:`Run.log` (``metrics.jsonl``, wandb, progress bar); throughput and
  run-time summaries (``train_runtime``, ``*_per_second``, ``num_tokens``) go to ``run_info.json``.
- ``on_step_end``: every ``training.eval_every`` steps and at the last step, the policy is evaluated on
  validation (:class:`~reasoning_irl.trainers.sft.PolicySelection`) and ``best/policy`` replaced when
  it improves.
- ``on_save``: the Trainer's own ``checkpoint-N`` (written into the staging folder
  ``checkpoints/.tmp-trainer``) becomes ``checkpoints/step-N/{policy,trainer}`` atomically
  (:func:`adopt_trainer_checkpoint`).

Resuming goes through the Trainer's own ``resume_from_checkpoint`` (which reads its state with
``torch.load(weights_only=True)``), pointed at a view of our checkpoint. The Trainer's progress bar and
printer are replaced by the run's; its ``report_to`` is ``none`` because the run is the one writer of
wandb (so ``metrics.jsonl`` and wandb always hold the same numbers, from the main process only).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from transformers import PrinterCallback, TrainerCallback

from reasoning_irl import distributed
from reasoning_irl.trainers.atomic_dirs import commit_dir, temp_dir_for
from reasoning_irl.trainers.checkpoint import (
    CHECKPOINTS,
    checkpoint_step,
    clean_incomplete,
    latest_complete_checkpoint,
    step_dir,
)
from reasoning_irl.trainers.loop_state import read_state, write_state
from reasoning_irl.trainers.resume import prune_checkpoints, resolve_resume, restore_best_on_resume
from reasoning_irl.trainers.run import Run
from reasoning_irl.trainers.run_config import refuse_another_config
from reasoning_irl.trainers.selected import copy_selected, read_selection, save_selected

log = logging.getLogger("reasoning_irl")

STAGING = ".tmp-trainer"  # the Trainer writes checkpoint-N here; a leftover is removed by clean_incomplete
#: Log keys that are not reproducible across a resume (clock readings, session totals): run_info.json only.
_SESSION_KEYS = ("train_runtime", "train_loss", "total_flos", "num_tokens")


#: Files of a Trainer checkpoint that are the Trainer's state (the rest is the model folder). They are
#: written by the Trainer with torch.save and read back by it with ``torch.load(weights_only=True)``.
TRAINER_STATE_FILES = ("optimizer.pt", "scheduler.pt", "scaler.pt", "trainer_state.json")
_TRAINER_PICKLES = ("training_args.bin",)  # a pickled TrainingArguments: never needed, never kept


def adopt_trainer_checkpoint(
    trainer_checkpoint: str | os.PathLike,
    target: str | os.PathLike,
    *,
    step: int,
    state: Mapping[str, Any] | None = None,
) -> Path:
    """Turn a Trainer's ``checkpoint-N`` folder into our ``step-N`` layout, atomically.

    The model and tokenizer files go to ``policy/``, the Trainer's own state (optimizer, scheduler, RNG,
    trainer_state.json) to ``trainer/``; the pickled ``training_args.bin`` is dropped. ``state`` (JSON
    values) goes to ``loop_state.json``. The Trainer's folder is moved, not copied.
    """
    source, target = Path(trainer_checkpoint), Path(target)
    tmp = temp_dir_for(target)
    os.replace(source, tmp / "trainer")
    (tmp / "policy").mkdir()
    for child in sorted((tmp / "trainer").iterdir()):
        if child.name in _TRAINER_PICKLES:
            child.unlink()
        elif child.name not in TRAINER_STATE_FILES and not child.name.startswith("rng_state"):
            os.replace(child, tmp / "policy" / child.name)
    write_state(tmp, {"step": int(step), "state": dict(state or {})})
    return commit_dir(tmp, target)


def trainer_resume_view(checkpoint: str | os.PathLike) -> Path:
    """A folder the Trainer's ``resume_from_checkpoint`` accepts, built from one of our checkpoints.

    It holds symbolic links to the files of ``policy/`` and ``trainer/`` (nothing is copied) and lives
    beside the checkpoints as ``.tmp-resume-…``, so :func:`clean_incomplete` removes it.
    """
    checkpoint = Path(checkpoint).resolve()
    if not (checkpoint / "trainer").is_dir():
        raise FileNotFoundError(f"{checkpoint} was not written by a TRL trainer (no trainer/ folder)")
    view = temp_dir_for(checkpoint.parent / f"resume-{checkpoint.name}")
    for part in ("policy", "trainer"):
        for child in (checkpoint / part).iterdir():
            os.symlink(child, view / child.name)
    return view


def device_is_cpu(device: str) -> bool:
    """``device`` (``auto``/``cpu``/``cuda``) resolved: True when training runs on the CPU."""
    return distributed.resolve_device(device) == "cpu"


#: ``training.optimizer`` → ``TrainingArguments.optim`` (``adamw``: transformers' default; the 8-bit ones
#: need bitsandbytes).
TRL_OPTIMIZERS = {"adamw": "adamw_torch_fused", "adamw_8bit": "adamw_bnb_8bit", "paged_adamw_8bit": "paged_adamw_8bit"}


def trainer_arguments(cfg: Any, run_dir: Path) -> dict[str, Any]:
    """``TrainingArguments`` fields shared by our SFT and GRPO runs, from ``cfg.training`` and friends.

    On CPU: ``use_cpu=True`` and an explicit ``bf16`` (TRL's default resolves to bf16 autocast there),
    ``gradient_checkpointing`` from ``model.gradient_checkpointing`` (TRL defaults to True: 40 % slower on
    small models; docs/ARCHITECTURE.md (Environment notes)), non-reentrant.
    """
    training = cfg.training
    if training.optimizer != "adamw" and importlib.util.find_spec("bitsandbytes") is None:
        raise ValueError(f"training.optimizer={training.optimizer} needs the 'bitsandbytes' package, which is not "
                         "installed; pip install bitsandbytes (CUDA only) or use training.optimizer=adamw")
    scheduler = training.lr_scheduler
    if scheduler == "constant" and training.warmup_ratio > 0:
        scheduler = "constant_with_warmup"
    return {
        "output_dir": str(run_dir / CHECKPOINTS / STAGING),
        "max_steps": training.max_steps,
        "learning_rate": training.learning_rate,
        "weight_decay": training.weight_decay,
        "adam_beta1": training.adam_beta1,
        "adam_beta2": training.adam_beta2,
        "optim": TRL_OPTIMIZERS[training.optimizer],
        "max_grad_norm": training.max_grad_norm,
        "lr_scheduler_type": scheduler,
        "warmup_steps": training.warmup_ratio,  # a value < 1 is a fraction of max_steps
        "gradient_accumulation_steps": training.gradient_accumulation_steps,
        "use_cpu": device_is_cpu(cfg.device),
        "bf16": training.bf16,
        "gradient_checkpointing": cfg.model.gradient_checkpointing,
        "gradient_checkpointing_kwargs": {"use_reentrant": False},
        "logging_steps": cfg.logging.logging_steps,
        "save_strategy": "steps",
        "save_steps": training.checkpoint_every or training.max_steps,
        "save_only_model": False,
        "eval_strategy": "no",
        "report_to": "none",
        "disable_tqdm": True,
        "seed": cfg.seed,
        "data_seed": cfg.seed,
        "dataloader_num_workers": 0,
    }


def open_trl_run(cfg: Any, run_dir: str | Path | None = None) -> tuple[Run, Path | None]:
    """Open the run folder, clear what a crash left, and find the checkpoint to resume from (or None)."""
    run_dir = Path(run_dir) if run_dir is not None else Path(cfg.output_root) / cfg.run_name
    refuse_another_config(cfg, run_dir)
    run = Run.open(cfg, run_dir, total_steps=cfg.training.max_steps)
    if run.is_main:
        removed = clean_incomplete(run.dir)
        if removed:
            log.warning(
                "removed %d unfinished folder(s) left by an interrupted run: %s",
                len(removed),
                ", ".join(p.name for p in removed),
            )
    resume_from = resolve_resume(cfg.training.resume, run.dir)
    if resume_from is None:
        run.resume(0)  # a fresh start: no log lines from an earlier attempt without checkpoints
    else:
        step = checkpoint_step(resume_from)
        run.resume(step)
        if run.is_main:
            restore_best_on_resume(run.dir, step, read_state(resume_from)["state"].get("best"))
        log.info("resuming %s from %s (step %d)", run.dir, resume_from, step)
    return run, resume_from


class TrainerRunCallback(TrainerCallback):
    """Makes a transformers/TRL ``Trainer`` write our run folder (see the module docstring)."""

    def __init__(
        self,
        run: Run,
        selection: Any,
        *,
        tokenizer: Any,
        eval_every: int,
        max_steps: int,
        keep_checkpoints: int | None,
    ) -> None:
        self.run, self.selection, self.tokenizer = run, selection, tokenizer
        self.eval_every, self.max_steps, self.keep_checkpoints = eval_every, max_steps, keep_checkpoints
        self._tokens_logged: int | None = None

    def on_step_end(self, args, state, control, model=None, **kwargs):
        step = state.global_step
        due = step == self.max_steps or (self.eval_every and step % self.eval_every == 0)
        if due and self.run.is_main:
            with self.run.timer("evaluation"):
                metrics = self.selection.evaluate(model)
            self.run.log(step, metrics, force=True)
            if self.selection.is_better(metrics):
                value = metrics[self.selection.metric]
                save_selected(
                    self.run.dir,
                    "best",
                    "policy",
                    model,
                    tokenizer=self.tokenizer,
                    step=step,
                    metric=self.selection.metric,
                    value=value,
                )
                self.selection.record(step, value)
        self.run.advance(step)
        return control

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = dict(logs or {})
        if "train_runtime" in logs:  # the Trainer's end-of-session summary: clock readings, session means
            self.run.record_info(**{f"trainer_{k}": v for k, v in logs.items()})
            return control
        tokens = 0
        if "num_tokens" in logs:  # cumulative, and restarted by a resume: feeds tokens/s only
            seen = int(logs["num_tokens"])
            tokens = seen - (self._tokens_logged if self._tokens_logged is not None else seen)
            self._tokens_logged = seen
        values = {k: v for k, v in logs.items() if k not in _SESSION_KEYS}
        self.run.log(state.global_step, values, tokens=max(tokens, 0))
        return control

    def on_save(self, args, state, control, **kwargs):
        if args.world_size > 1:  # every rank writes its RNG file before the folder moves
            from accelerate import PartialState

            PartialState().wait_for_everyone()
        if self.run.is_main:
            step = state.global_step
            source = Path(args.output_dir) / f"checkpoint-{step}"
            adopt_trainer_checkpoint(
                source, step_dir(self.run.dir, step), step=step, state={"best": self.selection.state()}
            )
            prune_checkpoints(self.run.dir, self.keep_checkpoints)
        return control


def run_trl_trainer(
    trainer: Any, run: Run, selection: Any, *, tokenizer: Any, resume_from: Path | None
) -> None:
    """Train ``trainer`` to ``max_steps`` inside ``run`` (resuming when asked), then write ``final/``."""
    training_args = trainer.args
    callback = TrainerRunCallback(
        run,
        selection,
        tokenizer=tokenizer,
        eval_every=run.cfg.training.eval_every,
        max_steps=training_args.max_steps,
        keep_checkpoints=run.cfg.training.keep_checkpoints,
    )
    trainer.remove_callback(PrinterCallback)
    trainer.add_callback(callback)
    view = None
    if resume_from is not None:
        recorded = read_state(resume_from)["state"].get("best")
        if recorded and "policy" in read_selection(run.dir):
            selection.record(recorded["step"], recorded["value"])
        view = trainer_resume_view(resume_from)
    try:
        if resume_from is None or checkpoint_step(resume_from) < training_args.max_steps:
            with run.timer("train"):
                trainer.train(resume_from_checkpoint=str(view) if view is not None else None)
    finally:
        if view is not None:
            shutil.rmtree(view, ignore_errors=True)
    if run.is_main:
        shutil.rmtree(Path(training_args.output_dir), ignore_errors=True)
        last = latest_complete_checkpoint(run.dir)
        if last is not None:
            copy_selected(run.dir, "final", last)
        best = read_selection(run.dir).get("policy")
        if best:
            log.info("best/policy: step %d, %s = %.4f", best["step"], best["metric"], best["value"])
