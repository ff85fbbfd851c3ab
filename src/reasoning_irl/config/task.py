"""Config group ``task``: which dataset, where its files are, and how its splits are cut.

``configs/task/<name>.yaml`` sets ``name`` and the knobs that matter for that task; everything else
keeps the defaults below. :func:`reasoning_irl.tasks.get_task` builds the task from this config.
Keys prefixed with a task name (``arith_*``, ``aime_*``, ``mmlu_pro_*``, ``processbench_*``) are read
only by that task.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ARITH_OPERATORS = "+-*/"
ANSWER_FORMATS = ("tags", "boxed", "flexible")
#: Tasks that read ``expert_traces_path``.
TRACE_FILE_TASKS = ("gsm8k", "medreason", "mmlu_pro")
PROCESSBENCH_SUBSETS = ("gsm8k", "math", "olympiadbench", "omnimath")


@dataclass
class TaskConfig:
    #: Task name: ``arith`` (synthetic, the embedded default), ``gsm8k``, ``medreason``, ``mmlu_pro``,
    #: ``aime``, ``math500``, ``processbench``.
    name: str = "arith"
    #: Folder holding the offline data files (laid out as ``../shared/data``, see its README).
    #: None: ``$REASONING_IRL_DATA``, else ``../shared/data`` beside the project; when the file is not
    #: there either, the Hugging Face hub id of the dataset is tried. A folder given here is used alone.
    data_dir: str | None = None
    #: Training problems that keep their expert trace (``target``): None = all; k = the first k by a
    #: deterministic order (hash of ``seed`` and ``problem_id``); the rest are prompts without
    #: demonstration, which only AIRL can use. 0 = no demonstrations (no trace file needed).
    num_demonstrations: int | None = None
    #: JSONL of expert traces: one row per problem, ``problem_id`` plus ``target`` (a full completion in
    #: our format) or ``reasoning`` (text whose non-empty lines become the steps; the gold answer is
    #: appended). Required for ``mmlu_pro`` and ``medreason`` (no traces of their own); for ``gsm8k`` it
    #: replaces the human solutions (the reference's teacher traces). Refused by the other tasks.
    expert_traces_path: str | None = None
    #: Share of the train source carved into validation (by a hash of ``problem_id``; never from test).
    validation_fraction: float = 0.1
    #: At most this many problems per split, the first ones in source order (None = all).
    max_problems: int | None = None
    #: Seed of the generated arith problems and of the demonstration order. Independent of the run's
    #: ``seed`` so that several training seeds see the same data.
    seed: int = 0
    #: System prompt of every problem (None: the task's default — ``reasoning_irl.text.DEFAULT_SYSTEM_PROMPT``,
    #: or none for ``arith``, see ``tasks.sources.TASK_SYSTEM_PROMPTS``; "" = none).
    system_prompt: str | None = None
    #: How a completion's final answer is found (:mod:`reasoning_irl.text.answers`): ``tags`` (strict: the
    #: last ``<answer>`` block), ``boxed`` (the last ``\\boxed{}``) or ``flexible`` (tags, else boxed, else
    #: "answer is …"/"Answer: …", else ``####``, else the last number). null = the use's default:
    #: ``tags`` for training and the generate/aime evaluation modes (the format the rewards check),
    #: ``flexible`` for evaluating pregenerated files (outside models rarely write our tags).
    answer_format: str | None = None

    # --- arith (synthetic multi-step arithmetic) ---------------------------------------------------
    #: Training problems generated. Test is generated first from its own seed stream, then
    #: validation, then train, each skipping problems already taken: the splits are disjoint.
    arith_num_train: int = 10_000
    #: Validation problems generated (independent of arith_num_train).
    arith_num_validation: int = 500
    #: Test problems generated (independent of the two sizes above).
    arith_num_test: int = 1_000
    #: Fewest operations of a problem (the number is drawn uniformly from [min_ops, max_ops]).
    arith_min_ops: int = 2
    #: Most operations of a problem.
    arith_max_ops: int = 4
    #: Operands are drawn from 1..arith_operand_max (2.. for ``*`` and ``/``).
    arith_operand_max: int = 9
    #: The start value is drawn from 1..arith_start_max.
    arith_start_max: int = 9
    #: Every intermediate result stays in 1..arith_result_max (0 would make later ``*`` and ``/`` trivial).
    arith_result_max: int = 99
    #: Operators used, as a string of characters from ``+-*/`` (``/`` only where it divides exactly).
    arith_operators: str = ARITH_OPERATORS

    # --- other tasks -------------------------------------------------------------------------------
    #: AIME years of the test split (2024, 2025).
    aime_years: list[int] = field(default_factory=lambda: [2024, 2025])
    #: ProcessBench subset: ``gsm8k``, ``math``, ``olympiadbench``, ``omnimath`` or ``all``.
    processbench_subset: str = "gsm8k"
    #: Share of MMLU-Pro (which has only a test split) held out as our test split, by a hash of
    #: ``question_id``; the rest is train (and validation carved from it). 0.125 ≈ 1,500 of 12,032.
    mmlu_pro_test_fraction: float = 0.125


def check_task_config(cfg: Any) -> None:
    """Refuse values that no task could use, naming the key and the allowed range."""

    def fail(key: str, why: str) -> None:
        raise ValueError(f"task.{key}={getattr(cfg, key)!r}: {why}")

    if cfg.answer_format is not None and cfg.answer_format not in ANSWER_FORMATS:
        fail("answer_format", f"use one of {', '.join(ANSWER_FORMATS)} (or null: the use's default)")
    if not 0.0 <= cfg.validation_fraction < 1.0:
        fail("validation_fraction", "must be in [0, 1)")
    if cfg.expert_traces_path and cfg.name not in TRACE_FILE_TASKS:
        fail("expert_traces_path",
             f"task {cfg.name!r} does not read a traces file (only {', '.join(TRACE_FILE_TASKS)}); remove it")
    if not 0.0 < cfg.mmlu_pro_test_fraction < 1.0:
        fail("mmlu_pro_test_fraction", "must be in (0, 1)")
    for key in ("num_demonstrations", "max_problems"):
        value = getattr(cfg, key)
        if value is not None and value < 0:
            fail(key, "must be None (all) or >= 0")
    for key in ("arith_num_train", "arith_num_validation", "arith_num_test"):
        if getattr(cfg, key) < 0:
            fail(key, "must be >= 0")
    if not 1 <= cfg.arith_min_ops <= cfg.arith_max_ops:
        fail("arith_min_ops", f"need 1 <= arith_min_ops <= arith_max_ops (= {cfg.arith_max_ops})")
    if cfg.arith_operand_max < 2:
        fail("arith_operand_max", "must be >= 2 (multiplication and division use operands 2..max)")
    if cfg.arith_start_max < 1:
        fail("arith_start_max", "must be >= 1")
    if cfg.arith_result_max < max(cfg.arith_start_max, cfg.arith_operand_max):
        fail("arith_result_max", "must be at least arith_start_max and arith_operand_max")
    ops = str(cfg.arith_operators)
    if not ops or any(op not in ARITH_OPERATORS for op in ops) or len(set(ops)) != len(ops):
        fail("arith_operators", f"must be distinct characters from {ARITH_OPERATORS!r}")
    if cfg.processbench_subset not in (*PROCESSBENCH_SUBSETS, "all"):
        fail("processbench_subset", f"use one of {', '.join(PROCESSBENCH_SUBSETS)} or all")
    if not cfg.aime_years or any(year not in (2024, 2025) for year in cfg.aime_years):
        fail("aime_years", "must be a non-empty list of 2024 and/or 2025")
