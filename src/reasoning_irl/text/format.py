"""The ``<think>…</think><answer>…</answer>`` format and step segmentation.

A completion looks like::

    <think>
    7 + 5 = 12
    12 * 3 = 36
    </think>
    <answer>
    36
    </answer>

A *step* of a raw completion is one non-empty line inside ``<think>``; the answer block
(``<answer>`` … ``</answer>``) is the last step. Where the source gives its steps explicitly
(ProcessBench, or an input row with ``steps``) those strings are located in the text in order and
their spans are the steps. Every step is a :class:`Span` of character offsets into the completion,
so reward heads, localisation metrics and plots all agree on what a step is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
ANSWER_OPEN, ANSWER_CLOSE = "<answer>", "</answer>"

_ANSWER_BLOCK = re.compile(re.escape(ANSWER_OPEN) + r"(.*?)" + re.escape(ANSWER_CLOSE), re.DOTALL)


@dataclass(frozen=True)
class Span:
    """A piece of a completion: ``completion[start:end] == text``."""

    text: str
    start: int
    end: int


def format_completion(reasoning_steps: Sequence[str], answer: str) -> str:
    """Render expert reasoning lines and an answer in the completion format (one line per step)."""
    for i, step in enumerate(reasoning_steps):
        if "\n" in step or not step.strip():
            raise ValueError(
                f"reasoning step {i} ({step!r}) is empty or spans several lines; "
                "a raw completion has one step per non-empty line — use render_steps for multi-line steps"
            )
    body = "\n".join(s.strip() for s in reasoning_steps)
    return f"{THINK_OPEN}\n{body}\n{THINK_CLOSE}\n{ANSWER_OPEN}\n{answer.strip()}\n{ANSWER_CLOSE}"


def extract_answer(completion: str) -> str | None:
    """The stripped content of the last ``<answer>…</answer>`` block, or None if there is none."""
    blocks = _ANSWER_BLOCK.findall(completion)
    if not blocks:
        return None
    return blocks[-1].strip()


def _answer_span(completion: str) -> Span | None:
    last = None
    for m in _ANSWER_BLOCK.finditer(completion):
        last = m
    if last is None:
        return None
    return Span(last.group(0), last.start(), last.end())


def _line_spans(text: str, offset: int) -> list[Span]:
    spans, pos = [], 0
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped:
            start = offset + pos + (len(line) - len(line.lstrip()))
            spans.append(Span(stripped, start, start + len(stripped)))
        pos += len(line) + 1
    return spans


def segment_steps(completion: str, steps: Sequence[str] | None = None) -> list[Span]:
    """Split a completion into steps, as character spans.

    With ``steps`` given, each step string is located in order (from where the previous one ended);
    a step that cannot be found is an error, so given labels always round-trip exactly.

    Without ``steps``: the non-empty lines inside ``<think>`` (or, when the completion has no
    ``<think>`` tag, the non-empty lines before the answer block) and then the last answer block.
    A completion without any step (empty text) gives an empty list.
    """
    if steps is not None:
        spans, cursor = [], 0
        for i, step in enumerate(steps):
            start = completion.find(step, cursor)
            if start < 0 or not step:
                raise ValueError(
                    f"step {i} ({step[:60]!r}) is not in the completion after character {cursor}; "
                    "given steps must appear in the completion text in order"
                )
            spans.append(Span(step, start, start + len(step)))
            cursor = start + len(step)
        return spans

    answer = _answer_span(completion)
    head_end = answer.start if answer is not None else len(completion)
    head = completion[:head_end]
    open_at = head.find(THINK_OPEN)
    if open_at >= 0:
        body_start = open_at + len(THINK_OPEN)
        close_at = head.find(THINK_CLOSE, body_start)
        body_end = close_at if close_at >= 0 else head_end
    else:
        body_start, body_end = 0, head.find(THINK_CLOSE) if THINK_CLOSE in head else head_end
    spans = _line_spans(completion[body_start:body_end], body_start)
    if answer is not None:
        spans.append(answer)
    return spans


def render_steps(steps: Sequence[str], separator: str = "\n\n") -> tuple[str, list[Span]]:
    """Join explicit (possibly multi-line) steps into one text and return it with the exact spans."""
    text = separator.join(steps)
    return text, segment_steps(text, steps)
