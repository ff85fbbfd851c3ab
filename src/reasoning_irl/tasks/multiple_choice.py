"""Multiple-choice questions (MMLU-Pro, MedQA/MedReason): building records and grading answers.

A question lists its options as ``A. …`` to ``J. …``; the gold answer is ``"LETTER. option text"``.
:func:`grade_choice` reads the answer block and decides which option it names:

1. A bare label — ``B``, ``(B)``, ``B.``, ``B)``, ``B:`` — names option B (upper case only), even
   when some option's text is that letter (a few MMLU-Pro options are element symbols: ``B``, ``C``).
2. Otherwise, text equal to an option's text names that option (as written, then without
   ``\\boxed{}``, ``$…$``, ``**…**`` or an "The answer is" prefix). Texts are compared with collapsed
   whitespace and without a trailing period, case-sensitively first (genetics options differ only by
   case: ``Bb`` vs ``bb``), then case-insensitively if that matches exactly one option. So
   ``Vitamin D.`` or ``Type I`` are texts, never "several labels".
3. Otherwise a label followed by text — ``B. text``, ``B) text``, ``(B) text`` — names option B,
   unless its text is exactly another option's (different) text: a contradiction, graded wrong.

The answer is correct when the named option is the gold one, or has exactly the gold text (an option
repeated verbatim under two letters cannot be told apart by text). Anything else is wrong.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from reasoning_irl.tasks.base import Record, Task
from reasoning_irl.tasks.grading import strip_math_delimiters
from reasoning_irl.tasks.sources import make_prompt
from reasoning_irl.text.format import extract_answer

LETTERS = "ABCDEFGHIJ"

_BARE_LABEL = re.compile(r"\(?([A-J])\)?[.):]?")
_LABEL_AND_TEXT = re.compile(r"(?:\(([A-J])\)|([A-J])[.):])\s*(.+)", re.DOTALL)
_TEXT_WRAPPER = re.compile(r"^\\text\{(.*)\}$", re.DOTALL)
_BOLD = re.compile(r"^\*\*(.*)\*\*$", re.DOTALL)
_PREFIX = re.compile(
    r"^(?:the\s+)?(?:correct\s+|final\s+)?(?:answer|option|choice)(?:\s+is)?\s*[:\-]?\s*", re.IGNORECASE
)


def _collapse(text: str) -> str:
    return " ".join(text.split())


def format_question(question: str, options: list[str]) -> str:
    """The question followed by one ``LETTER. option`` line per option (whitespace collapsed)."""
    return "\n".join([question.strip()] + [f"{LETTERS[i]}. {_collapse(o)}" for i, o in enumerate(options)])


def choice_meta(options: list[str], answer_letter: str) -> dict[str, Any]:
    """The ``meta`` every multiple-choice record carries (graders and perturbations read it).

    ``options`` (texts with whitespace collapsed, in letter order), ``letters``, ``answer_letter``,
    ``answer_text``, ``distractors`` (``"LETTER. text"`` of every other option) and
    ``distractor_letters``.
    """
    if len(options) > len(LETTERS):
        raise ValueError(f"{len(options)} options; at most {len(LETTERS)} (A–J) are supported")
    texts = [_collapse(o) for o in options]
    letters = list(LETTERS[: len(texts)])
    if answer_letter not in letters:
        raise ValueError(f"answer letter {answer_letter!r} is not one of {''.join(letters)}")
    gold = letters.index(answer_letter)
    others = [i for i in range(len(texts)) if i != gold]
    return {
        "options": texts,
        "letters": letters,
        "answer_letter": answer_letter,
        "answer_text": texts[gold],
        "distractors": [f"{letters[i]}. {texts[i]}" for i in others],
        "distractor_letters": [letters[i] for i in others],
    }


def choice_record(
    cfg: Any, problem_id: str, question: str, options: list[str], answer_letter: str, **meta: Any
) -> Record:
    """A multiple-choice record: options appended to the question, gold ``"LETTER. text"``."""
    info = choice_meta(options, answer_letter)
    text = format_question(question, info["options"])
    return Record(
        problem_id=problem_id,
        question=text,
        answer=f"{answer_letter}. {info['answer_text']}",
        prompt=make_prompt(cfg, text),
        meta={**info, **meta},
    )


@lru_cache(maxsize=1 << 16)
def _key(text: str) -> str:
    text = _collapse(text)
    return text[:-1].rstrip() if text.endswith(".") else text


def _options_with_text(text: str, options: list[str]) -> list[int]:
    key = _key(text)
    exact = [i for i, o in enumerate(options) if _key(o) == key]
    if exact:
        return exact
    folded_key = key.casefold()
    folded = [i for i, o in enumerate(options) if _key(o).casefold() == folded_key]
    return folded if len(folded) == 1 else []


def _unwrap(answer: str) -> str:
    """The answer without ``\\boxed{}``, ``$…$``, ``\\text{}``, ``**…**`` and an "The answer is" prefix."""
    text = _PREFIX.sub("", strip_math_delimiters(answer)).strip()
    text = _TEXT_WRAPPER.sub(r"\1", text).strip()
    return _BOLD.sub(r"\1", text).strip()


def _by_label_or_text(text: str, options: list[str]) -> list[int] | None:
    """A bare label's option, or the options with this text; None when it is neither."""
    bare = _BARE_LABEL.fullmatch(text)
    if bare:
        index = LETTERS.index(bare.group(1))
        return [index] if index < len(options) else []
    return _options_with_text(text, options) or None


def chosen_options(answer: str | None, options: list[str]) -> list[int]:
    """Indices of the options an answer names (several only when options repeat a text); [] = none."""
    if answer is None or not answer.strip():
        return []
    raw = answer.strip()
    # a bare label wins; then the text as written ("$-\pi$", "Option B"); then without wrappers
    found = _by_label_or_text(raw, options)
    if found is not None:
        return found
    text = _unwrap(raw)
    found = _by_label_or_text(text, options)
    if found is not None:
        return found
    labelled = _LABEL_AND_TEXT.fullmatch(raw) or _LABEL_AND_TEXT.fullmatch(text)
    if labelled:
        index = LETTERS.index(labelled.group(1) or labelled.group(2))
        if index >= len(options):
            return []
        named = _options_with_text(labelled.group(3), options)
        if named and _key(options[named[0]]) != _key(options[index]):
            return []  # "B. <text of option D>": contradictory
        return [index]
    return []


def grade_choice(completion: str, record: Record) -> bool:
    """Whether the completion's answer block names the gold option (see the module docstring)."""
    return names_gold(extract_answer(completion), record)


def names_gold(answer: str | None, record: Record) -> bool:
    """Whether an answer text names the gold option (see the module docstring)."""
    options, gold = record.meta["options"], LETTERS.index(record.meta["answer_letter"])
    chosen = chosen_options(answer, options)
    return bool(chosen) and all(_key(options[i]) == _key(options[gold]) for i in chosen)


class ChoiceTask(Task):
    """Base of the multiple-choice tasks: grading by letter or option text."""

    answer_kind = "multiple_choice"
    last_number_fallback = False  # a stray number is not a choice

    def grade_answer(self, answer: str | None, record: Record) -> bool:
        return names_gold(answer, record)
