"""Perturbed expert traces: negatives whose first wrong character is known.

Each perturbation rewrites one completion and returns a :class:`Perturbation` saying whether the text
changed (unchanged results must be dropped, or one text would be labelled both ways), the first changed
character (so the first changed *token* is known exactly for the ``prefix`` labels) and the first
changed step (ground truth for localisation tests). One is chosen per trace, not per batch, from a
random generator seeded by (seed, trace index, copy), so a batch is reproducible from its seed; one
that changes nothing gives way to another (:func:`perturb_traces`).

- ``flip_operator``: in one random reasoning line ``a op b = c``, replace ``op`` by another operator
  under which the line is false (numbers and result unchanged). A minus sign needs spaces on both
  sides, so hyphens and negative numbers are never flipped.
- ``nearby_answer``: the answer becomes a nearby value: integers ±1 (±2 if needed), decimals ± one unit
  of their last place, yes/true ↔ no/false; anything else gets two adjacent characters swapped.
- ``corrupt_numbers``: max(1, #digits // 4) numbers anywhere in the text move by ±{1, 2, 5, 10}
  (decimals by ±U(0.5, 2), written with 3 decimals).
- ``answer_from_reasoning``: the answer becomes another number that appears in the reasoning
  (``nearby_answer`` when there is none).
- ``wrong_result``: the error a policy makes: in one random reasoning line ``a op b = c``, ``c`` becomes a
  nearby wrong integer (±1, ±2, ±10 or two digits swapped) and the computation carries on from it — every
  later line ``c op' d = e`` that starts from the previous result is recomputed, and the answer follows
  the last result. Candidates that would make a later division inexact are skipped; lines that are not
  integer equations are left alone (unchanged, dropped, when the trace has none).
- ``wrong_operator`` / ``wrong_operand``: the other errors a policy makes on a step: one line ``a op b = c``
  becomes a *true* line of the wrong computation, ``a op' b = op'(a, b)`` (another operator) or
  ``a op b' = op(a, b')`` (a nearby wrong operand), and the computation carries on from its result as in
  ``wrong_result``. The step is wrong only against the problem, as a misread operation is.
  These three live in :mod:`reasoning_irl.rewards.carry_on`.
- ``distractor_answer``: multiple choice: the answer becomes a wrong option — a letter from
  ``meta["distractor_letters"]`` when the answer is a bare letter, else a ``"LETTER. text"`` from
  ``meta["distractors"]`` (the task's record meta); unchanged (dropped) when the task has none.

The list used when ``discriminator.perturbations`` is null follows the task's ``answer_kind``
(:func:`default_perturbations`): ``math`` tasks get the five functions above but ``distractor_answer``;
``multiple_choice`` tasks (MMLU-Pro, MedReason) get ``distractor_answer`` (a wrong option) and
``wrong_result`` (a miscomputed equation line, when the reasoning has one; the answer stays an
option). ``nearby_answer``, ``answer_from_reasoning`` and ``corrupt_numbers`` write answers that name
no option (``B. Vitamin D`` → ``B. Vitmain D``), so they are refused for multiple-choice tasks
(:data:`ANSWER_MANGLING`).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reasoning_irl.rewards.carry_on import wrong_operand, wrong_operator, wrong_result
from reasoning_irl.rewards.trace_text import (
    EQUATION,
    OPERATORS,
    answer_bounds,
    apply_operator,
    reasoning_bounds,
    replace_answer,
)
from reasoning_irl.text.format import segment_steps

_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w])")
_BINARY_OP = re.compile(r"(?<=[\w)]) ([+\-*/×÷]) (?=[\w(])")
_SWAPS = {"yes": "no", "no": "yes", "true": "false", "false": "true"}


@dataclass(frozen=True)
class Perturbation:
    """A perturbed trace: ``text`` differs from ``original`` from ``first_changed_char`` on."""

    name: str
    original: str
    text: str
    changed: bool
    #: First character index where ``text`` differs from ``original`` (None when unchanged).
    first_changed_char: int | None
    #: Index into ``segment_steps(text)`` of the step holding that character (None when unchanged).
    first_changed_step: int | None


def first_difference(original: str, text: str) -> int | None:
    """Index of the first character where the two texts differ (None if equal)."""
    if original == text:
        return None
    limit = min(len(original), len(text))
    for i in range(limit):
        if original[i] != text[i]:
            return i
    return limit


def first_changed_char(original: str, text: str) -> int | None:
    """The first character of ``text`` that is not as in ``original``: their first difference, except
    where ``text`` diverges right after a step ends (``16 * 5 = 80`` cut to ``16 * 5 = 8``): that step
    itself is what changed, so its last character is the first changed one — otherwise the wrong step
    would be labelled an expert prefix and the change placed in the next step."""
    char = first_difference(original, text)
    if char:
        for span in segment_steps(text):
            if span.start < char == span.end:
                return char - 1
    return char


def _step_of_char(text: str, char: int) -> int | None:
    steps = segment_steps(text)
    for index, span in enumerate(steps):
        if char < span.end:
            return index
    return len(steps) - 1 if steps else None


def _nearby_value(value: str, rng: random.Random) -> str:
    if re.fullmatch(r"-?\d+", value):
        number = int(value)
        candidate = number + rng.choice((-1, 1))
        return str(candidate if str(candidate) != value else number + 2)
    if re.fullmatch(r"-?\d+\.\d+", value):
        decimals = len(value.split(".")[1])
        unit = 10.0 ** -decimals
        return f"{float(value) + rng.choice((-1, 1)) * unit:.{decimals}f}"
    lowered = value.lower()
    if lowered in _SWAPS:
        swapped = _SWAPS[lowered]
        return swapped.capitalize() if value[:1].isupper() else swapped
    pairs = [i for i in range(len(value) - 1) if value[i] != value[i + 1]]
    if pairs:
        i = rng.choice(pairs)
        return value[:i] + value[i + 1] + value[i] + value[i + 2 :]
    return value + "."


def flip_operator(text: str, rng: random.Random, meta: Mapping[str, Any]) -> str:
    start, end = reasoning_bounds(text)
    lines, cursor = [], start
    for line in text[start:end].split("\n"):
        if _BINARY_OP.search(line):
            lines.append((cursor, line))
        cursor += len(line) + 1
    rng.shuffle(lines)
    for line_start, line in lines:
        matches = list(_BINARY_OP.finditer(line))
        match = rng.choice(matches)
        equation = EQUATION.match(line)
        choices = [op for op in OPERATORS if op != match.group(1)]
        if equation is not None and len(matches) == 1:
            a, b, c = float(equation.group(1)), float(equation.group(3)), float(equation.group(4))
            # Keep only operators under which the line is false, so the step really is wrong.
            choices = [op for op in choices if (v := apply_operator(op, a, b)) is None or abs(v - c) > 1e-9]
        if not choices:
            continue
        at = line_start + match.start(1)
        return text[:at] + rng.choice(choices) + text[at + 1 :]
    return text


def nearby_answer(text: str, rng: random.Random, meta: Mapping[str, Any]) -> str:
    bounds = answer_bounds(text)
    if bounds is None or bounds[0] == bounds[1]:
        return text
    return replace_answer(text, _nearby_value(text[bounds[0] : bounds[1]], rng))


def corrupt_numbers(text: str, rng: random.Random, meta: Mapping[str, Any]) -> str:
    matches = list(_NUMBER.finditer(text))
    if not matches:
        return text
    digits = sum(ch.isdigit() for ch in text)
    chosen = sorted(rng.sample(matches, min(len(matches), max(1, digits // 4))), key=lambda m: m.start())
    pieces, cursor = [], 0
    for match in chosen:
        value = match.group(0)
        if "." in value:
            new = f"{float(value) + rng.choice((-1, 1)) * rng.uniform(0.5, 2.0):.3f}"
        else:
            new = str(int(value) + rng.choice((-1, 1)) * rng.choice((1, 2, 5, 10)))
        pieces += [text[cursor : match.start()], new]
        cursor = match.end()
    return "".join(pieces) + text[cursor:]


def answer_from_reasoning(text: str, rng: random.Random, meta: Mapping[str, Any]) -> str:
    bounds = answer_bounds(text)
    if bounds is None:
        return text
    answer = text[bounds[0] : bounds[1]]
    start, end = reasoning_bounds(text)
    candidates = sorted({m.group(0) for m in _NUMBER.finditer(text[start:end])} - {answer})
    if not candidates:
        return nearby_answer(text, rng, meta)
    return replace_answer(text, rng.choice(candidates))


def distractor_answer(text: str, rng: random.Random, meta: Mapping[str, Any]) -> str:
    bounds = answer_bounds(text)
    if bounds is None:
        return text
    answer = text[bounds[0] : bounds[1]]
    bare = re.fullmatch(r"\(?[A-J]\)?[.):]?", answer) is not None
    # A bare letter is answered with a wrong letter; "B. text" with a wrong "LETTER. text".
    wrong = list(meta.get("distractor_letters" if bare else "distractors") or [])
    wrong = [w for w in wrong if w != answer]
    return replace_answer(text, rng.choice(wrong)) if wrong else text


PERTURBATIONS: dict[str, Callable[[str, random.Random, Mapping[str, Any]], str]] = {
    "flip_operator": flip_operator,
    "nearby_answer": nearby_answer,
    "corrupt_numbers": corrupt_numbers,
    "answer_from_reasoning": answer_from_reasoning,
    "distractor_answer": distractor_answer,
    "wrong_result": wrong_result,
    "wrong_operator": wrong_operator,
    "wrong_operand": wrong_operand,
}


#: The list used for each ``Task.answer_kind`` when ``discriminator.perturbations`` is null.
TASK_KIND_PERTURBATIONS: dict[str, tuple[str, ...]] = {
    # The reference code's math list, plus "answer with a number from the reasoning" (docs/METHOD.md §3)
    # and "a wrong result the computation carries on from" (the error a policy makes).
    "math": ("flip_operator", "nearby_answer", "corrupt_numbers", "answer_from_reasoning", "wrong_result"),
    "multiple_choice": ("distractor_answer", "wrong_result"),
}
#: Perturbations that rewrite the answer text itself: on a multiple-choice answer they name no option.
ANSWER_MANGLING = ("nearby_answer", "answer_from_reasoning", "corrupt_numbers")


def default_perturbations(answer_kind: str) -> list[str]:
    """The perturbation list of a task kind (``math`` or ``multiple_choice``)."""
    if answer_kind not in TASK_KIND_PERTURBATIONS:
        raise ValueError(f"task kind {answer_kind!r} has no perturbation list; use one of "
                         f"{', '.join(TASK_KIND_PERTURBATIONS)}")
    return list(TASK_KIND_PERTURBATIONS[answer_kind])


def check_perturbations(names: Sequence[str], answer_kind: str) -> None:
    """Refuse perturbations that cannot make a meaningful negative of this task kind's traces."""
    default_perturbations(answer_kind)  # a known kind
    bad = [n for n in names if n in ANSWER_MANGLING] if answer_kind == "multiple_choice" else []
    if bad:
        raise ValueError(
            f"discriminator.perturbations has {', '.join(bad)} for a multiple-choice task: it rewrites the answer "
            "into text that names no option (B. Vitamin D → B. Vitmain D); use distractor_answer and wrong_result "
            "(or null: the task's list)"
        )


def perturb(text: str, name: str, rng: random.Random, meta: Mapping[str, Any] | None = None) -> Perturbation:
    """Apply the perturbation ``name`` to one trace and report what changed."""
    if name not in PERTURBATIONS:
        raise ValueError(f"unknown perturbation {name!r}; use one of {', '.join(PERTURBATIONS)}")
    new = PERTURBATIONS[name](text, rng, meta or {})
    char = first_changed_char(text, new)
    return Perturbation(
        name=name,
        original=text,
        text=new,
        changed=char is not None,
        first_changed_char=char,
        first_changed_step=None if char is None else _step_of_char(new, char),
    )


def perturb_traces(
    traces: Sequence[str],
    names: Sequence[str],
    seed: int,
    metas: Sequence[Mapping[str, Any] | None] | None = None,
    copies: int = 1,
) -> list[tuple[int, Perturbation]]:
    """``copies`` perturbed versions of every trace, one perturbation drawn per trace and copy.

    One name is drawn uniformly; when it leaves the trace unchanged, the other names are tried in a
    random order, and the trace gets no copy only when none changes it (a draw that changes the trace
    is never redrawn, so lists whose functions always apply give what a single draw gives).
    Returns ``(trace index, perturbation)`` for the *changed* results only; the same ``seed`` gives the
    same list. The generator of trace i, copy j is seeded with the string ``"{seed}:{i}:{j}"``
    (deterministic across processes), so a trace's perturbation does not depend on the others.
    """
    if not names:
        raise ValueError("no perturbation names given; set discriminator.perturbations or copies=0")
    out = []
    for i, trace in enumerate(traces):
        meta = metas[i] if metas is not None else None
        for j in range(copies):
            rng = random.Random(f"{seed}:{i}:{j}")
            first = rng.choice(list(names))
            result = perturb(trace, first, rng, meta)
            if not result.changed:  # e.g. wrong_result on prose: another function gets its turn
                others = list(dict.fromkeys(n for n in names if n != first))
                rng.shuffle(others)
                for name in others:
                    result = perturb(trace, name, rng, meta)
                    if result.changed:
                        break
            if result.changed:
                out.append((i, result))
    return out
