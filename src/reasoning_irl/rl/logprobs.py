"""Per-token log-probabilities of completion tokens under a causal LM.

One forward pass through the backbone, then the output head (and the log-softmax over the
vocabulary) only at the positions that predict a completion token, a chunk of rows at a time
(:func:`reasoning_irl.rewards.heads.chunked_token_logprobs`, recomputed in the backward pass): for a
150k-token vocabulary the full ``(B, L, V)`` logits would dominate memory.

Position convention: ``out[b, t]`` is ``log π(input_ids[b, t] | input_ids[b, <t])`` for every ``t``
with ``completion_mask[b, t]``, and 0 elsewhere — the log-prob of a token sits at the token, so a
segment's log-prob is the sum over its own positions (no off-by-one for callers).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from reasoning_irl.models.encoding import EncodedSample, collate
from reasoning_irl.rewards.heads import chunked_token_logprobs


def position_ids_from_mask(attention_mask: torch.Tensor) -> torch.Tensor:
    """Positions that skip left padding, as ``generate`` uses them: ``cumsum(mask) − 1``, 0 on pads."""
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


def completion_logprobs(
    model: nn.Module,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    completion_mask: torch.Tensor,
) -> torch.Tensor:
    """Log-probs of the completion tokens of a collated batch.

    Args:
        model: a Hugging Face causal LM (or a peft model wrapping one).
        input_ids: ``(B, L)`` prompt + completion tokens, any padding.
        attention_mask: ``(B, L)`` 1 on real tokens.
        completion_mask: ``(B, L)`` 1 on completion tokens (the ones scored); position 0 must be 0.

    Returns:
        ``(B, L)`` float32: ``log π(x_t | x_<t)`` on completion positions, 0 elsewhere. Differentiable
        with respect to the model's parameters.
    """
    completion_mask = completion_mask.bool()
    if completion_mask[:, 0].any():
        raise ValueError("completion_mask marks position 0, which has no preceding context to predict it from")
    backbone = model.get_decoder()
    head = model.get_output_embeddings()
    hidden = backbone(
        input_ids=input_ids,
        attention_mask=attention_mask,
        position_ids=position_ids_from_mask(attention_mask),
        use_cache=False,
    ).last_hidden_state  # (B, L, H)
    predicts = completion_mask[:, 1:]  # (B, L-1): hidden state t predicts token t+1
    selected = hidden[:, :-1][predicts]  # (N, H), N = number of completion tokens
    targets = input_ids[:, 1:][predicts]  # (N,)
    token_logprobs = chunked_token_logprobs(head, selected, targets)  # (N,): (chunk, V) logits at a time
    # completion_mask[:, 1:] == predicts, and both are read row-major: token t's log-prob lands at t.
    out = torch.zeros(input_ids.shape, dtype=torch.float32, device=input_ids.device)  # (B, L)
    return out.masked_scatter(completion_mask, token_logprobs)


@torch.no_grad()
def encoded_token_logprobs(model: nn.Module, samples: Sequence[EncodedSample], pad_token_id: int,
                           micro_batch_size: int) -> list[list[float]]:
    """Per encoded sample (:func:`reasoning_irl.models.encode`), log π of each of its completion tokens,
    without gradients: :func:`completion_logprobs` over left-padded micro-batches of consecutive samples.

    The ``airl`` discriminator hands it the reward model's own encodings (one tokenizer, so the same ids):
    the policy's log-probs cover exactly the reward model's completion tokens, with no second tokenisation.
    """
    device = next(model.parameters()).device
    out: list[list[float]] = []
    for begin in range(0, len(samples), micro_batch_size):
        batch = collate(samples[begin : begin + micro_batch_size], pad_token_id)
        mask = batch["completion_mask"].to(device)
        logprobs = completion_logprobs(model, batch["input_ids"].to(device), batch["attention_mask"].to(device), mask)
        out.extend(row[row_mask].tolist() for row, row_mask in zip(logprobs, mask))
    return out
