"""Which completion tokens are scored: the four granularities, from character offsets.

Every function here works on *completion token indices* (0 = the first token of the completion, never
a prompt or template token) and on the character span of each completion token inside the completion
text (``offsets[i] = (start, end)``, from the tokenizer's offset mapping over the exact completion span;
an appended EOS has the empty span ``(len, len)``). No "prompt length" arithmetic is involved, so a
chat template with a trailing newline or a multi-byte character cannot shift a position.

Granularities (docs/METHOD.md), for a completion of T tokens:

- ``sparse``: {T−1} — one score per completion, at its last token.
- ``step``: the last token of each step (the token holding the step's last character), and T−1.
  The last step (the answer block) therefore closes at T−1, so trailing text and the EOS belong to
  it. Two steps ending in the same token share one position.
- ``interval``: {n−1, 2n−1, …} ∪ {T−1} with n = ``interval_tokens``.
- ``dense``: every token 0…T−1.

The last token is scored in every granularity, so the scored positions split the completion into
consecutive *segments* (segment k = tokens p_{k−1}+1 … p_k, p_0 = −1) that cover every token once.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence

from reasoning_irl.text.format import Span

Offsets = Sequence[tuple[int, int]]


def token_containing(offsets: Offsets, char: int) -> int:
    """Index of the first completion token whose span ends after ``char`` (the token holding ``char``).

    A character between tokens (never produced by a lossless tokenizer) maps to the next token; a
    character past the last token maps to ``len(offsets)`` (not in the encoded completion, e.g.
    after truncation).
    """
    ends = [end for _, end in offsets]
    # First i with ends[i] > char; the EOS's empty span (len, len) never holds a character.
    return bisect_right(ends, char)


def step_end_tokens(offsets: Offsets, steps: Sequence[Span]) -> list[int | None]:
    """For each step, the completion token holding its last character (None: cut off by truncation)."""
    out: list[int | None] = []
    for step in steps:
        index = token_containing(offsets, max(step.end - 1, step.start))
        out.append(index if index < len(offsets) else None)
    return out


def scored_positions(
    granularity: str,
    offsets: Offsets,
    steps: Sequence[Span] = (),
    interval_tokens: int = 15,
) -> list[int]:
    """Sorted completion-token indices scored by ``granularity`` (see the module docstring).

    ``offsets`` holds one (start, end) span per encoded completion token; ``steps`` the step spans
    (``segment_steps``), used by ``step`` only. An empty completion (no token at all) has nothing to
    score and is an error.
    """
    num_tokens = len(offsets)
    if num_tokens == 0:
        raise ValueError(
            "the completion has no token to score (empty text and no EOS appended); "
            "score it with reward.append_eos=true or drop it"
        )
    last = num_tokens - 1
    if granularity == "sparse":
        return [last]
    if granularity == "dense":
        return list(range(num_tokens))
    if granularity == "interval":
        if interval_tokens <= 0:
            raise ValueError(f"interval_tokens={interval_tokens} must be positive")
        return sorted(set(range(interval_tokens - 1, num_tokens, interval_tokens)) | {last})
    if granularity == "step":
        ends = {index for index in step_end_tokens(offsets, steps) if index is not None}
        return sorted(ends | {last})
    raise ValueError(f"unknown granularity {granularity!r}; use sparse, step, interval or dense")


def covering_position(positions: Sequence[int], token: int) -> int | None:
    """Index k of the first scored position p_k ≥ ``token`` (the segment holding the token), or None."""
    k = bisect_left(positions, token)
    return k if k < len(positions) else None


def segment_ids(positions: Sequence[int], num_tokens: int) -> list[int]:
    """Segment index of every completion token: token t belongs to segment k iff p_{k−1} < t ≤ p_k."""
    out, k = [], 0
    for t in range(num_tokens):
        while positions[k] < t:
            k += 1
        out.append(k)
    return out
