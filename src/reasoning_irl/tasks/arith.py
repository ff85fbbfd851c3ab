"""``arith``: synthetic multi-step arithmetic, generated in code — the embedded default task.

A problem is a start value and a list of operations, worded in one regular pattern::

    Start with 7. Add 5. Multiply by 3. Subtract 4. What is the final number?

and its expert trace has one ``a op b = c`` line per operation (ASCII ``+ - * /``)::

    <think>
    7 + 5 = 12
    12 * 3 = 36
    36 - 4 = 32
    </think>
    <answer>
    32
    </answer>

Ranges (``task.arith_*``): start 1..start_max; operands 1..operand_max for ``+``/``-`` and
2..operand_max for ``*``/``/``; every intermediate result in 1..result_max (never 0: from 0 every
``*`` and ``/`` would be trivial and two consecutive lines could be identical); ``/`` only where it
divides exactly. So every step changes the value. Each step first draws an operator uniformly among
those with a valid operand, then the operand uniformly among the valid ones.

Splits are disjoint by construction: test is generated first from the seed stream
``"<seed>:arith:test"``, then validation from ``"<seed>:arith:validation"``, then train from
``"<seed>:arith:train"``, each skipping a problem (start, operations) already taken. The same seed
gives byte-identical records (``random.Random`` seeded with a string is stable across processes).

``record.meta``: ``start`` (int), ``operations`` (list of ``[op, operand]``), ``results`` (the result
after each operation; the last is the answer).
"""

from __future__ import annotations

import random
import re
from typing import Any

from reasoning_irl.tasks.base import Record, Task, check_split
from reasoning_irl.tasks.grading import MAX_DIGITS, numbers_equal, parse_number
from reasoning_irl.tasks.sources import finish_split, make_prompt
from reasoning_irl.text.format import extract_answer, format_completion, segment_steps

_WORDS = {"+": "Add {}.", "-": "Subtract {}.", "*": "Multiply by {}.", "/": "Divide by {}."}
# at most MAX_DIGITS digits per number: a longer one makes the step unparsable (wrong), never an int() error
_INT = rf"(-?\d{{1,{MAX_DIGITS}}})"
_STEP = re.compile(rf"{_INT}\s*([-+*/])\s*{_INT}\s*=\s*{_INT}")
_MAX_ATTEMPTS_PER_PROBLEM = 1000


def apply(value: int, op: str, operand: int) -> int:
    if op == "+":
        return value + operand
    if op == "-":
        return value - operand
    if op == "*":
        return value * operand
    if operand == 0 or value % operand:
        raise ValueError(f"{value} / {operand} does not divide exactly")
    return value // operand


def question_text(start: int, operations: list[list[Any]]) -> str:
    words = " ".join(_WORDS[op].format(operand) for op, operand in operations)
    return f"Start with {start}. {words} What is the final number?"


def expert_steps(start: int, operations: list[list[Any]]) -> list[str]:
    """The ``a op b = c`` lines of the expert trace."""
    lines, value = [], start
    for op, operand in operations:
        result = apply(value, op, operand)
        lines.append(f"{value} {op} {operand} = {result}")
        value = result
    return lines


class ArithTask(Task):
    name = "arith"
    checks_steps = True

    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg
        self._splits: dict[str, list[tuple[int, list[list[Any]]]]] | None = None

    # --- generation --------------------------------------------------------------------------
    def _valid_operands(self, value: int, op: str) -> list[int]:
        c = self.cfg
        if op == "+":
            return [b for b in range(1, c.arith_operand_max + 1) if value + b <= c.arith_result_max]
        if op == "-":
            return list(range(1, min(c.arith_operand_max, value - 1) + 1))  # results stay >= 1
        if op == "*":
            return [b for b in range(2, c.arith_operand_max + 1) if value * b <= c.arith_result_max]
        return [b for b in range(2, c.arith_operand_max + 1) if value % b == 0]

    def _problem(self, rng: random.Random) -> tuple[int, list[list[Any]]] | None:
        c = self.cfg
        start = rng.randint(1, c.arith_start_max)
        num_ops = rng.randint(c.arith_min_ops, c.arith_max_ops)
        value, operations = start, []
        for _ in range(num_ops):
            choices = [(op, self._valid_operands(value, op)) for op in c.arith_operators]
            choices = [(op, operands) for op, operands in choices if operands]
            if not choices:
                return None  # e.g. only "/" and a prime value: draw another problem
            op, operands = rng.choice(choices)
            operand = rng.choice(operands)
            operations.append([op, operand])
            value = apply(value, op, operand)
        return start, operations

    def _generate(self) -> dict[str, list[tuple[int, list[list[Any]]]]]:
        if self._splits is None:
            c = self.cfg
            taken: set[str] = set()
            self._splits = {}
            for split, count in (
                ("test", c.arith_num_test),
                ("validation", c.arith_num_validation),
                ("train", c.arith_num_train),
            ):
                rng = random.Random(f"{c.seed}:arith:{split}")
                problems, attempts = [], 0
                while len(problems) < count:
                    attempts += 1
                    if attempts > _MAX_ATTEMPTS_PER_PROBLEM * (count + 10):
                        raise ValueError(
                            f"arith: could only generate {len(problems)} distinct {split} problems of "
                            f"{count} (after {len(taken)} in earlier splits); widen task.arith_* ranges "
                            "or ask for fewer"
                        )
                    problem = self._problem(rng)
                    if problem is None:
                        continue
                    key = f"{problem[0]}|" + ",".join(f"{op}{b}" for op, b in problem[1])
                    if key in taken:
                        continue
                    taken.add(key)
                    problems.append(problem)
                self._splits[split] = problems
        return self._splits

    def load(self, split: str) -> list[Record]:
        check_split(split)
        records = []
        for index, (start, operations) in enumerate(self._generate()[split]):
            steps = expert_steps(start, operations)
            results = [int(line.rsplit("=", 1)[1]) for line in steps]
            question = question_text(start, operations)
            answer = str(results[-1])
            records.append(
                Record(
                    problem_id=f"arith-{self.cfg.seed}-{split}-{index}",
                    question=question,
                    answer=answer,
                    prompt=make_prompt(self.cfg, question),
                    target=format_completion(steps, answer),
                    meta={"start": start, "operations": [list(o) for o in operations], "results": results},
                )
            )
        return finish_split(records, split, self.cfg)

    # --- checking ----------------------------------------------------------------------------
    def grade_answer(self, answer: str | None, record: Record) -> bool:
        return numbers_equal(answer, record.answer)

    def first_error_step(self, completion: str, record: Record) -> int | None:
        """Index into ``segment_steps(completion)`` of the first wrong step; None if none is wrong.

        Reasoning step i (a non-empty line inside ``<think>``) is wrong when it does not parse as
        ``a op b = c`` (integers, ASCII operator), when ``a`` is not the previous step's result (the
        start value for step 0), when ``op``/``b`` are not the problem's i-th operation, or when ``c``
        is miscomputed. The answer step — index ``len(reasoning steps)``, which is where the answer
        block is in ``segment_steps`` or, when the completion has no answer block, where it should
        be — is wrong when a step is missing, a step is extra, the answer block is absent, or its
        answer is not the number of the last result. Every step before a wrong one is right.
        """
        spans = segment_steps(completion)
        has_answer = extract_answer(completion) is not None
        reasoning = spans[:-1] if has_answer else spans
        answer_step = len(reasoning)
        operations = record.meta["operations"]
        value = record.meta["start"]
        for i, span in enumerate(reasoning):
            if i >= len(operations):
                return answer_step  # an extra step
            m = _STEP.fullmatch(span.text)
            if m is None:
                return i
            left, op, right, result = int(m.group(1)), m.group(2), int(m.group(3)), int(m.group(4))
            if left != value or [op, right] != list(operations[i]):
                return i
            value = apply(value, op, right)  # exact: op and operand are the problem's
            if result != value:
                return i
        if len(reasoning) < len(operations) or not has_answer:
            return answer_step
        answer = parse_number(extract_answer(completion))
        return None if answer is not None and answer == value else answer_step

    def describe(self) -> dict[str, Any]:
        c = self.cfg
        return {
            "task": self.name,
            "seed": c.seed,
            "sizes": {
                "train": c.arith_num_train,
                "validation": c.arith_num_validation,
                "test": c.arith_num_test,
            },
            "split_rule": "generated: test, then validation, then train, from the seed streams "
            "'<seed>:arith:<split>', each skipping problems already taken",
        }
