"""The task interface: records, splits, graders and step checkers.

A task turns a data source into :class:`Record` objects for the splits ``train``, ``validation`` and
``test``. Validation is carved from train deterministically by a hash of ``problem_id`` when the
source has none (:func:`in_validation`) — never from test, so model selection cannot see test data.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, ClassVar

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
    """Base class of a task. Subclasses set ``name`` and implement ``load`` and ``grade``."""

    name: ClassVar[str] = ""
    #: Whether :meth:`first_error_step` can check the steps of any completion.
    checks_steps: ClassVar[bool] = False
    #: ``math`` (a number or expression) or ``multiple_choice`` (an option): chooses the default
    #: perturbations of expert traces (``reasoning_irl.rewards.perturbations.default_perturbations``).
    answer_kind: ClassVar[str] = "math"

    def load(self, split: str) -> list[Record]:
        raise NotImplementedError

    def grade(self, completion: str, record: Record) -> bool:
        raise NotImplementedError

    def first_error_step(self, completion: str, record: Record) -> int | None:
        """Index (into ``segment_steps(completion)``) of the first wrong step; None if none is wrong."""
        raise NotImplementedError(f"task {self.name!r} cannot check individual steps")
