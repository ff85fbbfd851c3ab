"""The graded problems of an evaluation in compact numpy columns: :class:`Results` (no texts kept).

Per problem, as soon as its rows are complete: its number of samples n, correct count c and maj@k
(k in ``eval.ks``); per sample, only what a metric needs over all samples or for an N known only at the
end (the smallest n): the correctness flag (bool), the vote group of its answer (int32), its length and
one float64 value per stored score selector (13 bytes plus 8 per selector, at most 53 per sample), and
no Python object per sample. :mod:`reasoning_irl.eval.report` turns them into ``metrics.json``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from reasoning_irl.metrics import reranking as M


class Column:
    """A growable 1-D numpy array: appends are amortised O(1) (capacity doubles), no object per value."""

    def __init__(self, dtype: Any, capacity: int = 1024) -> None:
        self._data = np.empty(capacity, dtype=dtype)
        self.size = 0

    def extend(self, values: Any) -> None:
        values = np.asarray(values, dtype=self._data.dtype).ravel()
        end = self.size + values.size
        if end > self._data.size:
            grown = np.empty(max(end, 2 * self._data.size), dtype=self._data.dtype)
            grown[: self.size] = self._data[: self.size]
            self._data = grown
        self._data[self.size : end] = values
        self.size = end

    @property
    def values(self) -> np.ndarray:
        return self._data[: self.size]


@dataclass
class ProblemResult:
    """One graded problem, as views into :class:`Results` (what calibration fitting reads)."""

    correct: np.ndarray
    #: selector → one value per sample; a selector missing here is unavailable.
    scores: dict[str, np.ndarray]


class Results:
    """The graded problems of an evaluation, in columns (see the module docstring)."""

    def __init__(self, ks: Sequence[int]) -> None:
        self.ks = sorted(set(ks))
        self.n, self.correct_count = Column(np.int64), Column(np.int64)
        self.maj = {k: Column(np.float64) for k in self.ks}  # maj@k of each problem, NaN for k > n
        self.correct, self.vote, self.length = Column(bool), Column(np.int32), Column(np.int64)
        self._scores: dict[str, Column] = {}
        self.incomplete: set[str] = set()  # selectors some problem lacks: unavailable

    def add(
        self, correct: Sequence[bool], votes: Sequence[str | None], lengths: Sequence[int], scores: Mapping[str, Any]
    ) -> None:
        """Keep one graded problem: its flags, vote keys (None: no answer), lengths and selector scores."""
        flags = np.asarray(correct, dtype=bool)
        n = flags.size
        if not len(self):
            self._scores = {name: Column(np.float64) for name in scores}
        else:  # a selector some problem lacks is unavailable for all
            self.incomplete |= (set(self._scores) | self.incomplete) ^ set(scores)
            for name in self.incomplete:
                self._scores.pop(name, None)
        for name, column in self._scores.items():
            column.extend(scores[name])
        for k, column in self.maj.items():
            column.extend(M.maj_at_k(flags, votes, k)["value"] if k <= n else np.nan)
        groups: dict[str, int] = {}
        self.vote.extend([-1 if v is None else groups.setdefault(v, len(groups)) for v in votes])
        self.n.extend(n)
        self.correct_count.extend(int(flags.sum()))
        self.correct.extend(flags)
        self.length.extend(lengths)

    def __len__(self) -> int:
        return self.n.size

    @property
    def bounds(self) -> np.ndarray:
        """Sample rows of problem i: ``bounds[i]:bounds[i + 1]``."""
        return np.concatenate([[0], np.cumsum(self.n.values)])

    def scores(self, name: str) -> np.ndarray | None:
        """Every sample's value of a stored selector (``reward_*``, ``policy_mean_logprob``), None if missing."""
        column = self._scores.get(name)
        return None if column is None else column.values

    def __iter__(self) -> Iterator[ProblemResult]:
        bounds = self.bounds
        for a, b in zip(bounds[:-1], bounds[1:]):
            yield ProblemResult(
                self.correct.values[a:b], {name: c.values[a:b] for name, c in self._scores.items()}
            )

    def votes(self, a: int, b: int) -> list[int | None]:
        """Vote groups of rows a:b as ``metrics`` expects answers (None: no answer; equal = same answer)."""
        return [None if v < 0 else int(v) for v in self.vote.values[a:b]]
