"""Vote keys of answers for maj@k and majority selectors: the option named, the exact number, or the text."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from reasoning_irl.tasks.base import Record
from reasoning_irl.tasks.grading import parse_number
from reasoning_irl.tasks.multiple_choice import chosen_options

log = logging.getLogger(__name__)


def vote_key(answer: str | None, record: Record | None = None) -> str | None:
    """Normalised answer for voting: for a multiple-choice record the option it names (its text, as the
    grader compares options: :func:`~reasoning_irl.tasks.multiple_choice.chosen_options`), else the exact
    number when it parses, else collapsed lower-case text."""
    if answer is None:
        return None
    options = (record.meta or {}).get("options") if record is not None else None
    if options:
        chosen = chosen_options(answer, options)
        if chosen:
            text = " ".join(options[chosen[0]].split())
            return "option:" + (text[:-1].rstrip() if text.endswith(".") else text)
    number = parse_number(answer)
    return f"={number}" if number is not None else re.sub(r"\s+", " ", answer.strip().lower())


def vote_keys(answers: Sequence[str | None], correct: Sequence[bool | None], record: Record | None) -> list[str | None]:
    """The vote key of each sample of one problem (:func:`vote_key`); gold correctness enters no key,
    except where the grader tells apart answers that share one (a text key such as ``x`` / ``X``): only
    then is that key split by the grade, so that one vote never mixes right and wrong answers."""
    keys = [vote_key(a, record) for a in answers]
    grades: dict[str, set] = {}
    for key, ok in zip(keys, correct):
        if key is not None:
            grades.setdefault(key, set()).add(ok)
    split = {k for k, v in grades.items() if len(v) > 1}
    if split:
        log.warning("%d answer key(s) graded both right and wrong (%s): split by the grade for voting",
                    len(split), ", ".join(sorted(split))[:200])
    return [f"{k}\u0000{ok}" if k in split else k for k, ok in zip(keys, correct)]

