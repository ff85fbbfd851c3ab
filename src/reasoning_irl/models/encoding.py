"""The one place that turns (prompt, completion) into token ids and says which tokens are the completion.

Reward models, policy log-probabilities and evaluation all call :func:`encode`, so they agree on every
token position. The prompt text and the completion are tokenised **separately** and their ids
concatenated: this is exactly what a model sees during generation (its completion tokens follow the
prompt ids), and the completion's span is exact by construction — never "full length minus completion
length", which is off whenever the template's last characters merge with the completion's first.

Character offsets (docs/METHOD.md) come from the tokenizer's offset mapping over the completion alone and
are made a *partition* of the completion: token i covers ``completion[s_i:e_i]``, the spans are
contiguous, and joined they give the completion back. A character split over several byte-level tokens
(é, 中, an emoji) belongs to the token that completes it; the earlier partial tokens get empty spans.
The appended EOS gets the empty span ``(len(completion), len(completion))``.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from reasoning_irl.text.prompts import messages_to_text


@dataclass(frozen=True)
class EncodedSample:
    """A prompt and its completion as one id sequence.

    ``input_ids[:prompt_length]`` are the prompt's ids and ``input_ids[prompt_length:]`` the completion's
    (the appended EOS included, when ``has_eos``); ``completion_offsets[i]`` is the character span in
    ``completion`` of completion token i. ``num_truncated`` completion tokens (EOS included) were cut by
    ``max_length``; then the kept spans cover only ``completion[:covered_chars]``.
    """

    input_ids: list[int]
    prompt_length: int
    completion: str
    completion_offsets: list[tuple[int, int]]
    has_eos: bool
    num_truncated: int = 0

    @property
    def truncated(self) -> bool:
        return self.num_truncated > 0

    @property
    def completion_length(self) -> int:
        """Number of completion tokens kept (the EOS included)."""
        return len(self.input_ids) - self.prompt_length

    @property
    def completion_ids(self) -> list[int]:
        return self.input_ids[self.prompt_length:]

    @property
    def covered_chars(self) -> int:
        """How many leading characters of ``completion`` the kept tokens cover."""
        return self.completion_offsets[-1][1] if self.completion_offsets else 0


def prompt_text(tokenizer, messages: list[dict[str, str]]) -> str:
    """The prompt as the model sees it: the chat template with the generation prompt, or plain text
    (:func:`reasoning_irl.text.messages_to_text`) when the tokenizer has no chat template."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return messages_to_text(messages)


def encode_prompt(tokenizer, prompt: str | list[dict[str, str]]) -> list[int]:
    """Ids of a prompt (messages, or text already formatted): the same ids generation must start from.

    Text is encoded without the tokenizer's automatic special tokens, except that a tokenizer which
    normally prepends its BOS (Llama) gets it when the text does not already start with it (a chat
    template that writes ``<|begin_of_text|>`` itself gets no second one).
    """
    text = prompt if isinstance(prompt, str) else prompt_text(tokenizer, prompt)
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    bos = tokenizer.bos_token_id
    if bos is not None and ids[:1] != [bos] and tokenizer("a", add_special_tokens=True)["input_ids"][:1] == [bos]:
        ids = [bos, *ids]
    return ids


def encode(
    tokenizer,
    prompt: str | list[dict[str, str]],
    completion: str,
    *,
    max_length: int | None = None,
    append_eos: bool = True,
) -> EncodedSample:
    """Prompt ids + completion ids (+ EOS), with each completion token's character span.

    ``append_eos`` adds the tokenizer's EOS after the completion (the model ends its turn with it) unless
    the completion's last token already is EOS. ``max_length`` bounds the whole sequence: the completion
    is cut from the right (EOS first) and the cut is reported in ``num_truncated``; a prompt that leaves
    no room for a single completion token is an error.
    """
    prompt_ids = encode_prompt(tokenizer, prompt)
    if not prompt_ids:
        raise ValueError("the prompt encodes to no tokens; the first completion token would have no context")
    try:
        enc = tokenizer(completion, add_special_tokens=False, return_offsets_mapping=True)
    except NotImplementedError:
        raise TypeError(
            f"{type(tokenizer).__name__} gives no offset mapping; load a fast (tokenizers-backed) tokenizer"
        ) from None
    completion_ids = list(enc["input_ids"])
    offsets = _partition(completion, [tuple(o) for o in enc["offset_mapping"]])
    eos = tokenizer.eos_token_id
    has_eos = bool(completion_ids) and completion_ids[-1] == eos
    if append_eos and not has_eos:
        if eos is None:
            raise ValueError("append_eos=True but the tokenizer has no eos token")
        completion_ids.append(eos)
        offsets.append((len(completion), len(completion)))
        has_eos = True

    num_truncated = 0
    if max_length is not None and len(prompt_ids) + len(completion_ids) > max_length:
        if len(prompt_ids) >= max_length:
            raise ValueError(
                f"the prompt alone has {len(prompt_ids)} tokens and max_length={max_length} leaves no room for "
                f"the completion; raise max_length (model.max_prompt_length) or shorten the prompt"
            )
        keep = max_length - len(prompt_ids)
        num_truncated = len(completion_ids) - keep
        completion_ids, offsets = completion_ids[:keep], offsets[:keep]
        has_eos = False  # the EOS is the first token cut
    return EncodedSample(
        input_ids=prompt_ids + completion_ids,
        prompt_length=len(prompt_ids),
        completion=completion,
        completion_offsets=offsets,
        has_eos=has_eos,
        num_truncated=num_truncated,
    )


def _partition(text: str, raw: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Turn a tokenizer's offset mapping into contiguous spans that join back to ``text``.

    Token i ends where token i+1 starts when the two overlap (several byte tokens of one character share
    its span: the character goes to the last of them); a gap (a space a tokenizer left out of its
    offsets) goes to the following token; the last token ends at the end of the text.
    """
    spans, start = [], 0
    for i, (_, raw_end) in enumerate(raw):
        end = raw_end if i == len(raw) - 1 else min(raw_end, raw[i + 1][0])
        end = max(end, start)
        spans.append((start, end))
        start = end
    if spans:
        spans[-1] = (spans[-1][0], len(text))
    return spans


def token_index_of_char(sample: EncodedSample, char_end: int) -> int | None:
    """Index (among the completion tokens) of the last token covering ``completion[:char_end]``, i.e. the
    token whose span holds character ``char_end - 1`` — where a step ending at ``char_end`` is scored.

    Add ``sample.prompt_length`` for the position in ``input_ids``. None when that character was cut by
    truncation.
    """
    if not 0 < char_end <= len(sample.completion):
        raise ValueError(f"char_end={char_end} is outside the completion (1..{len(sample.completion)})")
    if char_end > sample.covered_chars:
        return None
    ends = [end for _, end in sample.completion_offsets]
    # First token whose span ends at or after char_end; empty spans before it cannot hold the character.
    return bisect.bisect_left(ends, char_end)


def pad_ids(rows: Sequence[Sequence[int]], pad_id: int, padding_side: str = "left", width: int | None = None):
    """Token-id rows as ``(input_ids, attention_mask)`` long tensors of shape (B, width) (default: the
    widest row), each row padded with ``pad_id`` on ``padding_side``; the mask is 1 on the row's tokens."""
    import torch

    if padding_side not in ("left", "right"):
        raise ValueError(f"padding_side={padding_side!r}; use 'left' or 'right'")
    width = max(len(r) for r in rows) if width is None else width
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    for row, ids in enumerate(rows):
        left = width - len(ids) if padding_side == "left" else 0
        input_ids[row, left : left + len(ids)] = torch.tensor(list(ids), dtype=torch.long)
        attention_mask[row, left : left + len(ids)] = 1
    return input_ids, attention_mask


def collate(samples: Sequence[EncodedSample], pad_id: int, padding_side: str = "left") -> dict:
    """Pad encoded samples into a batch of tensors, all of shape (B, T):

    - ``input_ids`` (long), ``attention_mask`` (long, 1 on real tokens),
    - ``completion_mask`` (bool, True on completion tokens, the EOS included),
    - ``position_ids`` (long, 0.. over real tokens, so left padding does not shift positions),

    and ``completion_start`` (B,): the position of each row's first completion token, so completion token
    i of row b sits at ``completion_start[b] + i``. For log-probabilities, the logit at position p predicts
    the token at p + 1: use ``logits[:, :-1]`` against ``input_ids[:, 1:]`` masked by
    ``completion_mask[:, 1:]``.
    """
    import torch

    if padding_side not in ("left", "right"):
        raise ValueError(f"padding_side={padding_side!r}; use 'left' or 'right'")
    if not samples:
        raise ValueError("collate needs at least one sample")
    input_ids, attention_mask = pad_ids([s.input_ids for s in samples], pad_id, padding_side)
    width = input_ids.shape[1]
    completion_mask = torch.zeros((len(samples), width), dtype=torch.bool)
    completion_start = torch.zeros(len(samples), dtype=torch.long)
    for row, sample in enumerate(samples):
        n = len(sample.input_ids)
        left = width - n if padding_side == "left" else 0
        completion_mask[row, left + sample.prompt_length:left + n] = True
        completion_start[row] = left + sample.prompt_length
    position_ids = (attention_mask.cumsum(dim=1) - 1).clamp(min=0)
    return {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "completion_mask": completion_mask,
        "position_ids": position_ids,
        "completion_start": completion_start,
    }
