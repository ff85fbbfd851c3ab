"""Rollouts: B prompts × G sampled completions from the policy.

The default backend is Hugging Face ``generate`` (KV cache, left-padded prompts, temperature and
nucleus sampling from :class:`SamplingConfig`). Rollouts are deterministic for a seed: sampling runs
inside a forked RNG seeded with ``seed``, so it neither depends on nor disturbs the caller's random
state (which is what makes a resumed run reach the same result as an uninterrupted one).

Completions keep the exact sampled token ids (EOS included when the model stopped): the policy loss
scores those ids, never a re-tokenisation of the decoded text, which need not round-trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from transformers import GenerationConfig, PreTrainedTokenizerBase

from reasoning_irl.config.sampling import SamplingConfig
from reasoning_irl.faults import fault_point
from reasoning_irl.models.encoding import pad_ids


@dataclass
class Rollouts:
    """``N = B × G`` completions, prompt-major: completion ``i`` answers prompt ``i // G``."""

    #: ``(B,)`` prompt token ids as given (chat template applied, no padding).
    prompt_ids: list[list[int]]
    #: ``(N,)`` index of each completion's prompt.
    prompt_index: list[int]
    #: ``(N,)`` sampled token ids, up to and including EOS when ``finished``.
    completion_ids: list[list[int]]
    #: ``(N,)`` decoded completions without special tokens.
    completion_text: list[str]
    #: ``(N,)`` whether the completion ended with EOS (False: cut at ``max_new_tokens``).
    finished: list[bool]
    #: G, completions per prompt.
    num_generations: int

    def __len__(self) -> int:
        return len(self.completion_ids)

    def completion_lengths(self) -> torch.Tensor:
        """``(N,)`` completion lengths in tokens."""
        return torch.tensor([len(ids) for ids in self.completion_ids], dtype=torch.long)


@dataclass
class PolicyBatch:
    """Rollouts laid out for the policy: ``[left-padded prompt | right-padded completion]``.

    Every completion starts at column ``prompt_width``, so ``[:, prompt_width:]`` is the completion
    block of shape ``(N, C)`` with C the longest completion.
    """

    input_ids: torch.Tensor  # (N, P + C)
    attention_mask: torch.Tensor  # (N, P + C)
    completion_mask: torch.Tensor  # (N, P + C), 1 on sampled completion tokens
    prompt_width: int  # P

    def completion_block(self, per_position: torch.Tensor) -> torch.Tensor:
        """``(N, P + C)`` → ``(N, C)``: the completion columns of a per-position tensor."""
        return per_position[:, self.prompt_width :]

    def select(self, rows: torch.Tensor | slice) -> PolicyBatch:
        """A micro-batch of rows (keeps the column layout)."""
        return PolicyBatch(self.input_ids[rows], self.attention_mask[rows], self.completion_mask[rows],
                           self.prompt_width)

    def trimmed(self) -> tuple[PolicyBatch, int]:
        """These rows without the columns none of them uses, and the width of the kept completion block.

        The batch was padded to the *whole* batch's longest prompt and completion; a micro-batch needs only
        its own: the kept block is ``[P − p, P + c)``, p and c its rows' longest prompt and completion (at
        least one completion column). The completion block keeps its first ``c`` columns, so
        ``full[:, :c]`` of an ``(n, C)`` per-position tensor of these rows lines up with it.
        """
        used = self.attention_mask.bool().any(0).nonzero().flatten()
        first = min(int(used[0]), self.prompt_width) if len(used) else self.prompt_width
        end = max(int(used[-1]) + 1, self.prompt_width + 1) if len(used) else self.prompt_width + 1
        columns = slice(first, end)
        trimmed = PolicyBatch(self.input_ids[:, columns], self.attention_mask[:, columns],
                              self.completion_mask[:, columns], self.prompt_width - first)
        return trimmed, end - self.prompt_width


def policy_batch(rollouts: Rollouts, pad_token_id: int) -> PolicyBatch:
    """Lay out rollouts as prompt (left-padded) followed by completion (right-padded)."""
    prompts = [rollouts.prompt_ids[i] for i in rollouts.prompt_index]
    width_p = max(len(p) for p in prompts)
    width_c = max(1, max(len(c) for c in rollouts.completion_ids))
    n = len(rollouts)
    input_ids = torch.full((n, width_p + width_c), pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros((n, width_p + width_c), dtype=torch.long)
    completion_mask = torch.zeros((n, width_p + width_c), dtype=torch.long)
    for row, (prompt, completion) in enumerate(zip(prompts, rollouts.completion_ids)):
        input_ids[row, width_p - len(prompt) : width_p] = torch.tensor(prompt, dtype=torch.long)
        input_ids[row, width_p : width_p + len(completion)] = torch.tensor(completion, dtype=torch.long)
        attention_mask[row, width_p - len(prompt) : width_p + len(completion)] = 1
        completion_mask[row, width_p : width_p + len(completion)] = 1
    return PolicyBatch(input_ids, attention_mask, completion_mask, width_p)


def _cut_at_eos(ids: list[int], eos_ids: set[int]) -> tuple[list[int], bool]:
    for pos, token in enumerate(ids):
        if token in eos_ids:
            return ids[: pos + 1], True
    return ids, False


def _eos_ids(tokenizer: PreTrainedTokenizerBase, model: nn.Module) -> set[int]:
    eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    if not ids:
        raise ValueError("the tokenizer has no eos_token and the model's generation_config names none; set one")
    return ids


@torch.no_grad()
def _generate_hf(
    model: nn.Module,
    prompt_ids: Sequence[Sequence[int]],
    config: GenerationConfig,
    pad_token_id: int,
    batch_prompts: int,
) -> list[list[int]]:
    sampled: list[list[int]] = []
    for start in range(0, len(prompt_ids), batch_prompts):
        chunk = prompt_ids[start : start + batch_prompts]
        input_ids, attention_mask = pad_ids(chunk, pad_token_id)
        input_ids, attention_mask = input_ids.to(model.device), attention_mask.to(model.device)
        fault_point("generate")  # deterministic fault injection (reasoning_irl.faults); no-op when unset
        output = model.generate(
            input_ids=input_ids,
            attention_mask=attention_mask,
            generation_config=config,
        )  # (chunk × G, P + new), prompt-major
        sampled.extend(output[:, input_ids.shape[1] :].tolist())
    return sampled


#: ``sampling.backend`` → the function that samples the completions (Hugging Face ``generate`` only).
BACKENDS = {"hf": _generate_hf}


def generate_rollouts(
    model: nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    prompt_ids: Sequence[Sequence[int]],
    sampling: SamplingConfig,
    *,
    num_generations: int | None = None,
    seed: int,
    greedy: bool = False,
    batch_prompts: int = 64,
) -> Rollouts:
    """Sample ``num_generations`` (default ``sampling.num_generations``) completions per prompt.

    ``greedy=True`` decodes greedily (one completion per prompt). The model is put in eval mode for
    generation and its previous mode is restored.
    """
    if not prompt_ids or any(len(p) == 0 for p in prompt_ids):
        raise ValueError("generate_rollouts needs at least one prompt, each with at least one token")
    group = 1 if greedy else (num_generations or sampling.num_generations)
    pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    eos_ids = _eos_ids(tokenizer, model)
    config = GenerationConfig(
        do_sample=not greedy,
        temperature=sampling.temperature if not greedy else None,
        top_p=sampling.top_p if not greedy else None,
        top_k=0 if not greedy else None,  # generate's default top_k=50 would silently truncate sampling
        max_new_tokens=sampling.max_new_tokens,
        min_new_tokens=sampling.min_new_tokens or None,
        eos_token_id=sorted(eos_ids),
        pad_token_id=pad_token_id,
        use_cache=True,
        num_return_sequences=group,
    )
    was_training = model.training
    model.eval()
    try:
        generate = BACKENDS[sampling.backend]  # SamplingConfig admits only the backends listed here
        with torch.random.fork_rng(devices=[model.device] if model.device.type == "cuda" else []):
            torch.manual_seed(seed)
            sampled = generate(model, prompt_ids, config, pad_token_id, batch_prompts)
    finally:
        model.train(was_training)
    completion_ids, finished = [], []
    for ids in sampled:
        ids, done = _cut_at_eos(ids, eos_ids)  # generate pads a finished row after its EOS
        completion_ids.append(ids)
        finished.append(done)
    return Rollouts(
        prompt_ids=[list(p) for p in prompt_ids],
        prompt_index=[i // group for i in range(len(sampled))],
        completion_ids=completion_ids,
        completion_text=tokenizer.batch_decode(completion_ids, skip_special_tokens=True),
        finished=finished,
        num_generations=group,
    )
