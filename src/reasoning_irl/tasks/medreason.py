"""MedReason (Wu et al., 2025): medical multiple-choice questions (MedQA and MedMCQA sources).

- ``test`` = the MedQA (USMLE, 5 options) test set, ``medqa/medqa_test.jsonl`` of the offline data
  (the file the MedReason authors evaluate on): options A–E appended to the question, gold
  ``"LETTER. text"``, ``problem_id`` = ``medqa-test-<row index>``.
- ``train`` / ``validation`` = the hub dataset ``UCSC-VLAA/MedReason`` (or a local copy
  ``medreason/medreason.jsonl`` with the same fields), kept to the ``medqa`` and ``medmcqa`` sources,
  without any question whose text is also in the MedQA test file; validation is
  ``in_validation(problem_id, task.validation_fraction)``. Offline, these splits are a clear error.
  A row whose gold option cannot be identified from ``answer`` is skipped (counted in
  :meth:`MedReasonTask.describe`).
- Expert traces come only from ``task.expert_traces_path`` (MedReason's own ``reasoning`` field is
  not used: traces must be chosen explicitly). ``record.meta``: the multiple-choice keys of
  :func:`~reasoning_irl.tasks.multiple_choice.choice_meta` plus ``source`` and ``meta_info`` (MedQA
  step) or ``id_in_dataset``.
"""

from __future__ import annotations

import re
from typing import Any

from reasoning_irl.io import DataFileError
from reasoning_irl.tasks.base import Record, check_split
from reasoning_irl.tasks.multiple_choice import LETTERS, ChoiceTask, choice_record, chosen_options
from reasoning_irl.tasks.sources import (
    attach_expert_traces,
    carve,
    finish_split,
    local_file,
    local_or_hub,
    read_jsonl_rows,
)

HUB_ID = "UCSC-VLAA/MedReason"
TEST_FILE = "medqa/medqa_test.jsonl"
LOCAL_TRAIN_FILE = "medreason/medreason.jsonl"
SOURCES = ("medqa", "medmcqa")
_OPTION_LINE = re.compile(r"^\s*\(?([A-J])[.):]\s*(.+?)\s*$")
_LEADING_LETTER = re.compile(r"^\s*\(?([A-J])[.):](?:\s|$)")


def parse_options(options: Any) -> list[str]:
    """Option texts in letter order from a dict ``{"A": …}`` or lines ``"A. …\\nB. …"``."""
    if isinstance(options, dict):
        letters = sorted(options)
        if "".join(letters) != LETTERS[: len(letters)]:
            raise ValueError(f"option letters {letters} are not A, B, C, …")
        return [str(options[k]) for k in letters]
    found = [m.groups() for m in map(_OPTION_LINE.match, str(options).splitlines()) if m]
    if not found or "".join(letter for letter, _ in found) != LETTERS[: len(found)]:
        raise ValueError(f"cannot read options A, B, C, … from {str(options)[:80]!r}")
    return [text for _, text in found]


def _question_key(text: str) -> str:
    return " ".join(text.split()).casefold()


class MedReasonTask(ChoiceTask):
    name = "medreason"

    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg
        self.sources: dict[str, str] = {}
        self.skipped_rows = 0

    def _test_records(self) -> list[Record]:
        path = local_file(self.cfg, TEST_FILE)
        if path is None:
            raise DataFileError(
                f"the MedReason test split is the MedQA test file {TEST_FILE!r}, not found in the "
                "data folder: set task.data_dir (or $REASONING_IRL_DATA) to the folder holding it"
            )
        self.sources["test"] = str(path)
        records = []
        for index, row in enumerate(read_jsonl_rows(path, ("question", "options", "answer_idx"))):
            records.append(
                choice_record(
                    self.cfg,
                    f"medqa-test-{index}",
                    row["question"],
                    parse_options(row["options"]),
                    row["answer_idx"],
                    source="medqa",
                    meta_info=row.get("meta_info"),
                )
            )
        return records

    def _train_records(self) -> list[Record]:
        rows, self.sources["train"] = local_or_hub(
            self.cfg,
            LOCAL_TRAIN_FILE,
            lambda path: read_jsonl_rows(path, ("dataset_name", "question", "options", "answer")),
            HUB_ID,
            "train",
        )
        test_questions = self._test_question_keys()
        records, self.skipped_rows = [], 0
        for index, row in enumerate(rows):
            source = str(row.get("dataset_name", "")).lower()
            if source not in SOURCES or _question_key(row["question"]) in test_questions:
                continue
            try:
                options = parse_options(row["options"])
                letter = _gold_letter(str(row["answer"]), options)
            except ValueError:
                self.skipped_rows += 1
                continue
            row_id = row.get("id_in_dataset", index)
            records.append(
                choice_record(
                    self.cfg,
                    f"medreason-{source}-{row_id}",
                    row["question"],
                    options,
                    letter,
                    source=source,
                    id_in_dataset=row_id,
                )
            )
        return records

    def _test_question_keys(self) -> set[str]:
        """Questions of the MedQA test file, excluded from train (empty when the file is absent)."""
        try:
            path = local_file(self.cfg, TEST_FILE)
        except DataFileError:
            path = None
        self.sources["decontaminated_against"] = str(path)
        rows = read_jsonl_rows(path, ("question",)) if path is not None else []
        return {_question_key(row["question"]) for row in rows}

    def load(self, split: str) -> list[Record]:
        check_split(split)
        if split == "test":
            records = self._test_records()
        else:
            records = carve(self._train_records(), split, self.cfg.validation_fraction)
        attach_expert_traces(records, self.cfg, split)
        return finish_split(records, split, self.cfg)

    def describe(self) -> dict[str, Any]:
        return {
            "task": self.name,
            "sources": dict(self.sources),
            "skipped_rows_without_gold_option": self.skipped_rows,
            "split_rule": "test = MedQA test file; validation = "
            f"in_validation(problem_id, {self.cfg.validation_fraction}) "
            f"of MedReason {'/'.join(SOURCES)} rows",
            "expert_traces_path": self.cfg.expert_traces_path,
        }


def _gold_letter(answer: str, options: list[str]) -> str:
    """The letter of the option a MedReason ``answer`` names (leading label, or the option's text)."""
    m = _LEADING_LETTER.match(answer)
    if m and LETTERS.index(m.group(1)) < len(options):
        return m.group(1)
    chosen = chosen_options(answer, options)
    if len(chosen) != 1:
        raise ValueError(f"answer {answer[:60]!r} names no single option")
    return LETTERS[chosen[0]]
