"""MMLU-Pro (Wang et al., 2024): 12,032 ten-option questions in 14 categories.

Source: ``mmlu_pro/model_outputs_jamba-1.5-large_5shots.zip`` of the offline data (only the original
fields are kept; the evaluation run's ``pred`` and ``model_outputs`` are dropped), else the hub's
``TIGER-Lab/MMLU-Pro`` test split.

MMLU-Pro has only a test split, so ours are carved from it by ``question_id`` (recorded by
:meth:`MMLUProTask.describe`): a question is in our **test** split when
``stable_hash(f"mmlu_pro-test:{question_id}") % 10**6 < task.mmlu_pro_test_fraction * 10**6``;
the rest is train, and validation is ``in_validation(problem_id, task.validation_fraction)`` of it.

The gold is the ``answer`` letter (one row, question 3983, has an ``answer_index`` that disagrees
with its letter; the letter is the chemically right one). Expert traces come only from
``task.expert_traces_path``. ``record.meta``: the multiple-choice keys of
:func:`~reasoning_irl.tasks.multiple_choice.choice_meta` plus ``question_id``, ``category``, ``src``.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from reasoning_irl.io import DataFileError
from reasoning_irl.tasks.base import Record, check_split, stable_hash
from reasoning_irl.tasks.multiple_choice import ChoiceTask, choice_record
from reasoning_irl.tasks.sources import attach_expert_traces, carve, finish_split, local_or_hub

HUB_ID = "TIGER-Lab/MMLU-Pro"
LOCAL_FILE = "mmlu_pro/model_outputs_jamba-1.5-large_5shots.zip"
FIELDS = ("question_id", "question", "options", "answer", "answer_index", "cot_content", "category", "src")


def read_mmlu_pro_zip(path: Path) -> list[dict]:
    """The original MMLU-Pro fields of every row of the published evaluation-output archive."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = [n for n in archive.namelist() if n.endswith(".json")]
            if len(members) != 1:
                raise DataFileError(f"{path}: expected one .json member, found {members}")
            rows = json.loads(archive.read(members[0]).decode("utf-8"))
    except (zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataFileError(f"{path}: not a readable MMLU-Pro archive ({err})") from None
    kept = []
    for i, row in enumerate(rows):
        missing = [key for key in FIELDS if key not in row]
        if missing:
            raise DataFileError(f"{path}: item {i} lacks field(s) {', '.join(missing)}")
        kept.append({key: row[key] for key in FIELDS})
    return kept


def in_mmlu_pro_test(question_id: int, fraction: float) -> bool:
    return stable_hash(f"mmlu_pro-test:{question_id}") % 1_000_000 < fraction * 1_000_000


class MMLUProTask(ChoiceTask):
    name = "mmlu_pro"

    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg
        self.source: str | None = None
        self._rows: list[dict] | None = None

    def load(self, split: str) -> list[Record]:
        check_split(split)
        if self._rows is None:
            self._rows, self.source = local_or_hub(self.cfg, LOCAL_FILE, read_mmlu_pro_zip, HUB_ID, "test")
        rows = self._rows
        fraction = self.cfg.mmlu_pro_test_fraction
        records = [
            choice_record(
                self.cfg,
                f"mmlu_pro-{row['question_id']}",
                row["question"],
                list(row["options"]),
                row["answer"],
                question_id=row["question_id"],
                category=row["category"],
                src=row["src"],
            )
            for row in rows
            if in_mmlu_pro_test(row["question_id"], fraction) == (split == "test")
        ]
        if split != "test":
            records = carve(records, split, self.cfg.validation_fraction)
        attach_expert_traces(records, self.cfg, split)
        return finish_split(records, split, self.cfg)

    def describe(self) -> dict[str, Any]:
        return {
            "task": self.name,
            "source": self.source,
            "split_rule": (
                "test iff stable_hash('mmlu_pro-test:<question_id>') % 10**6 < "
                f"{self.cfg.mmlu_pro_test_fraction} * 10**6; "
                f"validation = in_validation(problem_id, {self.cfg.validation_fraction}) of the rest"
            ),
            "expert_traces_path": self.cfg.expert_traces_path,
        }
