"""Fast scoring for evaluation: policy log-probs/entropies and reward scores with a shared prompt prefix.

Both scorers take a list of (prompt, completion) samples, encode them with
:func:`reasoning_irl.models.encode` (the one place that says which tokens are the completion), sort them
by length and cut them into micro-batches of ``batch_size`` sequences. Inside a micro-batch the
*distinct* prompts are run once (left-padded, ``use_cache=True``); their key/value cache is then gathered
for every sample and only the completions (right-padded) are run on top of it. With n samples per prompt
this computes each prompt once instead of n times. Numbers equal the plain full-sequence forward pass up
to float round-off (tests compare both with :meth:`RewardModel.score`).

Memory: the vocabulary projection is applied only at completion positions, and only one micro-batch is
alive at a time; the caller streams problems, so memory does not grow with the input file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import torch

from reasoning_irl.models.encoding import encode, pad_ids
from reasoning_irl.rewards.heads import LIKELIHOOD_HEADS
from reasoning_irl.rewards.reward_model import Prepared, RewardModel, ScoredSample


@dataclass
class PolicyScores:
    logprobs: list[float]  # log π(y_t | prefix) per completion token (the EOS included when appended)
    entropies: list[float]  # entropy of π(· | prefix) at each completion token
    offsets: list[tuple[int, int]]  # character span of each completion token
    truncated: bool


def _decoder(model: torch.nn.Module) -> torch.nn.Module:
    base = model.get_base_model() if hasattr(model, "peft_config") else model
    return base.get_decoder() if hasattr(base, "get_decoder") else base.model


def _order(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def prefix_forward(
    decoder: torch.nn.Module,
    prompts: Sequence[Sequence[int]],
    completions: Sequence[Sequence[int]],
    pad_id: int,
    context: Callable[[], Any] = nullcontext,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Last hidden states predicting each completion token, and at each completion token.

    Returns ``(before, at)`` of shape (B, C, H): ``before[b, i]`` is the hidden state whose logits predict
    completion token i (the prompt's last state for i = 0), ``at[b, i]`` the state at token i itself.
    Distinct prompts run once; their cache is gathered per sample.
    """
    device = next(decoder.parameters()).device
    unique: dict[tuple[int, ...], int] = {}
    owner = [unique.setdefault(tuple(p), len(unique)) for p in prompts]
    distinct = list(unique)
    ids, mask = pad_ids(distinct, pad_id)  # prompts left-padded: each ends where its completion starts
    ids, mask = ids.to(device), mask.to(device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    with context():
        out = decoder(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True)
    cache = out.past_key_values
    index = torch.tensor(owner, device=device)
    cache.batch_select_indices(index)
    last = out.last_hidden_state[:, -1][index]  # (B, H)
    width_c = max(1, max(len(c) for c in completions))
    c_ids, c_mask = pad_ids(completions, pad_id, "right", width=width_c)
    c_ids, c_mask = c_ids.to(device), c_mask.to(device)
    prompt_lengths = torch.tensor([len(distinct[o]) for o in owner], device=device)
    c_positions = prompt_lengths[:, None] + torch.arange(width_c, device=device)[None, :]
    full_mask = torch.cat([mask[index], c_mask], dim=1)
    with context():
        at = decoder(
            input_ids=c_ids,
            attention_mask=full_mask,
            position_ids=c_positions,
            past_key_values=cache,
            use_cache=True,
        ).last_hidden_state  # (B, C, H)
    before = torch.cat([last[:, None], at[:, :-1]], dim=1)
    return before, at


def _logprobs_entropy(
    head: torch.nn.Module, states: torch.Tensor, targets: torch.Tensor, entropy: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    logits = head(states).float()  # (N, V)
    logp = logits.log_softmax(-1)
    chosen = logp.gather(-1, targets[:, None]).squeeze(-1)
    ent = -(logp.exp() * logp).sum(-1) if entropy else None
    return chosen, ent


class PolicyScorer:
    """Teacher-forced log π(y_t | prompt, y_<t) and the entropy of π at every completion token."""

    def __init__(
        self, model: torch.nn.Module, tokenizer, *, batch_size: int = 64, max_length: int | None = None
    ):
        self.model, self.tokenizer = model, tokenizer
        self.batch_size, self.max_length = batch_size, max_length
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    @torch.no_grad()
    def score(
        self, prompts: Sequence[Any], completions: Sequence[str], append_eos: Sequence[bool] | bool = True
    ) -> list[PolicyScores]:
        eos = [append_eos] * len(completions) if isinstance(append_eos, bool) else list(append_eos)
        encoded = [
            encode(self.tokenizer, p, c, max_length=self.max_length, append_eos=e)
            for p, c, e in zip(prompts, completions, eos)
        ]
        results: list[PolicyScores | None] = [None] * len(encoded)
        was_training = self.model.training
        self.model.eval()
        decoder, head = _decoder(self.model), self.model.get_output_embeddings()
        try:
            for chunk in _order([len(e.input_ids) for e in encoded], self.batch_size):
                items = [encoded[i] for i in chunk]
                before, _ = prefix_forward(
                    decoder,
                    [e.input_ids[: e.prompt_length] for e in items],
                    [e.completion_ids for e in items],
                    self.pad_id,
                )
                for row, (i, e) in enumerate(zip(chunk, items)):
                    n = e.completion_length
                    if n == 0:
                        results[i] = PolicyScores([], [], [], e.truncated)
                        continue
                    targets = torch.tensor(e.completion_ids, device=before.device)
                    lp, ent = _logprobs_entropy(head, before[row, :n], targets, entropy=True)
                    results[i] = PolicyScores(
                        lp.tolist(), ent.tolist(), list(e.completion_offsets), e.truncated
                    )
        finally:
            self.model.train(was_training)
        for i, r in enumerate(results):
            if r is not None and any(x != x for x in r.logprobs):
                raise FloatingPointError(
                    f"policy log-probabilities of sample {i} contain NaN; check the policy weights"
                )
        return results  # type: ignore[return-value]


class RewardScorer:
    """:meth:`RewardModel.score` with the prompt prefix computed once per distinct prompt and micro-batch."""

    def __init__(self, reward_model: RewardModel, *, batch_size: int = 64) -> None:
        self.rm, self.batch_size = reward_model, batch_size
        tok = reward_model.tokenizer
        self.pad_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id

    def _states(self, model: torch.nn.Module, items: Sequence[Prepared], context=nullcontext):
        return prefix_forward(
            _decoder(model),
            [p.encoded.input_ids[: p.encoded.prompt_length] for p in items],
            [p.encoded.completion_ids for p in items],
            self.pad_id,
            context,
        )

    @torch.no_grad()
    def score(
        self,
        prompts: Sequence[Any],
        completions: Sequence[str],
        steps: Sequence[Sequence[str] | None] | None = None,
        *,
        return_offsets: bool = False,
        finished: Sequence[bool] | None = None,
    ):
        """ScoredSample per completion (and, with ``return_offsets``, each one's completion-token spans).

        ``finished[i]`` False: completion i did not end (an unfinished rollout): no EOS, no terminal
        potential, as :meth:`RewardModel.score`.
        """
        rm = self.rm
        prepared = rm.prepare_all(prompts, completions, steps, finished)
        results: list[ScoredSample | None] = [None] * len(prepared)
        was_training = rm.training
        rm.eval()
        config = rm.config
        likelihood = config.head in LIKELIHOOD_HEADS
        lm_head = rm.base_model().get_output_embeddings() if likelihood else None
        try:
            for chunk in _order([len(p.encoded.input_ids) for p in prepared], self.batch_size):
                items = [prepared[i] for i in chunk]
                before, at = self._states(rm.backbone, items)
                if config.head == "log_ratio":
                    if rm.reference is not None:
                        ref_before, _ = self._states(rm.reference, items)
                    else:
                        ref_before, _ = self._states(rm.backbone, items, rm.backbone.disable_adapter)
                    ref_head = rm.reference.get_output_embeddings() if rm.reference is not None else lm_head
                for row, (i, p) in enumerate(zip(chunk, items)):
                    n = p.encoded.completion_length
                    trained = reference = None
                    if likelihood:
                        targets = torch.tensor(p.encoded.completion_ids, device=before.device)
                        trained, _ = _logprobs_entropy(lm_head, before[row, :n], targets, entropy=False)
                        if config.head == "log_ratio" and rm.reference is None:
                            with rm.backbone.disable_adapter():
                                reference, _ = _logprobs_entropy(lm_head, ref_before[row, :n], targets, False)
                        elif config.head == "log_ratio":
                            reference, _ = _logprobs_entropy(ref_head, ref_before[row, :n], targets, False)
                    # The training path's own computation (RewardModel.sample_output) on these states.
                    out = rm.sample_output(p, trained, reference, (before[row, 0], at[row, :n]))
                    if not torch.isfinite(out.scores).all():
                        raise FloatingPointError(f"the reward model gave a non-finite score for sample {i}")
                    results[i] = rm.scored(p, out)
        finally:
            rm.train(was_training)
        if return_offsets:
            return results, [list(p.encoded.completion_offsets) for p in prepared]
        return results


def aggregates(scored: ScoredSample, discount: float) -> dict[str, float]:
    """The four reward aggregations of a scored sample (see report.SELECTORS)."""
    q = scored.scores
    step_scores = [s.score for s in scored.steps if s.score is not None]
    weights = [discount ** (len(q) - 1 - k) for k in range(len(q))]
    return {
        "last": float(q[-1]),
        "mean": float(sum(q) / len(q)),
        "min_step": float(min(step_scores) if step_scores else min(q)),
        "discounted": float(sum(w * v for w, v in zip(weights, q)) / sum(weights)),
    }
