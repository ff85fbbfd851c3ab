"""Numeric answers: normalising what a model writes in its answer block into an exact number.

Accepted (all compare exactly, as fractions): ``1,000`` / ``1000`` / ``$1,000.00`` / ``\\$1000`` /
``1000.`` (trailing period) / ``1000.0`` / ``025`` (zero-padded, = 25) / ``50%`` (= 50: the gold
answers of GSM8K and AIME are written without the sign) / ``-3`` / ``3/4`` / ``\\boxed{18}`` /
``$18$`` / ``18 dollars`` (one trailing unit word). Anything else — two numbers, an expression, a
sentence, a number of more than :data:`MAX_DIGITS` digits (which Python's ``int`` would refuse past
``sys.get_int_max_str_digits()``, and convert in quadratic time below it) — is not a number, and
grades wrong: a model's text can never make grading fail.
"""

from __future__ import annotations

import re
from fractions import Fraction

_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)")
_GROUPED = re.compile(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")
_FRACTION = re.compile(r"([-+]?\d+)\s*/\s*(\d+)")
_UNIT_WORD = re.compile(r"[A-Za-z][A-Za-z.\-]*")
#: Longest number (in digits) read as an answer; longer ones are not numbers (no gold answer comes close).
MAX_DIGITS = 1000


def unwrap_command(text: str, command: str) -> str:
    """Content of the last ``\\command{…}`` in ``text`` (braces matched), or ``text`` unchanged."""
    start = text.rfind("\\" + command)
    if start < 0:
        return text
    brace = start + len(command) + 1
    while brace < len(text) and text[brace] == " ":
        brace += 1
    if brace >= len(text) or text[brace] != "{":
        return text
    depth = 0
    for i in range(brace, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[brace + 1 : i]
    return text


def strip_math_delimiters(text: str) -> str:
    """Remove ``\\boxed{}``, surrounding ``$…$`` / ``\\(…\\)`` / ``\\[…\\]`` and surrounding spaces."""
    text = unwrap_command(text.strip(), "boxed").strip()
    for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if len(text) >= len(left) + len(right) and text.startswith(left) and text.endswith(right):
            text = text[len(left) : len(text) - len(right)].strip()
            break
    return unwrap_command(text, "boxed").strip()


def parse_number(text: str | None) -> Fraction | None:
    """The exact value of a numeric answer, or None when the text is not a single number."""
    if text is None:
        return None
    s = strip_math_delimiters(text)
    s = s.replace("\\$", "").replace("$", "").replace("\\%", "").replace("%", "").replace("\\!", "")
    s = re.sub(r"\\text\{\s*([^{}]*)\}", r"\1", s).strip()
    if s.endswith(".") and not s.endswith(".."):
        s = s[:-1].strip()
    s = re.sub(r"^([-+]?)\s+", r"\1", s)
    # one trailing unit word ("18 dollars", "5 apples") is tolerated; a sentence is not
    parts = s.split()
    if len(parts) == 2 and _UNIT_WORD.fullmatch(parts[1]):
        s = parts[0]
    if _GROUPED.fullmatch(s):
        s = s.replace(",", "")
    if sum(ch.isdigit() for ch in s) > MAX_DIGITS:
        return None
    try:  # ValueError: past sys.get_int_max_str_digits() when a process lowered it below MAX_DIGITS
        if _NUMBER.fullmatch(s):
            return Fraction(s + "0" if s.endswith(".") else s)
        m = _FRACTION.fullmatch(s)
        if m and int(m.group(2)) != 0:
            return Fraction(int(m.group(1)), int(m.group(2)))
    except ValueError:
        return None
    return None


def numbers_equal(prediction: str | None, gold: str) -> bool:
    """Whether a predicted answer is numerically equal to the gold answer (both normalised)."""
    value, expected = parse_number(prediction), parse_number(gold)
    if expected is None:
        raise ValueError(f"gold answer {gold!r} is not a number")
    return value is not None and value == expected
