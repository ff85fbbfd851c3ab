"""Reading what other tools wrote: the answer format's default, joining rows to records, and what was found.

- :func:`resolve_answer_format`: ``task.answer_format`` null becomes ``tags`` when evaluation generates
  (our policy writes the tags its training checked) and ``flexible`` for a pregenerated file (outside
  models write ``\\boxed{}`` or "The answer is …"; strict tags would score them all 0, silently).
- :class:`PromptIndex`: a row without ``answer`` (the reference code's files) is joined to the task's
  record whose user message has the same text (whitespace collapsed), in any row order; a row that
  matches none is an error naming its line.
- :class:`AnswerStats`: how each sample's answer was found (``extracted_by``), and how often our grade
  disagrees with a ``correctness_reward_func`` carried by the row; both go to ``metrics.json``, with a
  warning when fewer than half of the graded samples have an extractable answer.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import replace
from typing import Any

from reasoning_irl.io import DataFileError
from reasoning_irl.tasks.base import Record
from reasoning_irl.text.answers import EXTRACTION_RULES

log = logging.getLogger(__name__)

#: Below this share of graded samples with an answer, the summary and metrics.json carry a warning.
LOW_ANSWER_RATE = 0.5


def resolve_answer_format(task_cfg: Any, pregenerated: bool) -> tuple[Any, str]:
    """``(task config with answer_format set, where the value came from)``."""
    if task_cfg.answer_format is not None:
        return task_cfg, "task.answer_format"
    chosen = "flexible" if pregenerated else "tags"
    why = "default for pregenerated files" if pregenerated else "default when evaluation generates"
    return replace(task_cfg, answer_format=chosen), why


def user_text(prompt: Any) -> str:
    """The last user message of a prompt (a plain string prompt is the user text), whitespace collapsed."""
    if isinstance(prompt, str):
        return " ".join(prompt.split())
    users = [m["content"] for m in prompt if m.get("role") == "user"]
    return " ".join(str(users[-1] if users else prompt[-1]["content"]).split())


class PromptIndex:
    """The task split's records by their user message text."""

    def __init__(self, records: list[Record], where: str) -> None:
        self.where = where
        self.by_text: dict[str, Record] = {}
        for record in records:
            self.by_text.setdefault(user_text(record.prompt), record)
            self.by_text.setdefault(" ".join(record.question.split()), record)

    def match(self, prompt: Any, path: Any, line: int) -> Record:
        record = self.by_text.get(user_text(prompt))
        if record is None:
            text = user_text(prompt)
            raise DataFileError(
                f"{path}:{line}: the row has no 'answer' and its user message ({text[:80]!r}) matches no "
                f"record of {self.where}; give the row its gold 'answer', or evaluate the task and split "
                "its prompts came from (task=…, eval.split=…)"
            )
        return record


class AnswerStats:
    """Counts of ``extracted_by`` and of agreement with the reference code's own grade."""

    def __init__(self, answer_format: str, source: str) -> None:
        self.answer_format, self.source = answer_format, source
        self.by: Counter[str] = Counter()
        self.graded = self.found = 0
        self.reference = Counter()
        self.disagreements: list[str] = []

    def add(self, by: str | None, graded: bool, ours: bool | None, theirs: bool | None, sample: str) -> None:
        self.by[by or "none"] += 1
        if graded:
            self.graded += 1
            self.found += by is not None
        if theirs is not None and ours is not None:
            self.reference["compared"] += 1
            if theirs != ours:
                self.reference["disagree"] += 1
                self.reference[f"ours_{ours}_theirs_{theirs}".lower()] += 1
                if len(self.disagreements) < 20:
                    self.disagreements.append(sample)

    def warnings(self) -> list[str]:
        if self.graded and self.found / self.graded < LOW_ANSWER_RATE:
            return [
                f"only {self.found} of {self.graded} graded samples ({100 * self.found / self.graded:.1f}%) have "
                f"an answer that task.answer_format={self.answer_format} can find; pass@k counts the rest "
                "wrong. Check the completions' format, or set task.answer_format=flexible"
            ]
        return []

    def to_metrics(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "answer_format": self.answer_format,
            "answer_format_source": self.source,
            "extracted_by": {rule: self.by.get(rule, 0) for rule in (*EXTRACTION_RULES, "none")},
            "n_graded": self.graded,
            "n_with_answer": self.found,
            "answer_rate": self.found / self.graded if self.graded else None,
        }
        if self.reference["compared"]:
            out["reference_correctness"] = {
                "field": "correctness_reward_func",
                "n_compared": self.reference["compared"],
                "n_disagree": self.reference["disagree"],
                "ours_correct_reference_wrong": self.reference["ours_true_theirs_false"],
                "ours_wrong_reference_correct": self.reference["ours_false_theirs_true"],
                "first_disagreements": list(self.disagreements),
            }
        return out


class TaskRecords:
    """The evaluated task split's records, loaded on first use: by ``problem_id``, and by prompt to join."""

    def __init__(self, task: Any, split: str, path: Any) -> None:
        self.task, self.split, self.path = task, split, path
        self._by_id: dict[str, Record] | None = None
        self._index: PromptIndex | None = None
        self._load_error: str | None = None

    def by_id(self) -> dict[str, Record]:
        if self._by_id is None:
            try:
                records = self.task.load(self.split)
            except Exception as err:  # no data for this task offline: grade from the rows alone
                log.info("task %s split %s not loaded (%s); grading from the rows' answers", self.task.name,
                         self.split, err)
                records, self._load_error = [], f"{type(err).__name__}: {err}"
            self._by_id = {r.problem_id: r for r in records}
            self._index = PromptIndex(records, f"task={self.task.name} split={self.split}")
        return self._by_id

    def join(self, problem: Any) -> None:
        """Give a problem whose rows have no ``answer`` the gold answer (and id) of its record, by prompt."""
        from reasoning_irl.eval.samples import prompt_key

        first = problem.samples[0]
        if not self.by_id() and self._load_error:
            raise DataFileError(
                f"{self.path}:{first.line}: the rows have no 'answer' and task={self.task.name} "
                f"split={self.split} could not be loaded to join them ({self._load_error}); give each row "
                "its gold 'answer'"
            )
        record = self._index.match(problem.prompt, self.path, first.line)
        if problem.problem_id == prompt_key(problem.prompt):  # the row named no problem: take the record's id
            problem.problem_id = record.problem_id
        problem.answer = record.answer
        for s in problem.samples:
            s.answer, s.problem_id = record.answer, problem.problem_id

    def record_for(self, problem: Any) -> Record | None:
        """The record with the problem's id (its given gold answer checked by value), or None."""
        record = self.by_id().get(problem.problem_id)
        if (record is not None and problem.answer is not None
                and not self.task.gold_matches(str(problem.answer), record)):
            raise DataFileError(
                f"{self.path}:{problem.first_line}: problem {problem.problem_id!r}: the input's gold answer "
                f"{problem.answer!r} is not the task's {record.answer!r} (compared as the grader compares "
                f"answers); the rows are not aligned with task={self.task.name} split={self.split}"
            )
        return record


#: ``reward.*`` keys that apply to a trained reward model at evaluation (the rest are fixed by its training).
APPLY_TO_TRAINED = ("aggregation",)


def check_reward_overrides(reward: Any, eval_aggregation: str | None, folder: Any) -> str | None:
    """Refuse ``reward.*`` settings (``reward``, the section) a trained reward folder cannot follow; return a
    ``reward.aggregation`` to apply (it must agree with ``eval.reward_aggregation``, ``eval_aggregation``).

    A setting counts as given when it differs from :class:`~reasoning_irl.config.reward.RewardConfig`'s
    default (``reward=dense`` sets ``granularity``); one equal to the saved value is harmless.
    """
    from dataclasses import fields

    from reasoning_irl.config.reward import RewardConfig
    from reasoning_irl.rewards.saving import read_reward_config

    saved = read_reward_config(folder).get("reward") or {}
    defaults = RewardConfig()
    given = {f.name: getattr(reward, f.name) for f in fields(RewardConfig)
             if getattr(reward, f.name) != getattr(defaults, f.name)}
    refused = {k: v for k, v in given.items() if k not in APPLY_TO_TRAINED and saved.get(k) != v}
    if refused:
        raise ValueError(
            f"{', '.join(f'reward.{k}={v!r}' for k, v in refused.items())}: cannot apply to the trained reward "
            f"model {folder}, whose reward_config.json fixes "
            f"{', '.join(f'{k}={saved.get(k)!r}' for k in refused)}; drop the override (only reward.aggregation "
            "applies at evaluation; eval.batch_size sets the scoring batch) or train a model with it"
        )
    aggregation = given.get("aggregation")
    if aggregation and eval_aggregation and aggregation != eval_aggregation:
        raise ValueError(
            f"reward.aggregation={aggregation!r} and eval.reward_aggregation={eval_aggregation!r} "
            "disagree; set one of them"
        )
    return aggregation


def answer_lines(metrics: dict[str, Any]) -> list[str]:
    """The summary's lines about answers: warnings first, then how answers were found and the reference's grade."""
    lines = [f"  WARNING: {w}" for w in metrics.get("warnings") or []]
    found = metrics.get("answer_extraction") or {}
    if found.get("answer_rate") is not None:
        by = ", ".join(f"{k} {v}" for k, v in found["extracted_by"].items() if v)
        lines.append(f"  answers     {100 * found['answer_rate']:.1f}% found "
                     f"(answer_format={found['answer_format']}: {by})")
    agree = found.get("reference_correctness")
    if agree:
        lines.append(f"  reference   correctness_reward_func disagrees on {agree['n_disagree']} "
                     f"of {agree['n_compared']}")
    return lines
