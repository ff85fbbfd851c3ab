"""The parts of a trace a perturbation rewrites: its reasoning, its answer, its equation lines ``a op b = c``."""

from __future__ import annotations

import re

from reasoning_irl.text.format import ANSWER_CLOSE, ANSWER_OPEN, THINK_CLOSE, THINK_OPEN

EQUATION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*([+\-*/×÷])\s*(-?\d+(?:\.\d+)?)\s*=\s*(-?\d+(?:\.\d+)?)\s*$")
OPERATORS = "+-*/"


def answer_bounds(text: str) -> tuple[int, int] | None:
    """Character bounds of the stripped content of the last answer block."""
    open_at = text.rfind(ANSWER_OPEN)
    if open_at < 0:
        return None
    start = open_at + len(ANSWER_OPEN)
    end = text.find(ANSWER_CLOSE, start)
    if end < 0:
        return None
    content = text[start:end]
    left = len(content) - len(content.lstrip())
    return start + left, start + left + len(content.strip())


def replace_answer(text: str, new_answer: str) -> str:
    """``text`` with the content of its last answer block replaced by ``new_answer`` (unchanged without one)."""
    bounds = answer_bounds(text)
    if bounds is None:
        return text
    return text[: bounds[0]] + new_answer + text[bounds[1] :]


def reasoning_bounds(text: str) -> tuple[int, int]:
    """Character bounds of the reasoning: after ``<think>`` (or the start), up to ``</think>`` or the answer."""
    open_at = text.find(THINK_OPEN)
    start = open_at + len(THINK_OPEN) if open_at >= 0 else 0
    close_at = text.find(THINK_CLOSE, start)
    answer_at = text.find(ANSWER_OPEN, start)
    ends = [i for i in (close_at, answer_at) if i >= 0]
    return start, min(ends) if ends else len(text)


def apply_operator(op: str, a: float, b: float) -> float | None:
    """``a op b`` (None for a division by zero)."""
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op in "*×":
        return a * b
    return None if b == 0 else a / b
