"""Perturbations that carry on from a wrong step, as a policy would: ``wrong_result``, ``wrong_operator``,
``wrong_operand`` (see :mod:`reasoning_irl.rewards.perturbations` for what each writes).

One integer equation line ``a op b = c`` of the reasoning is made wrong, and every later line that starts
from the previous result is recomputed from the new value; the answer follows the last result.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from typing import Any

from reasoning_irl.rewards.trace_text import (
    EQUATION,
    OPERATORS,
    answer_bounds,
    apply_operator,
    reasoning_bounds,
    replace_answer,
)


def _wrong_values(value: int, rng: random.Random) -> list[int]:
    """Nearby wrong integers of the same sign, in random order: ±1, ±2, ±10, and the two digits swapped."""
    digits = str(abs(value))
    candidates = {value + d for d in (-10, -2, -1, 1, 2, 10)}
    if len(digits) == 2 and digits[0] != digits[1]:
        candidates.add(int(digits[::-1]) * (-1 if value < 0 else 1))
    out = sorted(c for c in candidates if c != value and (c >= 0) == (value >= 0))
    rng.shuffle(out)
    return out


def _integer_equations(lines: list[str]) -> dict[int, re.Match]:
    return {i: m for i, line in enumerate(lines) if (m := EQUATION.match(line)) and "." not in line}


def _carry_on(text: str, lines: list[str], equations: dict[int, re.Match], k: int, line: str,
              old: int, new: int) -> str | None:
    """``text`` with line ``k`` replaced by ``line`` (whose result ``old`` became ``new``) and every later
    line ``c op d = e`` that starts from the previous result recomputed from the new value, as a policy
    would carry on; the answer follows the last result. None when a recomputed division is inexact."""
    start, end = reasoning_bounds(text)
    rewritten = {k: line}
    for j in range(k + 1, len(lines)):
        n = equations.get(j)
        if n is None or int(n.group(1)) != old:
            continue
        result = apply_operator(n.group(2), float(new), float(n.group(3)))
        if result is None or result != int(result):
            return None
        rewritten[j] = (f"{lines[j][: n.start(1)]}{new}{lines[j][n.end(1): n.start(4)]}"
                        f"{int(result)}{lines[j][n.end(4):]}")
        old, new = int(n.group(4)), int(result)
    out = text[:start] + "\n".join(rewritten.get(i, original) for i, original in enumerate(lines)) + text[end:]
    bounds = answer_bounds(out)
    if bounds is not None and out[bounds[0]: bounds[1]] == str(old):
        out = replace_answer(out, str(new))
    return out


def _shuffled_equations(text: str, rng: random.Random) -> tuple[list[str], dict[int, re.Match], list[int]]:
    start, end = reasoning_bounds(text)
    lines = text[start:end].split("\n")
    equations = _integer_equations(lines)
    order = list(equations)
    rng.shuffle(order)
    return lines, equations, order


def wrong_result(text: str, rng: random.Random, meta: Mapping[str, Any]) -> str:
    lines, equations, order = _shuffled_equations(text, rng)
    for k in order:
        m = equations[k]
        for new in _wrong_values(int(m.group(4)), rng):
            line = lines[k][: m.start(4)] + str(new) + lines[k][m.end(4):]
            out = _carry_on(text, lines, equations, k, line, int(m.group(4)), new)
            if out is not None:
                return out
    return text


def _recomputed(text: str, rng: random.Random, alternatives: Callable[[re.Match], list[tuple[str, int]]]) -> str:
    """One line ``a op b = c`` rewritten to ``a op' b' = op'(a, b')`` — a true line of the wrong
    computation — and the later lines carried on from its result (:func:`_carry_on`)."""
    lines, equations, order = _shuffled_equations(text, rng)
    for k in order:
        m = equations[k]
        a, c = int(m.group(1)), int(m.group(4))
        options = alternatives(m)
        rng.shuffle(options)
        for op, b in options:
            value = apply_operator(op, float(a), float(b))
            if value is None or value != int(value) or int(value) == c or (value < 0) != (c < 0):
                continue
            line = (f"{lines[k][: m.start(2)]}{op}{lines[k][m.end(2): m.start(3)]}{b}"
                    f"{lines[k][m.end(3): m.start(4)]}{int(value)}{lines[k][m.end(4):]}")
            out = _carry_on(text, lines, equations, k, line, c, int(value))
            if out is not None:
                return out
    return text


def wrong_operator(text: str, rng: random.Random, meta: Mapping[str, Any]) -> str:
    return _recomputed(text, rng, lambda m: [(op, int(m.group(3))) for op in OPERATORS if op != m.group(2)])


def wrong_operand(text: str, rng: random.Random, meta: Mapping[str, Any]) -> str:
    return _recomputed(text, rng, lambda m: [(m.group(2), b) for b in _wrong_values(int(m.group(3)), rng) if b != 0])
