"""Verifiable rewards (docs/METHOD.md §7.3): format and correctness, for the GRPO baseline and opt-in mixing.

They read the text, and ``correctness`` the gold answer, so none is part of the learned, verifier-free
reward unless ``algo.use_outcome_rewards`` or ``discriminator.relabel_correct_samples`` asks for it.
Values, summed with weight 1 by the GRPO baseline (``training.reward_functions``):

- ``tag_count``: 0.125 for each of ``<think>``, ``</think>``, ``<answer>``, ``</answer>`` present exactly
  once, minus 0.001 per character after the last ``</answer>`` (at most 0.5);
- ``soft_format``: 0.5 if ``<think>…</think>…<answer>…</answer>`` appears anywhere;
- ``strict_format``: 0.5 if the stripped text is exactly ``<think>…</think>`` + whitespace +
  ``<answer>…</answer>`` (:func:`is_strict_format`);
- ``integer_answer``: 0.5 if the answer block's stripped content is all digits (the reference's
  ``int_reward_func`` of its GSM8K and AIME runs; not in the default list);
- ``correctness``: 2.0 when ``task.grade(completion, record)``, else 0.0.

:func:`trl_reward_functions` wraps them in TRL's ``f(completions, **columns) -> list[float]`` form.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from reasoning_irl.text.format import ANSWER_CLOSE, ANSWER_OPEN, THINK_CLOSE, THINK_OPEN, extract_answer

_T_OPEN, _T_CLOSE, _A_OPEN, _A_CLOSE = (re.escape(t) for t in (THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE))
_SOFT = re.compile(f"{_T_OPEN}.*?{_T_CLOSE}.*?{_A_OPEN}.*?{_A_CLOSE}", re.DOTALL)
_STRICT = re.compile(f"{_T_OPEN}.*?{_T_CLOSE}\\s*{_A_OPEN}.*?{_A_CLOSE}", re.DOTALL)


def tag_count_reward(completion: str) -> float:
    """0.125 per format tag present exactly once, minus 0.001 per character after the last ``</answer>``."""
    reward = sum(0.125 for tag in (THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE) if completion.count(tag) == 1)
    if ANSWER_CLOSE in completion:
        reward -= 0.001 * len(completion.rsplit(ANSWER_CLOSE, 1)[1])
    return reward


def soft_format_reward(completion: str) -> float:
    """0.5 if the think block is followed (anywhere) by an answer block."""
    return 0.5 if _SOFT.search(completion) else 0.0


def is_strict_format(completion: str) -> bool:
    """The stripped text is exactly one think block, optional whitespace, and one answer block."""
    text = completion.strip()
    if any(text.count(tag) != 1 for tag in (THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE)):
        return False
    return _STRICT.fullmatch(text) is not None


def strict_format_reward(completion: str) -> float:
    """0.5 if :func:`is_strict_format`."""
    return 0.5 if is_strict_format(completion) else 0.0


def integer_answer_reward(completion: str) -> float:
    """0.5 if the extracted answer is all digits (``str.isdigit``: no sign, comma or decimal point)."""
    answer = extract_answer(completion)
    return 0.5 if answer is not None and answer.strip().isdigit() else 0.0


def correctness_reward(completion: str, record: Any, task: Any) -> float:
    """2.0 when the task grades the completion correct against the record's gold answer, else 0.0."""
    return 2.0 if task.grade(completion, record) else 0.0


FORMAT_REWARDS: dict[str, Callable[[str], float]] = {
    "tag_count": tag_count_reward,
    "soft_format": soft_format_reward,
    "strict_format": strict_format_reward,
}
#: Text-only rewards of the GRPO baseline beyond the format ones (not part of ``algo.use_outcome_rewards``).
ANSWER_REWARDS: dict[str, Callable[[str], float]] = {"integer_answer": integer_answer_reward}


def _text(completion: Any) -> str:
    # TRL passes conversational completions as [{"role": "assistant", "content": ...}].
    return completion[-1]["content"] if isinstance(completion, list) else completion


def trl_reward_functions(
    names: Sequence[str], task: Any, records_by_id: dict[str, Any]
) -> list[Callable[..., list[float]]]:
    """The named rewards as TRL reward functions; ``correctness`` needs a ``problem_id`` dataset column."""
    functions = []
    for name in names:
        if name in FORMAT_REWARDS or name in ANSWER_REWARDS:
            score = FORMAT_REWARDS.get(name) or ANSWER_REWARDS[name]

            def function(completions: Sequence[Any], _score=score, **_: Any) -> list[float]:
                return [_score(_text(c)) for c in completions]
        elif name == "correctness":
            def function(completions: Sequence[Any], problem_id: Sequence[str], **_: Any) -> list[float]:
                unknown = [p for p in problem_id if p not in records_by_id]
                if unknown:
                    raise KeyError(f"problem_id {unknown[0]!r} is not among the training records; the dataset "
                                   "and the records passed to trl_reward_functions must come from the same task split")
                return [correctness_reward(_text(c), records_by_id[p], task)
                        for c, p in zip(completions, problem_id, strict=True)]
        else:
            raise ValueError(f"unknown verifiable reward {name!r}; use "
                             f"{', '.join([*FORMAT_REWARDS, *ANSWER_REWARDS, 'correctness'])}")
        function.__name__ = name
        functions.append(function)
    return functions
