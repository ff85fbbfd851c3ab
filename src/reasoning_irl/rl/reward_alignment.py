"""Rewards → policy tokens: a reward model's per-position rewards placed on the policy's sampled tokens.

The reward model scores *its* encoding of the decoded text; the policy sampled its own token sequence,
which need not be the canonical tokenisation. Rewards are moved across by character spans.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from typing import Any

import torch

from reasoning_irl.models.encoding import encode
from reasoning_irl.rl.rollout import Rollouts


def _token_char_ends(tokenizer, prompt: Any, text: str, ids: Sequence[int]) -> list[int]:
    """End character (in ``text``) of each sampled token; a trailing special token (EOS) ends at len(text)."""
    encoded = encode(tokenizer, prompt, text, append_eos=False)
    content = list(ids)
    while content and content[-1] in tokenizer.all_special_ids:
        content = content[:-1]
    if encoded.completion_ids == content:  # canonical tokenisation: exact spans from the offset mapping
        ends = [end for _, end in encoded.completion_offsets]
    else:  # decode prefix by prefix (O(T²) characters, only for non-canonical samples)
        ends = [len(tokenizer.decode(content[: i + 1], skip_special_tokens=True)) for i in range(len(content))]
    return ends + [len(text)] * (len(ids) - len(content))


def align_rewards(scored: Sequence[Any], rollouts: Rollouts, prompts: Sequence[Any], tokenizer,
                  width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token rewards ``(N, width)`` and scored mask on the policy's sampled tokens.

    A reward at a scored position of the reward model's encoding goes to the sampled token holding the
    last character of that position's span; the appended EOS (an empty span at the end of the text)
    goes to the last sampled token (the policy's EOS when it stopped). Rewards landing on one token add
    up, so every completion's return Σ_t r_t is preserved exactly.
    """
    rewards = torch.zeros(len(rollouts), width)
    scored_mask = torch.zeros(len(rollouts), width, dtype=torch.bool)
    for row, (sample, ids, text) in enumerate(zip(scored, rollouts.completion_ids, rollouts.completion_text)):
        if not ids:
            continue
        ends = _token_char_ends(tokenizer, prompts[row], text, ids)
        last = len(ids) - 1
        for position in sample.positions:
            if position.end > position.start:
                index = bisect_left(ends, position.end)
            elif position.start >= len(text):
                index = last
            else:
                index = bisect_left(ends, position.start + 1)
            index = min(index, last)
            rewards[row, index] += position.reward
            scored_mask[row, index] = True
    return rewards, scored_mask
