"""MATH-500: the 500-problem MATH test subset of "Let's Verify Step by Step" — a test split only.

Source: ``math500/test.jsonl`` of the offline data, else the hub's ``HuggingFaceH4/MATH-500``.
``problem_id`` = the source's ``unique_id`` (e.g. ``test/precalculus/807.json``). The target is the
reference solution, one step per non-empty line, with the gold answer in the answer block. Grading:
:func:`reasoning_irl.tasks.math_answers.math_answers_equal` (LaTeX normalisation, then symbolic or
numeric equivalence through a safe parser). ``record.meta``: ``subject``, ``level``, ``unique_id``.
"""

from __future__ import annotations

from typing import Any

from reasoning_irl.tasks.base import Record, Task, check_split
from reasoning_irl.tasks.math_answers import math_answers_equal
from reasoning_irl.tasks.sources import (
    finish_split,
    local_or_hub,
    make_prompt,
    non_empty_lines,
    read_jsonl_rows,
)
from reasoning_irl.text.format import format_completion

HUB_ID = "HuggingFaceH4/MATH-500"
LOCAL_FILE = "math500/test.jsonl"


class Math500Task(Task):
    name = "math500"

    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg
        self.source: str | None = None

    def load(self, split: str) -> list[Record]:
        check_split(split)
        if split != "test":
            raise ValueError(
                f"task math500 has only a test split (asked for {split!r}); train on another task "
                "(e.g. task=gsm8k) and evaluate with task=math500"
            )
        rows, self.source = local_or_hub(
            self.cfg,
            LOCAL_FILE,
            lambda path: read_jsonl_rows(path, ("problem", "solution", "answer", "unique_id")),
            HUB_ID,
            "test",
        )
        records = [
            Record(
                problem_id=row["unique_id"],
                question=row["problem"],
                answer=row["answer"],
                prompt=make_prompt(self.cfg, row["problem"]),
                target=format_completion(non_empty_lines(row["solution"]), row["answer"]),
                meta={
                    "subject": row.get("subject"),
                    "level": row.get("level"),
                    "unique_id": row["unique_id"],
                },
            )
            for row in rows
        ]
        return finish_split(records, split, self.cfg)

    def grade_answer(self, answer: str | None, record: Record) -> bool:
        return math_answers_equal(answer, record.answer)

    def describe(self) -> dict[str, Any]:
        return {"task": self.name, "source": self.source, "split_rule": "test only (MATH-500)"}
