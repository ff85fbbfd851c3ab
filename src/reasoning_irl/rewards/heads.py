"""Reward heads: the parameters a reward model adds to its backbone, and the two score formulas.

For completion tokens y_1 … y_T (prompt tokens never enter a score):

- ``linear``: q_t = w·x_t + c, x_t the backbone's last hidden state at token t (it has seen y_≤t).
- ``linear_sum``: q_t = Σ_{s≤t} (w·x_s + c): the head gives a reward per token and the score sums
  them, so a local error stays in every later prefix value (as with ``log_ratio``), where ``linear``
  must carry it forward in the hidden state.
- ``log_ratio`` (PRIME; Yuan et al. 2024, "Free process rewards without process labels"):
  q_t = β·Σ_{s≤t} [log π_ψ(y_s | x, y_<s) − log π_ref(y_s | x, y_<s)] + b,
  π_ψ the trainable backbone, π_ref its frozen copy at initialisation (both from the policy's warm
  start), b a learned scalar. The increment between two positions is exactly β times the segment's
  log-ratio sum; b sits in the first segment (q_0 = 0 before the completion).
- ``log_prob``: q_t = β·Σ_{s≤t} log π_ψ(y_s | x, y_<s) + b, π_ψ the trainable backbone (from the
  policy's warm start) and no reference. AIRL's reward recovers the expert's log-policy (Fu et al. 2018:
  f* = log π_E, up to shaping), which this head parameterises directly: with the ``airl`` form and
  β = 1 the discriminator D = π_ψ / (π_ψ + π_θ) is ½ everywhere at initialisation. At step 0 the score
  is the policy's own log-probability, so what training adds is measured against that baseline; and
  while π_ψ stays close to the policy, rewarding the policy with it mostly lowers the policy's entropy.
- ``potential`` (``airl`` only): h_t = u·x_t + d, AIRL's shaping potential; x_0 is the hidden state of
  the last token before the completion. Zero-initialised, so training starts without shaping.

:class:`RewardHead` holds these parameters in one module that is attached to the backbone as
``reward_head``; with LoRA it stays trainable outside the adapter and is saved in its own file
(:mod:`.saving`). It is called through ``forward(part, hidden)`` only, so that a reward model saved
with the head in peft's ``modules_to_save`` (older folders) routes ``forward`` to the trained copy.
Its parameters are float32 even under a bf16 backbone (a bf16 head stops moving at small learning
rates); ``forward`` casts the backbone's hidden states to the head's dtype.
"""

from __future__ import annotations

import torch
from torch import nn

from reasoning_irl.config.reward import HEADS

#: Heads whose score is a sum of π_ψ's token log-probabilities (they need the backbone's logits).
LIKELIHOOD_HEADS = ("log_ratio", "log_prob")
HEAD_ATTRIBUTE = "reward_head"


#: ``reward.beta`` when it is null, per head (the ``linear`` heads do not read it).
DEFAULT_BETA = {"linear": 0.5, "linear_sum": 0.5, "log_ratio": 0.5, "log_prob": 1.0}


def beta_of(config) -> float:
    """β of a :class:`~reasoning_irl.config.reward.RewardConfig`: ``reward.beta``, or its head's default
    when null (resolved here, on use: Hydra builds the config's defaults before it applies a
    ``reward.head=…`` override, so a default resolved at construction would be the default head's)."""
    return DEFAULT_BETA[config.head] if config.beta is None else config.beta


class RewardHead(nn.Module):
    """Scalar head (``linear``, ``linear_sum``) or bias b (``log_ratio``, ``log_prob``), plus an optional
    AIRL potential."""

    def __init__(self, head: str, hidden_size: int, potential: bool = False, init_std: float = 0.0) -> None:
        super().__init__()
        if head not in HEADS:
            raise ValueError(f"unknown reward head {head!r}; use one of {', '.join(HEADS)}")
        self.head = head
        if head in ("linear", "linear_sum"):
            self.score = nn.Linear(hidden_size, 1)
            nn.init.normal_(self.score.weight, std=init_std) if init_std > 0 else nn.init.zeros_(self.score.weight)
            nn.init.zeros_(self.score.bias)
        else:
            self.bias = nn.Parameter(torch.zeros(()))
        self.potential = nn.Linear(hidden_size, 1) if potential else None
        if self.potential is not None:
            nn.init.zeros_(self.potential.weight)
            nn.init.zeros_(self.potential.bias)

    def forward(self, part: str, hidden: torch.Tensor | None = None) -> torch.Tensor:
        """``score``: (…, H) → (…) linear scores; ``potential``: (…, H) → (…); ``bias``: b, a scalar."""
        if part == "score":
            return self.score(hidden.to(self.score.weight.dtype)).squeeze(-1)
        if part == "potential":
            if self.potential is None:
                raise ValueError("this reward head has no potential; build it with form='airl'")
            return self.potential(hidden.to(self.potential.weight.dtype)).squeeze(-1)
        if part == "bias":
            return self.bias
        raise ValueError(f"unknown head part {part!r}")


def token_logprobs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """log softmax(logits)[target] per row: logits (T, V) predicting targets (T,) → (T,)."""
    logits = logits.float()
    return logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(logits, dim=-1)


#: Rows of hidden states turned into logits at a time by :func:`chunked_token_logprobs`.
LOGPROB_CHUNK = 1024


def chunked_token_logprobs(output_head: nn.Module, hidden: torch.Tensor, targets: torch.Tensor,
                           chunk_size: int = LOGPROB_CHUNK) -> torch.Tensor:
    """log π(target | hidden state) for N rows: ``output_head`` (the LM head) on ``hidden`` (N, H) → (N,).

    Only the given rows (completion positions) get logits, ``chunk_size`` rows at a time; with gradients
    each chunk runs under non-reentrant activation checkpointing, so its (chunk, V) logits are recomputed
    in the backward pass instead of kept: at a 151,936-token vocabulary the full (B, L, V) float logits
    of a micro-batch of 16 × 1,124 tokens would be ~11 GB, one chunk of 1,024 rows is ~0.6 GB.
    """
    from torch.utils.checkpoint import checkpoint

    def part(rows: torch.Tensor, wanted: torch.Tensor) -> torch.Tensor:
        return token_logprobs(output_head(rows), wanted)

    if hidden.shape[0] == 0:
        return hidden.new_zeros(0, dtype=torch.float32)
    outs = []
    for begin in range(0, hidden.shape[0], chunk_size):
        rows, wanted = hidden[begin : begin + chunk_size], targets[begin : begin + chunk_size]
        outs.append(checkpoint(part, rows, wanted, use_reentrant=False) if torch.is_grad_enabled()
                    else part(rows, wanted))
    return torch.cat(outs)


def likelihood_scores(
    trained_logprobs: torch.Tensor, reference_logprobs: torch.Tensor | None, beta: float, bias: torch.Tensor
) -> torch.Tensor:
    """q_t = β·cumsum_t(log π_ψ − log π_ref) + b over one completion's tokens: (T,) → (T,).

    ``reference_logprobs`` None (the ``log_prob`` head): q_t = β·cumsum_t(log π_ψ) + b."""
    values = trained_logprobs if reference_logprobs is None else trained_logprobs - reference_logprobs.detach()
    return beta * torch.cumsum(values, dim=0) + bias
