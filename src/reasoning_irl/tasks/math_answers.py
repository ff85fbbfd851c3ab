"""MATH-style answers: LaTeX normalisation and symbolic/numeric equivalence.

:func:`math_answers_equal` decides whether a predicted answer equals the gold one:

1. Both are normalised (:func:`normalize_math_answer`): ``\\boxed{}`` and ``$`` unwrapped; ``\\left``,
   ``\\right``, ``\\dfrac``/``\\tfrac``, LaTeX spaces (``\\!`` ``\\,`` ``\\;`` ``~``), degree signs
   (``^\\circ``), ``\\%``, ``\\$``, trailing units in ``\\text{}``/``\\mbox{}``, thousands separators
   (``10,\\!080``, ``58,500``), ``x \\in`` and a trailing period are removed; ``_{8}`` becomes ``_8``.
   Equal normalised strings are equal answers (this covers base-n numerals such as ``2516_8``).
2. Otherwise both are parsed into a structure by :mod:`reasoning_irl.tasks.latex_parser` (never
   evaluated as code): a scalar; an ordered tuple or interval ``(a, b]`` (brackets must match); a
   ``\\cup`` union of intervals (in order); a matrix (``pmatrix``/``bmatrix``; a one-column matrix
   also equals a tuple); an unordered collection — ``\\{…\\}``, a bare list ``3, 5, 7`` or an
   expression with ``\\pm`` (``1 \\pm \\sqrt{2}`` = ``1+\\sqrt{2}, 1-\\sqrt{2}``); an equation (equal
   when ``lhs − rhs`` agree up to a non-zero constant factor; ``y = 2x+3`` also equals ``2x+3``).
3. Scalars are equal when they are identical, or agree to a relative 1e-15 (30-digit evaluation) at
   several random points of their variables; two rationals must be exactly equal. So ``0.15`` =
   ``\\frac{3}{20}`` and ``\\cot x`` = ``\\frac{\\cos x}{\\sin x}``, but ``0.33`` ≠ ``\\frac13``
   and ``3.14159`` ≠ ``\\pi``.
4. An answer that does not parse (``\\text{even}``, ``\\text{(C)}``, ``2516_8``) is text: equal only
   to the same text, ignoring case, spaces and parentheses around one letter.
"""

from __future__ import annotations

import random
import re

import sympy

from reasoning_irl.tasks.grading import strip_math_delimiters
from reasoning_irl.tasks.latex_parser import LatexParseError, has_pm, parse_latex

_TEXT_COMMANDS = r"(?:text|textbf|textrm|textnormal|mbox|mathrm|mathbf|operatorname)"
_WHOLE_TEXT = re.compile(r"\\" + _TEXT_COMMANDS + r"\{([^{}]*)\}")
_TRAILING_UNIT = re.compile(r"\\" + _TEXT_COMMANDS + r"\{[^{}]*\}(?:\^\{?\d\}?)?\s*$")
_SPACES = re.compile(r"(?<!\\)\\[!,;: ]|\\q?quad(?![A-Za-z])|~")
_SIZES = re.compile(r"\\(?:left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|big|Big|bigg|Bigg)(?![A-Za-z])")
_DEGREES = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|\\circ|°|\\degree")
_GROUPED = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_MATRIX = re.compile(r"\\begin\{([pbvBV]?matrix)\}(.*)\\end\{\1\}", re.DOTALL)


def normalize_math_answer(text: str) -> str:
    """Canonical text of an answer (see the module docstring); not yet parsed."""
    s = strip_math_delimiters(text)
    s = re.sub(r"(?<=\d),\\!\s*(?=\d)", "", s)  # 10,\!080: the comma is a thousands separator
    s = _SPACES.sub(" ", s)
    s = _SIZES.sub("", s)
    s = re.sub(r"\\[dt]frac", r"\\frac", s).replace("\\displaystyle", "")
    s = _DEGREES.sub("", s)
    s = s.replace("\\%", "").replace("%", "").replace("\\$", "").replace("$", "")
    while _TRAILING_UNIT.search(s) and _TRAILING_UNIT.sub("", s).strip():
        s = _TRAILING_UNIT.sub("", s)
    s = re.sub(r"_\{(\w+)\}", r"_\1", s)
    s = re.sub(r"^[A-Za-z]\s*\\in\s*", "", s.strip())
    s = " ".join(s.split())
    if s.endswith(".") and not s.endswith(".."):
        s = s[:-1].rstrip()
    if _GROUPED.fullmatch(s):
        s = s.replace(",", "")
    return s


def math_answers_equal(prediction: str | None, gold: str) -> bool:
    """Whether ``prediction`` is the same mathematical answer as ``gold`` (see the module docstring)."""
    if prediction is None or not prediction.strip():
        return False
    p, g = normalize_math_answer(prediction), normalize_math_answer(gold)
    if p == g or p.replace(" ", "") == g.replace(" ", ""):
        return True
    gold_structure, predicted = parse_answer(g), parse_answer(p)
    if gold_structure[0] == "text" or predicted[0] == "text":
        return _text_key(p) == _text_key(g)
    return _structures_equal(predicted, gold_structure)


def _text_key(text: str) -> str:
    m = _WHOLE_TEXT.fullmatch(text.strip())
    key = (m.group(1) if m else text).replace(" ", "").lower().rstrip(".")
    return re.sub(r"^\(([a-z])\)$", r"\1", key)


# --- structures: ("text", s) | ("scalar", e) | ("unordered", [e]) | ("seq", "(", "]", [e])
#                 | ("matrix", [[e]]) | ("union", [structure]) | ("eq", lhs, rhs)


def parse_answer(text: str) -> tuple:
    """The structure of a normalised answer; ``("text", text)`` when it does not parse."""
    try:
        return _structure(text.strip())
    except (LatexParseError, RecursionError, TypeError, ValueError, ZeroDivisionError, OverflowError):
        return ("text", text)


def _structure(s: str) -> tuple:
    m = _WHOLE_TEXT.fullmatch(s)
    if m:
        return ("text", m.group(1).strip())
    m = _MATRIX.fullmatch(s)
    if m:
        rows = [r for r in re.split(r"\\\\", m.group(2)) if r.strip()]
        return ("matrix", [[parse_latex(cell) for cell in row.split("&")] for row in rows])
    parts = _split_top(s, "\\cup")
    if len(parts) > 1:
        return ("union", [_structure(p) for p in parts])
    if s.startswith("\\{") and s.endswith("\\}") and _closes_at_end(s, 1):
        return ("unordered", _expand_items(_split_top(s[2:-2], ",")))
    items = _split_top(s, ",")
    if len(items) > 1:
        return ("unordered", _expand_items(items))
    if s and s[0] in "([" and s[-1] in ")]" and _closes_at_end(s, 0):
        inner = _split_top(s[1:-1], ",")
        if len(inner) > 1:
            return ("seq", s[0], s[-1], [parse_latex(item) for item in inner])
    sides = _split_top(s, "=")
    if len(sides) == 2:
        return ("eq", parse_latex(sides[0]), parse_latex(sides[1]))
    values = _expand_items([s])
    return ("scalar", values[0]) if len(values) == 1 else ("unordered", values)


def _closes_at_end(s: str, open_at: int) -> bool:
    """Whether the bracket opened at ``open_at`` is closed by the last character."""
    depth = 0
    for i, ch in enumerate(s):
        if i < open_at:
            continue
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth == 0:
                return i == len(s) - 1
    return False


def _split_top(s: str, separator: str) -> list[str]:
    """Split at ``separator`` outside any brackets."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(s):
        ch = s[i]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0 and s.startswith(separator, i):
            parts.append(s[start:i])
            i += len(separator)
            start = i
            continue
        i += 1
    parts.append(s[start:])
    return [p.strip() for p in parts]


def _expand_items(items: list[str]) -> list[sympy.Expr]:
    """Values of comma-separated items; an item with ``\\pm`` gives both of its values."""
    values = []
    for item in items:
        if not item:
            raise LatexParseError("empty item")
        if has_pm(item):
            values.extend([parse_latex(item, 1), parse_latex(item, -1)])
        else:
            values.append(parse_latex(item))
    return values


def _structures_equal(a: tuple, b: tuple) -> bool:
    if a[0] == "eq" and b[0] != "eq" and a[1].is_Symbol:
        return _structures_equal(("scalar", a[2]), b)
    if b[0] == "eq" and a[0] != "eq" and b[1].is_Symbol:
        return _structures_equal(a, ("scalar", b[2]))
    if a[0] == "matrix" and b[0] == "seq" or a[0] == "seq" and b[0] == "matrix":
        matrix, seq = (a, b) if a[0] == "matrix" else (b, a)
        column = [row[0] for row in matrix[1] if len(row) == 1]
        return seq[1:3] == ("(", ")") and len(column) == len(matrix[1]) and _all_equal(column, seq[3])
    if a[0] == "scalar" and b[0] == "unordered" or a[0] == "unordered" and b[0] == "scalar":
        return False
    if a[0] != b[0]:
        return False
    kind = a[0]
    if kind == "scalar":
        return expressions_equal(a[1], b[1])
    if kind == "unordered":
        return _same_multiset(a[1], b[1])
    if kind == "seq":
        return a[1:3] == b[1:3] and _all_equal(a[3], b[3])
    if kind == "matrix":
        return [len(r) for r in a[1]] == [len(r) for r in b[1]] and _all_equal(
            [c for r in a[1] for c in r], [c for r in b[1] for c in r]
        )
    if kind == "union":
        return len(a[1]) == len(b[1]) and all(_structures_equal(x, y) for x, y in zip(a[1], b[1]))
    if kind == "eq":
        return _equations_equal(a[1] - a[2], b[1] - b[2])
    return False


def _all_equal(xs: list, ys: list) -> bool:
    return len(xs) == len(ys) and all(expressions_equal(x, y) for x, y in zip(xs, ys))


def _same_multiset(xs: list, ys: list) -> bool:
    if len(xs) != len(ys):
        return False
    unmatched = list(ys)
    for x in xs:
        for j, y in enumerate(unmatched):
            if expressions_equal(x, y):
                del unmatched[j]
                break
        else:
            return False
    return True


def _equations_equal(d1: sympy.Expr, d2: sympy.Expr) -> bool:
    """``d1 = 0`` and ``d2 = 0`` are the same equation: d1 = c·d2 for a constant c ≠ 0."""
    if expressions_equal(d1, d2) or expressions_equal(d1, -d2):
        return True
    ratios = [r for r in (_evaluate(d1 / d2, point) for point in _points(d1, d2)) if r is not None]
    return (
        len(ratios) >= 2
        and abs(ratios[0]) > 1e-12
        and all(abs(r - ratios[0]) <= 1e-9 * abs(ratios[0]) for r in ratios)
    )


def expressions_equal(a: sympy.Expr, b: sympy.Expr) -> bool:
    """Equality of two values: identical, or numerically equal at several random points.

    Numbers are evaluated with 30 significant digits and must agree to a relative 1e-15, so exact
    identities pass (``\\cot x`` = ``\\cos x / \\sin x``) and decimal approximations do not
    (``3.14159`` ≠ ``\\pi``). Two rationals are compared exactly. Nothing is expanded symbolically,
    so no input can make the comparison slow.
    """
    if a == b:
        return True
    if a.is_Rational and b.is_Rational:
        return False
    if a.has(sympy.oo, -sympy.oo, sympy.zoo) or b.has(sympy.oo, -sympy.oo, sympy.zoo):
        return False
    points = _points(a, b)
    checked = []
    difference = a - b
    for point in points:
        x, y, d = _evaluate(a, point), _evaluate(b, point), _evaluate(difference, point)
        if x is not None and y is not None and d is not None:
            scale = max(abs(x), abs(y))
            checked.append(scale < 1e-25 or abs(d) <= 1e-15 * scale)
    # a constant needs its one evaluation; an expression at least two points where both are defined
    return len(checked) >= min(2, len(points)) and all(checked)


def _points(*expressions: sympy.Expr) -> list[dict]:
    """Deterministic random assignments of the free symbols (one empty point for constants)."""
    symbols = sorted(set().union(*(e.free_symbols for e in expressions)), key=lambda s: s.name)
    if not symbols:
        return [{}]
    rng = random.Random(len(symbols))
    return [{s: sympy.Float(rng.uniform(0.3, 2.7), 30) for s in symbols} for _ in range(5)]


def _evaluate(expression: sympy.Expr, point: dict) -> complex | None:
    try:
        value = complex(expression.evalf(30, subs=point))
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    if value != value or abs(value) == float("inf"):
        return None
    return value
