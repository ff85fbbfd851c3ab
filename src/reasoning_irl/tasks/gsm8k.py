"""GSM8K (Cobbe et al., 2021): grade-school math word problems with worked solutions.

Source: ``gsm8k/{train,test}.jsonl`` of the offline data, else the hub's ``openai/gsm8k`` (``main``).
- ``problem_id`` = ``gsm8k-<source split>-<row index>`` (stable: the file order).
- gold ``answer`` = the text after ``####`` without thousands commas (``1,080`` → ``1080``).
- ``target`` = the solution in our format: each non-empty solution line is a step, with the
  ``<<48/2=24>>`` calculator annotations removed; the answer block holds the gold answer. With
  ``task.expert_traces_path`` (the reference's teacher chains of thought, ``gsm8k_kd``; docs/METHOD.md §9) the
  targets are that file's traces only: a problem without a row has no demonstration.
- validation = ``in_validation(problem_id, task.validation_fraction)`` of the train file (never test).
- grading: the answer block's number equals the gold number (:mod:`reasoning_irl.tasks.grading`).
"""

from __future__ import annotations

import re
from typing import Any

from reasoning_irl.io import DataFileError
from reasoning_irl.tasks.base import Record, Task, check_split
from reasoning_irl.tasks.grading import numbers_equal
from reasoning_irl.tasks.sources import (
    attach_expert_traces,
    carve,
    finish_split,
    local_or_hub,
    make_prompt,
    non_empty_lines,
    read_jsonl_rows,
)
from reasoning_irl.text.format import format_completion

HUB_ID = "openai/gsm8k"
_ANNOTATION = re.compile(r"<<[^<>]*>>")


def parse_solution(solution: str) -> tuple[list[str], str]:
    """(reasoning steps, gold answer) of a GSM8K solution ``"…\\n#### 72"``."""
    if solution.count("####") != 1:
        raise ValueError("a GSM8K solution has exactly one '####' line before its final answer")
    body, answer = solution.split("####")
    steps = non_empty_lines(_ANNOTATION.sub("", body))
    return steps, answer.strip().replace(",", "")


class GSM8KTask(Task):
    name = "gsm8k"

    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg
        self.sources: dict[str, str] = {}

    def _rows(self, source_split: str) -> list[dict]:
        rows, where = local_or_hub(
            self.cfg,
            f"gsm8k/{source_split}.jsonl",
            lambda path: read_jsonl_rows(path, ("question", "answer")),
            HUB_ID,
            source_split,
            config_name="main",
        )
        self.sources[source_split] = where
        return rows

    def load(self, split: str) -> list[Record]:
        check_split(split)
        source_split = "test" if split == "test" else "train"
        records = []
        for index, row in enumerate(self._rows(source_split)):
            problem_id = f"gsm8k-{source_split}-{index}"
            try:
                steps, answer = parse_solution(row["answer"])
            except ValueError as err:
                raise DataFileError(f"{self.sources[source_split]}: row {index + 1}: {err}") from None
            records.append(
                Record(
                    problem_id=problem_id,
                    question=row["question"],
                    answer=answer,
                    prompt=make_prompt(self.cfg, row["question"]),
                    target=format_completion(steps, answer),
                    meta={"source_split": source_split, "index": index},
                )
            )
        if split != "test":
            records = carve(records, split, self.cfg.validation_fraction)
        if self.cfg.expert_traces_path:
            for record in records:
                record.target = None  # the experts are the file's traces, not the human solutions
            attach_expert_traces(records, self.cfg, split)
        return finish_split(records, split, self.cfg)

    def grade_answer(self, answer: str | None, record: Record) -> bool:
        return numbers_equal(answer, record.answer)

    def describe(self) -> dict[str, Any]:
        return {
            "task": self.name,
            "sources": dict(self.sources),
            "split_rule": "test = GSM8K test; validation = "
            f"in_validation(problem_id, {self.cfg.validation_fraction}) of train",
            "expert_traces_path": self.cfg.expert_traces_path,
        }
