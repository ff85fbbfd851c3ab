"""AIME: integer answers 0–999, compared numerically (``"025"`` = ``25``).

- ``test`` = AIME 2024 (``aime24/test.jsonl``, hub ``HuggingFaceH4/aime_2024``) and/or AIME 2025
  (``aime25/test.jsonl``, hub ``MathArena/aime_2025``), chosen by ``task.aime_years``;
  ``problem_id`` = ``aime-<year>-<source id>``. 2024 rows carry their AoPS solutions in ``meta``.
- ``train`` / ``validation`` = the ``amc_aime`` rows of the hub's ``AI-MO/NuminaMath-CoT`` (or a local
  ``numinamath/amc_aime.jsonl`` with fields ``problem``, ``solution``), kept when the last
  ``\\boxed{}`` of the solution is an integer in 0..999, without problems whose text is in a loaded
  AIME test file. The target is the solution, one step per non-empty line. Offline: a clear error.

``record.meta``: ``year``, ``source_id``, ``raw_answer`` (test); ``source`` (train).
"""

from __future__ import annotations

import re
from typing import Any

from reasoning_irl.io import DataFileError
from reasoning_irl.tasks.base import Record, Task, check_split
from reasoning_irl.tasks.grading import numbers_equal, unwrap_command
from reasoning_irl.tasks.sources import (
    carve,
    finish_split,
    local_file,
    local_or_hub,
    make_prompt,
    non_empty_lines,
    read_jsonl_rows,
)
from reasoning_irl.text.format import format_completion

TEST_SOURCES = {
    2024: ("aime24/test.jsonl", "HuggingFaceH4/aime_2024", "train"),
    2025: ("aime25/test.jsonl", "MathArena/aime_2025", "train"),
}
TRAIN_HUB_ID = "AI-MO/NuminaMath-CoT"
TRAIN_LOCAL_FILE = "numinamath/amc_aime.jsonl"


def _problem_key(text: str) -> str:
    return " ".join(text.split()).casefold()


def aime_answer(raw: Any) -> str:
    """The canonical text of an AIME answer (``"025"`` → ``"25"``); an error if not 0..999."""
    text = str(raw).strip()
    if not re.fullmatch(r"\d{1,3}", text):
        raise ValueError(f"AIME answer {raw!r} is not an integer 0..999")
    return str(int(text))


class AIMETask(Task):
    name = "aime"

    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg
        self.sources: dict[str, str] = {}

    def _test_records(self) -> list[Record]:
        records = []
        for year in sorted(set(self.cfg.aime_years)):
            relative, hub_id, hub_split = TEST_SOURCES[year]
            rows, self.sources[str(year)] = local_or_hub(
                self.cfg,
                relative,
                lambda path: read_jsonl_rows(path, ("problem", "answer")),
                hub_id,
                hub_split,
            )
            for index, row in enumerate(rows):
                source_id = str(row.get("id", row.get("problem_idx", index)))
                try:
                    answer = aime_answer(row["answer"])
                except ValueError as err:
                    raise DataFileError(f"{self.sources[str(year)]}: row {index + 1}: {err}") from None
                meta = {"year": year, "source_id": source_id, "raw_answer": str(row["answer"])}
                if row.get("solution"):
                    meta["solution"] = row["solution"]
                records.append(
                    Record(
                        problem_id=f"aime-{year}-{source_id}",
                        question=row["problem"],
                        answer=answer,
                        prompt=make_prompt(self.cfg, row["problem"]),
                        meta=meta,
                    )
                )
        return records

    def _test_problem_keys(self) -> set[str]:
        keys = set()
        for year, (relative, _, _) in TEST_SOURCES.items():
            try:
                path = local_file(self.cfg, relative)
            except DataFileError:
                path = None
            if path is not None:
                keys |= {_problem_key(row["problem"]) for row in read_jsonl_rows(path, ("problem",))}
                self.sources[f"decontaminated_against_{year}"] = str(path)
        return keys

    def _train_records(self) -> list[Record]:
        rows, self.sources["train"] = local_or_hub(
            self.cfg,
            TRAIN_LOCAL_FILE,
            lambda path: read_jsonl_rows(path, ("problem", "solution")),
            TRAIN_HUB_ID,
            "train",
        )
        exclude = self._test_problem_keys()
        records = []
        for index, row in enumerate(rows):
            if row.get("source", "amc_aime") != "amc_aime" or _problem_key(row["problem"]) in exclude:
                continue
            solution = row["solution"]
            boxed = unwrap_command(solution, "boxed")
            try:
                answer = aime_answer(boxed) if boxed != solution else None
            except ValueError:
                answer = None
            if answer is None:
                continue
            records.append(
                Record(
                    problem_id=f"numina-amc_aime-{index}",
                    question=row["problem"],
                    answer=answer,
                    prompt=make_prompt(self.cfg, row["problem"]),
                    target=format_completion(non_empty_lines(solution), answer),
                    meta={"source": "amc_aime"},
                )
            )
        return records

    def load(self, split: str) -> list[Record]:
        check_split(split)
        if split == "test":
            records = self._test_records()
        else:
            records = carve(self._train_records(), split, self.cfg.validation_fraction)
        return finish_split(records, split, self.cfg)

    def grade_answer(self, answer: str | None, record: Record) -> bool:
        return numbers_equal(answer, record.answer)

    def describe(self) -> dict[str, Any]:
        return {
            "task": self.name,
            "years": list(self.cfg.aime_years),
            "sources": dict(self.sources),
            "split_rule": f"test = AIME {self.cfg.aime_years}; train/validation = NuminaMath amc_aime, "
            f"validation = in_validation(problem_id, {self.cfg.validation_fraction})",
        }
