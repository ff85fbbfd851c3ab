"""ProcessBench (Zheng et al., 2025): model-written solutions with the human-labelled first wrong step.

Source: ``processbench/<subset>.json`` of the offline data, else the hub's ``Qwen/ProcessBench``
(split = subset); ``task.processbench_subset`` is one of ``gsm8k``, ``math``, ``olympiadbench``,
``omnimath`` or ``all``. A test split only.

Each record keeps ``steps`` exactly as given (they may span several lines) and ``first_error_step``
(the label; −1 becomes None). The completion scored for a record is ``render_steps(steps)[0]``, and
its steps are ``segment_steps(completion, steps)`` — never a line split. ProcessBench has no gold
answer text: ``answer`` is ``""``, and :meth:`ProcessBenchTask.grade` / ``first_error_step`` only
answer for the record's own completion, from its labels. ``record.meta``: ``subset``, ``generator``,
``final_answer_correct``, ``label`` (the raw label).
"""

from __future__ import annotations

from typing import Any

from reasoning_irl.config.task import PROCESSBENCH_SUBSETS
from reasoning_irl.io import DataFileError
from reasoning_irl.tasks.base import Record, Task, check_split
from reasoning_irl.tasks.sources import finish_split, local_or_hub, make_prompt, read_json_array
from reasoning_irl.text.format import render_steps

HUB_ID = "Qwen/ProcessBench"
FIELDS = ("id", "generator", "problem", "steps", "final_answer_correct", "label")


class ProcessBenchTask(Task):
    name = "processbench"
    checks_steps = False  # only the labelled completions can be checked

    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg
        self.sources: dict[str, str] = {}

    def _subset_records(self, subset: str) -> list[Record]:
        rows, where = local_or_hub(
            self.cfg,
            f"processbench/{subset}.json",
            lambda path: read_json_array(path, FIELDS),
            HUB_ID,
            subset,
        )
        self.sources[subset] = where
        records = []
        for i, row in enumerate(rows):
            steps, label = list(row["steps"]), int(row["label"])
            if not steps or not all(isinstance(s, str) and s for s in steps) or not -1 <= label < len(steps):
                raise DataFileError(
                    f"{where}: item {i} ({row['id']}): needs non-empty steps and a label "
                    f"in -1..{len(steps) - 1}"
                )
            records.append(
                Record(
                    problem_id=str(row["id"]),
                    question=row["problem"],
                    answer="",
                    prompt=make_prompt(self.cfg, row["problem"]),
                    steps=steps,
                    first_error_step=None if label == -1 else label,
                    meta={
                        "subset": subset,
                        "generator": row["generator"],
                        "final_answer_correct": bool(row["final_answer_correct"]),
                        "label": label,
                    },
                )
            )
        return records

    def load(self, split: str) -> list[Record]:
        check_split(split)
        if split != "test":
            raise ValueError(
                f"task processbench has only a test split (asked for {split!r}); it is an evaluation set"
            )
        subset = self.cfg.processbench_subset
        subsets = PROCESSBENCH_SUBSETS if subset == "all" else (subset,)
        records = [r for name in subsets for r in self._subset_records(name)]
        return finish_split(records, split, self.cfg)

    def _check_own(self, completion: str, record: Record) -> None:
        if record.steps is None or completion != render_steps(record.steps)[0]:
            raise ValueError(
                "ProcessBench has no gold answer or step checker: only the record's own completion "
                "(render_steps(record.steps)[0]) can be graded, from its labels"
            )

    def grade(self, completion: str, record: Record) -> bool:
        """Whether the record's own solution reaches the right final answer (its label)."""
        self._check_own(completion, record)
        return bool(record.meta["final_answer_correct"])

    def first_error_step(self, completion: str, record: Record) -> int | None:
        """The labelled first wrong step of the record's own solution (None: no wrong step)."""
        self._check_own(completion, record)
        return record.first_error_step

    def describe(self) -> dict[str, Any]:
        return {
            "task": self.name,
            "subset": self.cfg.processbench_subset,
            "sources": dict(self.sources),
            "split_rule": "test only",
        }
