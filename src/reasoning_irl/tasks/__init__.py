"""Tasks: one module per dataset, built from a :class:`~reasoning_irl.config.task.TaskConfig`.

    from reasoning_irl.config.task import TaskConfig
    from reasoning_irl.tasks import get_task

    task = get_task(TaskConfig(name="gsm8k"))
    records = task.load("train")                      # list[Record]
    task.grade(completion, records[0])                 # bool
    task.first_error_step(completion, records[0])      # int | None (tasks with checks_steps)

Modules are imported only when their task is asked for (MATH grading imports sympy).
"""

from __future__ import annotations

import importlib
from typing import Any

from reasoning_irl.config.task import check_task_config
from reasoning_irl.tasks.base import SPLITS, Record, Task, in_validation

#: task name → "module:class"
TASKS: dict[str, str] = {
    "arith": "reasoning_irl.tasks.arith:ArithTask",
    "gsm8k": "reasoning_irl.tasks.gsm8k:GSM8KTask",
    "medreason": "reasoning_irl.tasks.medreason:MedReasonTask",
    "mmlu_pro": "reasoning_irl.tasks.mmlu_pro:MMLUProTask",
    "aime": "reasoning_irl.tasks.aime:AIMETask",
    "math500": "reasoning_irl.tasks.math500:Math500Task",
    "processbench": "reasoning_irl.tasks.processbench:ProcessBenchTask",
}


def known_tasks() -> list[str]:
    return sorted(TASKS)


def get_task(cfg: Any) -> Task:
    """The task named ``cfg.name``, configured by ``cfg`` (a TaskConfig or a Hydra node of one)."""
    if cfg.name not in TASKS:
        raise ValueError(f"unknown task {cfg.name!r}; known tasks: {', '.join(known_tasks())}")
    check_task_config(cfg)
    module_name, class_name = TASKS[cfg.name].split(":")
    return getattr(importlib.import_module(module_name), class_name)(cfg)


__all__ = ["SPLITS", "TASKS", "Record", "Task", "get_task", "in_validation", "known_tasks"]
