"""The reward model: a causal-LM backbone and a :class:`~.heads.RewardHead`, scoring completion positions.

Two paths share one forward pass:

- :meth:`RewardModel.forward_prepared` (differentiable) returns, per sample, the scores q_t of every
  completion token, the scores at the scored positions and (``airl``) the potentials; the
  discriminator update trains through it.
- :meth:`RewardModel.score` (no gradients, sorted by length, micro-batched) returns
  :class:`ScoredSample` objects for the trainer and evaluation: the scored positions with each token's
  text and character span, their scores (prefix values) and rewards (what the policy receives, per
  :mod:`.forms`), per-step scores, one score per completion with the aggregation named, and whether the
  completion was truncated.

Handling of awkward inputs (each tested):

- an empty completion is scored at its appended EOS (``reward.append_eos``; it has no step); with no
  token at all it is an error;
- a completion without ``<think>``/``<answer>`` tags is scored like any other; its steps are its
  non-empty lines (:func:`reasoning_irl.text.segment_steps`);
- a trace longer than ``max_length`` is cut from the right; ``ScoredSample.truncated`` says so, the
  last kept token is the last scored position, and steps cut off have score None;
- an unfinished completion (``finished=False``: a rollout cut by ``max_new_tokens``) gets no EOS (the
  policy never sampled one, so log π(EOS | cut prefix) is no part of it), its last scored position is
  its last sampled token, ``airl`` keeps the potential there (a cut is not a terminal state) and
  ``ScoredSample.truncated`` is true; the same holds for a trace cut by ``max_length``;
- asking for a granularity other than the one the model was trained with is an error.

A step's score is the score at the first scored position at or after the step's last token (the
token holding its last character): the prefix value once the whole step has been read (exact for
``step`` and ``dense``; the end of the enclosing interval for ``interval``; the final score for
``sparse``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from reasoning_irl.config.reward import RewardConfig
from reasoning_irl.models.encoding import EncodedSample, collate, encode
from reasoning_irl.models.loading import tokenizer_hash
from reasoning_irl.rewards.forms import build_form
from reasoning_irl.rewards.heads import (
    HEAD_ATTRIBUTE,
    LIKELIHOOD_HEADS,
    RewardHead,
    beta_of,
    chunked_token_logprobs,
    likelihood_scores,
)
from reasoning_irl.rewards.positions import covering_position, scored_positions, step_end_tokens
from reasoning_irl.text.format import Span, segment_steps


@dataclass
class Prepared:
    """One encoded (prompt, completion) with its steps and scored positions (completion-token indices)."""

    encoded: EncodedSample
    steps: list[Span]
    positions: list[int]
    #: For each step, the index k of the scored position that closes it (None: cut by truncation).
    step_positions: list[int | None]
    #: Whether the completion ended here (finished and not cut by ``max_length``): ``airl``'s h_K = 0.
    terminal: bool = True


@dataclass
class SampleOutput:
    """Differentiable outputs for one sample: q_t for all T completion tokens, q at the K scored
    positions, the K+1 potentials [h_0, h at each scored position] (``airl``; else None) and, for the
    likelihood heads, log π_ψ of each completion token."""

    token_scores: torch.Tensor
    scores: torch.Tensor
    potentials: torch.Tensor | None
    #: log π_ψ of each completion token (the likelihood heads; else None).
    token_logprobs: torch.Tensor | None = None
    #: log π_ref of each completion token (``log_ratio``; else None), without gradients.
    reference_logprobs: torch.Tensor | None = None


@dataclass
class ScoredPosition:
    token_index: int  # among the completion tokens
    token: str  # the token's text in the completion (the EOS token's string for an appended EOS)
    start: int  # character span in the completion
    end: int
    score: float  # prefix value q at this position
    reward: float  # what the policy receives here (0 at every token that is not scored)


@dataclass
class StepScore:
    index: int
    text: str
    start: int
    end: int
    score: float | None  # None: the step was cut off by truncation
    token_index: int | None  # completion token of the scored position that closes the step


@dataclass
class ScoredSample:
    granularity: str
    positions: list[ScoredPosition]
    steps: list[StepScore]
    sequence_score: float
    aggregation: str
    truncated: bool  # the completion did not end: cut by max_length, or an unfinished rollout
    num_completion_tokens: int

    @property
    def scores(self) -> list[float]:
        return [p.score for p in self.positions]

    @property
    def rewards(self) -> list[float]:
        return [p.reward for p in self.positions]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def aggregate(scores: Sequence[float], aggregation: str) -> float:
    """One score per completion: ``last`` (q_K = Σ rewards), ``mean`` or ``min`` of the scored positions."""
    if aggregation == "last":
        return float(scores[-1])
    if aggregation == "mean":
        return float(sum(scores) / len(scores))
    if aggregation == "min":
        return float(min(scores))
    raise ValueError(f"unknown aggregation {aggregation!r}; use last, mean or min")


class RewardModel(nn.Module):
    """Backbone (+ frozen reference for ``log_ratio``) + head; see the module docstring.

    ``backbone`` is a Hugging Face causal LM (or a peft model wrapping one) that carries the head as
    its ``reward_head`` attribute. ``reference`` is π_ref for ``log_ratio`` with full fine-tuning;
    with LoRA π_ref is the backbone with its adapters disabled and ``reference`` is None.
    """

    def __init__(self, backbone: nn.Module, tokenizer, config: RewardConfig, *, form: str = "gail",
                 gamma: float = 1.0, reference: nn.Module | None = None, max_length: int | None = None) -> None:
        super().__init__()
        self.backbone = backbone
        self.reference = reference
        if reference is not None:
            reference.requires_grad_(False).eval()
        self.tokenizer = tokenizer
        self.config = config
        self.form = build_form(form, gamma)
        self.max_length = max_length
        self.padding_side = "left"
        self.tokenizer_hash = tokenizer_hash(tokenizer)
        self.is_lora = hasattr(backbone, "peft_config")
        #: Where a LoRA model's frozen base is written once and hard-linked from by every save (None: each
        #: save writes it; :mod:`.saving`).
        self.base_store: Path | None = None
        if config.head == "log_ratio" and reference is None and not self.is_lora:
            raise ValueError("a log_ratio reward model needs a frozen reference model (or LoRA adapters to disable)")

    def train(self, mode: bool = True) -> RewardModel:
        """As ``nn.Module.train``, but the frozen reference π_ref always stays in eval mode (no dropout)."""
        super().train(mode)
        if self.reference is not None:
            self.reference.eval()
        return self

    # --- parts --------------------------------------------------------------------------------------
    def base_model(self) -> nn.Module:
        """The Hugging Face model under any peft wrapper (LoRA layers included)."""
        return self.backbone.get_base_model() if self.is_lora else self.backbone

    @property
    def head(self) -> nn.Module:
        """The reward head (a LoRA folder saved before the head left ``modules_to_save``: peft's wrapper)."""
        return getattr(self.base_model(), HEAD_ATTRIBUTE)

    def head_parameters(self) -> list[nn.Parameter]:
        return [p for n, p in self.backbone.named_parameters() if HEAD_ATTRIBUTE in n and p.requires_grad]

    def backbone_parameters(self) -> list[nn.Parameter]:
        return [p for n, p in self.backbone.named_parameters() if HEAD_ATTRIBUTE not in n and p.requires_grad]

    def _decoder(self) -> nn.Module:
        base = self.base_model()
        return base.get_decoder() if hasattr(base, "get_decoder") else base.model

    # --- encoding -----------------------------------------------------------------------------------
    def prepare(self, prompt: Any, completion: str, steps: Sequence[str] | None = None, *,
                finished: bool = True) -> Prepared:
        """Encode one sample; ``finished=False`` (a rollout that did not stop) appends no EOS and marks the
        end as non-terminal (an unfinished *empty* text still gets the EOS: it has no other token to score)."""
        encoded = encode(self.tokenizer, prompt, completion, max_length=self.max_length,
                         append_eos=self.config.append_eos and (finished or not completion))
        spans = segment_steps(completion, steps)
        positions = scored_positions(self.config.granularity, encoded.completion_offsets, spans,
                                     self.config.interval_tokens)
        step_positions = [None if t is None else covering_position(positions, t)
                          for t in step_end_tokens(encoded.completion_offsets, spans)]
        return Prepared(encoded, spans, positions, step_positions, terminal=finished and not encoded.truncated)

    def prepare_all(self, prompts: Sequence[Any], completions: Sequence[str],
                    steps: Sequence[Sequence[str] | None] | None = None,
                    finished: Sequence[bool] | None = None) -> list[Prepared]:
        """:meth:`prepare` of every (prompt, completion), with their optional steps and finished flags."""
        if len(prompts) != len(completions) or (steps is not None and len(steps) != len(completions)) or (
                finished is not None and len(finished) != len(completions)):
            raise ValueError(f"got {len(prompts)} prompts, {len(completions)} completions"
                             f"{'' if steps is None else f', {len(steps)} step lists'}"
                             f"{'' if finished is None else f', {len(finished)} finished flags'}; they must match")
        return [self.prepare(p, c, None if steps is None else steps[i],
                             finished=True if finished is None else bool(finished[i]))
                for i, (p, c) in enumerate(zip(prompts, completions))]

    # --- the differentiable path --------------------------------------------------------------------
    def forward_prepared(self, prepared: Sequence[Prepared],
                         reference_logprobs: Sequence[torch.Tensor] | None = None) -> list[SampleOutput]:
        """Scores of a batch of prepared samples, with gradients (one forward pass of the backbone).

        ``reference_logprobs``: the ``SampleOutput.reference_logprobs`` of an earlier call on the same
        samples (π_ref is frozen), used instead of π_ref's forward pass (``log_ratio``; else ignored)."""
        device = next(self.backbone.parameters()).device
        batch = collate([p.encoded for p in prepared], self.tokenizer.pad_token_id, self.padding_side)
        inputs = {k: batch[k].to(device) for k in ("input_ids", "attention_mask", "position_ids")}
        hidden = self._decoder()(**inputs, use_cache=False).last_hidden_state  # (B, L, H)
        starts = [int(s) for s in batch["completion_start"]]
        lengths = [p.encoded.completion_length for p in prepared]
        trained_all = reference_all = None
        if self.config.head in LIKELIHOOD_HEADS:
            # log π_ψ only at the completion tokens (the state at p−1 predicts token p), chunked: never the
            # full (B, L, V) logits with gradients (heads.chunked_token_logprobs).
            rows = torch.tensor([r for r, n in enumerate(lengths) for _ in range(n)], device=device)
            cols = torch.cat([torch.arange(s, s + n, device=device) for s, n in zip(starts, lengths)])
            targets = inputs["input_ids"][rows, cols]
            lm_head = self.base_model().get_output_embeddings()
            trained_all = chunked_token_logprobs(lm_head, hidden[rows, cols - 1], targets).split(lengths)
            if self.config.head == "log_ratio" and reference_logprobs is not None:
                reference_all = list(reference_logprobs)
            elif self.config.head == "log_ratio":
                with torch.no_grad():
                    reference_all = self._reference_logprobs(inputs, rows, cols - 1, targets).split(lengths)
        outputs = []
        for row, sample in enumerate(prepared):
            start = starts[row]
            index = torch.arange(start, start + sample.encoded.completion_length, device=device)  # (T,)
            trained = None if trained_all is None else trained_all[row]
            reference = None if reference_all is None else reference_all[row]
            outputs.append(self.sample_output(sample, trained, reference, (hidden[row, start - 1], hidden[row, index])))
        return outputs

    def sample_output(self, sample: Prepared, trained_logprobs: torch.Tensor | None,
                      reference_logprobs: torch.Tensor | None,
                      states: tuple[torch.Tensor, torch.Tensor] | None) -> SampleOutput:
        """One sample's scores from its per-token inputs: the single computation that training
        (:meth:`forward_prepared`) and evaluation (:class:`reasoning_irl.eval.scoring.RewardScorer`) share.

        ``trained_logprobs`` / ``reference_logprobs`` (T,): log π_ψ / log π_ref of each completion token
        (likelihood heads; the reference for ``log_ratio`` only); ``states``: the last hidden state before
        the completion (H,) and the hidden states at the T completion tokens (T, H) (the ``linear`` heads,
        and the potentials of ``airl``).
        """
        head = self.head
        if self.config.head in LIKELIHOOD_HEADS:
            token_scores = likelihood_scores(trained_logprobs, reference_logprobs, beta_of(self.config), head("bias"))
        else:
            token_scores = head("score", states[1])
            if self.config.head == "linear_sum":
                token_scores = torch.cumsum(token_scores, dim=0)
        positions = torch.tensor(sample.positions, device=token_scores.device)
        potentials = None
        if self.form.needs_potential:
            before, at = states
            potentials = head("potential", torch.cat([before[None], at[positions]]))  # (K+1,): h_0, then h_k
        return SampleOutput(token_scores, token_scores[positions], potentials, trained_logprobs, reference_logprobs)

    def _reference_logprobs(self, inputs: dict[str, torch.Tensor], rows: torch.Tensor, cols: torch.Tensor,
                            targets: torch.Tensor) -> torch.Tensor:
        """log π_ref of ``targets`` from the states at (rows, cols): the frozen copy, or the adapters disabled."""
        if self.reference is not None:
            model = self.reference
            hidden = model.get_decoder()(**inputs, use_cache=False).last_hidden_state
        else:
            model = self.base_model()
            with self.backbone.disable_adapter():
                hidden = self._decoder()(**inputs, use_cache=False).last_hidden_state
        return chunked_token_logprobs(model.get_output_embeddings(), hidden[rows, cols], targets)

    def save_pretrained(self, directory):
        """Save as a Hugging Face folder + ``reward_config.json`` (:func:`.saving.save_reward_model`)."""
        from reasoning_irl.rewards.saving import save_reward_model

        return save_reward_model(self, directory)

    # --- scoring for the trainer and evaluation ------------------------------------------------------
    def check_granularity(self, granularity: str | None) -> None:
        if granularity is not None and granularity != self.config.granularity:
            raise ValueError(
                f"this reward model was trained with reward.granularity={self.config.granularity!r} and "
                f"cannot score {granularity!r}: its head has only learned those positions; train one with "
                f"reward={granularity} or score with granularity={self.config.granularity!r}"
            )

    @torch.no_grad()
    def score(self, prompts: Sequence[Any], completions: Sequence[str],
              steps: Sequence[Sequence[str] | None] | None = None, *, granularity: str | None = None,
              temperature: float = 1.0, clip: float | None = None,
              micro_batch_size: int | None = None, finished: Sequence[bool] | None = None) -> list[ScoredSample]:
        """Score completions (one prompt each); ``steps[i]`` optional explicit steps of completion i;
        ``finished[i]`` False for a completion that did not end (no EOS appended; default: all ended).

        Rewards follow the model's form with ``temperature`` and ``clip`` (:mod:`.forms`); scores are
        never tempered or clipped.
        """
        self.check_granularity(granularity)
        prepared = self.prepare_all(prompts, completions, steps, finished)
        order = sorted(range(len(prepared)), key=lambda i: len(prepared[i].encoded.input_ids))
        size = micro_batch_size or self.config.micro_batch_size
        results: list[ScoredSample | None] = [None] * len(prepared)
        was_training = self.training
        self.eval()
        try:
            for begin in range(0, len(order), size):
                chunk = order[begin : begin + size]
                for i, out in zip(chunk, self.forward_prepared([prepared[i] for i in chunk])):
                    results[i] = self.scored(prepared[i], out, temperature=temperature, clip=clip)
        finally:
            self.train(was_training)
        return results  # type: ignore[return-value]

    def scored(self, sample: Prepared, output: SampleOutput, *, temperature: float = 1.0,
               clip: float | None = None) -> ScoredSample:
        """The :class:`ScoredSample` of one sample's :meth:`sample_output` (rewards per the form)."""
        rewards = self.form.policy_rewards(output.scores, output.potentials, temperature=temperature, clip=clip,
                                           terminal=sample.terminal)
        return self._scored(sample, output.scores.tolist(), rewards.tolist())

    def _scored(self, sample: Prepared, scores: list[float], rewards: list[float]) -> ScoredSample:
        encoded, text = sample.encoded, sample.encoded.completion
        positions = []
        for k, t in enumerate(sample.positions):
            start, end = encoded.completion_offsets[t]
            token = text[start:end] if end > start else self.tokenizer.convert_ids_to_tokens(encoded.completion_ids[t])
            positions.append(ScoredPosition(t, token, start, end, scores[k], rewards[k]))
        steps = [
            StepScore(i, span.text, span.start, span.end, None if k is None else scores[k],
                      None if k is None else sample.positions[k])
            for i, (span, k) in enumerate(zip(sample.steps, sample.step_positions))
        ]
        return ScoredSample(self.config.granularity, positions, steps, aggregate(scores, self.config.aggregation),
                            self.config.aggregation, not sample.terminal, encoded.completion_length)


def attach_head(model: nn.Module, config: RewardConfig, potential: bool) -> RewardHead:
    """Create the head for ``config`` (in float32) and attach it to a Hugging Face model as ``reward_head``."""
    head = RewardHead(config.head, model.config.hidden_size, potential=potential, init_std=config.head_init_std)
    # float32 whatever the backbone's dtype: in bf16 a small update is rounded away (0.02 + 1e-5 == 0.02)
    head.to(device=model.device, dtype=torch.float32)
    setattr(model, HEAD_ATTRIBUTE, head)
    return head
