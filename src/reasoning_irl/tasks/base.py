"""The task interface: records, splits, graders and step checkers.

A task turns a data source into :class:`Record` objects for the splits ``train``, ``validation`` and
``test``. Validation is carved from train deterministically by a hash of ``problem_id`` when the
source has none (:func:`in_validation`) — never from test, so model selection cannot see test data.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, ClassVar

from reasoning_irl.text.answers import FoundAnswer, find_answer

SPLITS = ("train", "validation", "test")


@dataclass
class Record:
    """One problem.

    ``prompt`` are chat messages (system + user); ``answer`` the gold answer as text; ``target`` the
    expert completion in our format when the problem has a demonstration; ``steps`` explicit step
    strings when the source gives them (ProcessBench) and ``first_error_step`` their label (None: no
    wrong step); ``meta`` anything task-specific (operations of an arith problem, MMLU options …).
    """

    problem_id: str
    question: str
    answer: str
    prompt: list[dict[str, str]]
    target: str | None = None
    steps: list[str] | None = None
    first_error_step: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def stable_hash(text: str) -> int:
    """A hash that does not change between processes or Python versions (unlike ``hash``)."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def in_validation(problem_id: str, fraction: float) -> bool:
    """Whether a train-source problem belongs to the validation carve (deterministic, by id hash)."""
    return (stable_hash(f"validation:{problem_id}") % 1_000_000) < fraction * 1_000_000


def check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")


class Task:
    """Base class of a task. Subclasses set ``name`` and implement ``load`` and ``grade_answer``.

    Grading is extraction then comparison: :meth:`extract` finds the final answer as
    ``task.answer_format`` says (:func:`reasoning_irl.text.answers.find_answer`, one function for every
    task), :meth:`grade_answer` compares it with the gold answer by the task's own notion of equal.
    """

    name: ClassVar[str] = ""
    #: Whether :meth:`first_error_step` can check the steps of any completion.
    checks_steps: ClassVar[bool] = False
    #: ``math`` (a number or expression) or ``multiple_choice`` (an option): chooses the default
    #: perturbations of expert traces (``reasoning_irl.rewards.perturbations.default_perturbations``).
    answer_kind: ClassVar[str] = "math"
    #: Whether the ``flexible`` format may fall back to the last number of the text (numeric tasks).
    last_number_fallback: ClassVar[bool] = True
    cfg: Any = None

    @property
    def answer_format(self) -> str:
        """``task.answer_format``; null means ``tags`` here (evaluation resolves its own default first)."""
        return (self.cfg.answer_format if self.cfg is not None else None) or "tags"

    def load(self, split: str) -> list[Record]:
        raise NotImplementedError

    def extract(self, completion: str) -> FoundAnswer:
        """The completion's final answer and the rule that found it (``extracted_by``)."""
        return find_answer(completion, self.answer_format, last_number=self.last_number_fallback)

    def grade(self, completion: str, record: Record) -> bool:
        return self.grade_answer(self.extract(completion).text, record)

    def grade_answer(self, answer: str | None, record: Record) -> bool:
        """Whether an extracted answer text equals the record's gold answer (never raises on model text)."""
        raise NotImplementedError(f"task {self.name!r} grades only its records' own completions")

    def gold_matches(self, given: str, record: Record) -> bool:
        """Whether a gold answer given with an input row is the record's, by the grader's notion of equal.

        ``2,125`` = ``2125`` (GSM8K), ``025`` = ``25`` (AIME), ``C`` = ``C. <text>`` (multiple choice);
        a whole GSM8K solution ``… #### 2,125`` is read at its final answer.
        """
        if given.strip() == str(record.answer).strip():
            return True
        try:
            if self.grade_answer(given, record):
                return True
            found = find_answer(given, "flexible", last_number=False)
            return found.text is not None and self.grade_answer(found.text, record)
        except NotImplementedError:
            return False

    def first_error_step(self, completion: str, record: Record) -> int | None:
        """Index (into ``segment_steps(completion)``) of the first wrong step; None if none is wrong."""
        raise NotImplementedError(f"task {self.name!r} cannot check individual steps")
