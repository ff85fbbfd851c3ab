"""Finding the final answer of a completion: the one extraction every grader uses (``task.answer_format``).

Formats (docs/EVALUATION_GUIDE.md §3.1 lists every rule with examples):

- ``tags`` (strict; what training's rewards check): the last ``<answer>…</answer>`` block.
- ``boxed``: the last ``\\boxed{…}`` (braces matched).
- ``flexible``: the first rule that finds something, in this order — the conventions of
  lm-evaluation-harness and Qwen's math evaluation:

  1. ``tags`` — the last ``<answer>…</answer>`` block;
  2. ``boxed`` — the last ``\\boxed{…}``;
  3. ``answer_is`` — the last "answer is …" / "Answer: …" (case-insensitive, "final answer" too): the
     rest of its line up to the first sentence end (a period followed by a space), without ``**``;
  4. ``hashes`` — the rest of the line after the last ``####`` (GSM8K's own solutions);
  5. ``last_number`` — the last number of the text (``1,250.50``, ``-3``, ``3/4``); numeric tasks only
     (a multiple-choice task passes ``last_number=False``: a stray number is not a choice).

:func:`find_answer` returns the text and the rule that found it (``extracted_by`` in ``samples.jsonl``);
``(None, None)`` when nothing is found. It never evaluates anything and runs in linear time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from reasoning_irl.config.task import ANSWER_FORMATS
from reasoning_irl.text.format import extract_answer

__all__ = ["ANSWER_FORMATS", "EXTRACTION_RULES", "FoundAnswer", "find_answer", "last_boxed"]
#: Every value of ``extracted_by`` (None: no answer found).
EXTRACTION_RULES = ("tags", "boxed", "answer_is", "hashes", "last_number")

_BOX = re.compile(r"\\boxed\s*\{")
_ANSWER_IS = re.compile(r"\banswer(?:\s+is)?\s*(?::|\bis\b)\s*(?P<rest>[^\n]*)", re.IGNORECASE)
_SENTENCE_END = re.compile(r"\.(?=\s|$)")
_HASHES = re.compile(r"####\s*(?P<rest>[^\n]*)")
_LAST_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\s*/\s*\d+)?")


@dataclass(frozen=True)
class FoundAnswer:
    """The answer text of a completion and the rule that found it (both None: no answer)."""

    text: str | None
    by: str | None


def check_answer_format(answer_format: str) -> None:
    if answer_format not in ANSWER_FORMATS:
        raise ValueError(
            f"task.answer_format={answer_format!r} is not supported; use one of {', '.join(ANSWER_FORMATS)}"
        )


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{…}`` whose braces close, or None."""
    for m in reversed(list(_BOX.finditer(text))):
        depth, start = 0, m.end() - 1
        for i in range(start, len(text)):
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    return text[start + 1 : i].strip()
    return None


def _answer_is(text: str) -> str | None:
    found = None
    for m in _ANSWER_IS.finditer(text):
        found = m
    if found is None:
        return None
    rest = found.group("rest")
    end = _SENTENCE_END.search(rest)
    rest = (rest[: end.start()] if end else rest).strip()
    if rest.startswith("**") and rest.endswith("**") and len(rest) > 4:
        rest = rest[2:-2].strip()
    return rest or None


def _hashes(text: str) -> str | None:
    found = None
    for m in _HASHES.finditer(text):
        found = m
    rest = found.group("rest").strip() if found else ""
    return rest or None


def _last_number(text: str) -> str | None:
    found = None
    for m in _LAST_NUMBER.finditer(text):
        found = m
    return re.sub(r"\s+", "", found.group(0)) if found else None


def find_answer(completion: str, answer_format: str = "tags", *, last_number: bool = True) -> FoundAnswer:
    """The final answer of ``completion`` under ``answer_format`` (see the module docstring)."""
    check_answer_format(answer_format)
    rules = {
        "tags": extract_answer,
        "boxed": last_boxed,
        "answer_is": _answer_is,
        "hashes": _hashes,
        "last_number": _last_number,
    }
    order = {
        "tags": ("tags",),
        "boxed": ("boxed",),
        "flexible": ("tags", "boxed", "answer_is", "hashes") + (("last_number",) if last_number else ()),
    }[answer_format]
    for rule in order:
        text = rules[rule](completion)
        if text is not None and (rule != "tags" or answer_format == "tags" or text):
            return FoundAnswer(text, rule)
    return FoundAnswer(None, None)
