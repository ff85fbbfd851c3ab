"""Discriminator forms: how the logit and the rewards are made from the reward model's scores.

Notation, for one completion with scored positions p_1 < … < p_K (:mod:`.positions`):

- q_k: the *score* at p_k, a prefix value (``linear``: the head on the hidden state at p_k;
  ``log_ratio``: β·Σ_{s≤p_k} log π_ψ(y_s|…)/π_ref(y_s|…) + b; ``log_prob``: β·Σ_{s≤p_k} log π_ψ(y_s|…) + b).
- g_k = q_k − q_{k−1} with q_0 = 0: the segment's own reward (``log_ratio``: exactly the segment's
  β·log-ratio sum, plus b for the first segment).
- h_k: the potential at p_k (a scalar head on the hidden state), h_0 at the last token before the
  completion, and h_K = 0 (terminal potential fixed at 0) when the completion ended; a completion cut
  before its end (an unfinished rollout, or cut by ``max_length``) keeps h_K: its last state is not
  terminal (``terminal=False``). ``airl`` only.
- log π_k: the policy's log-probability of segment k's tokens, Σ_{t∈seg k} log π_θ(y_t|…), detached.
- T and c: ``discriminator.reward_temperature`` and ``discriminator.reward_clip`` (c = ∞ when off).

**gail** (the reference code's critic; Ho & Ermon 2016): a logistic classifier of prefixes.
  logit_k = q_k (what the loss sees; never clipped).
  Policy reward: r_k = s_k − s_{k−1}, s_k = clip(q_k / T, −c, c), s_0 = 0 — the increment of the
  (tempered, clipped) score, so Σ_k r_k = s_K and no term is counted twice; 0 between scored positions.

**airl** (Fu et al. 2018, "Learning Robust Rewards with Adversarial IRL"): D = e^f / (e^f + π).
  f_k = g_k + γ·h_k − h_{k−1}; logit_k = f_k − log π_k (log π_k detached; never clipped).
  Policy reward: r_k = clip(f_k / T, −c, c), the shaped reward; with γ = 1 the shaping sums to −h_0,
  the same for every completion of a prompt, so it cancels in a group baseline.

Exported for reranking, localisation and calibration (both forms): the unshaped scores q_k — per
scored position, per step, and one per completion (:attr:`RewardConfig.aggregation`) — never clipped.
"""

from __future__ import annotations

import torch

from reasoning_irl.config.reward import FORMS


def increments(scores: torch.Tensor) -> torch.Tensor:
    """g_k = q_k − q_{k−1} with q_0 = 0, for prefix values (K,)."""
    return scores - torch.cat([scores.new_zeros(1), scores[:-1]])


def _clip(values: torch.Tensor, temperature: float, clip: float | None) -> torch.Tensor:
    values = values / temperature
    return values if clip is None else values.clamp(-clip, clip)


class GailForm:
    """logit = q (prefix score); policy reward = increments of clip(q/T). See the module docstring."""

    name = "gail"
    needs_policy_logprobs = False
    needs_potential = False
    #: The score is the discriminator's logit: τ = 0 (σ = ½) is a meaningful unfitted threshold.
    score_is_logit = True

    def sequence_logit(self, logits: torch.Tensor) -> torch.Tensor:
        """One logit for the whole completion: the last prefix's."""
        return logits[-1]

    def logits(self, scores: torch.Tensor, potentials: torch.Tensor | None = None,
               policy_logprobs: torch.Tensor | None = None, *, terminal: bool = True) -> torch.Tensor:
        return scores

    def policy_rewards(self, scores: torch.Tensor, potentials: torch.Tensor | None = None, *,
                       temperature: float = 1.0, clip: float | None = None, terminal: bool = True) -> torch.Tensor:
        return increments(_clip(scores, temperature, clip))


class AirlForm:
    """logit = f − log π with f = g + γ·h(next) − h(prev), h_K = 0; policy reward = clip(f/T)."""

    name = "airl"
    #: The policy's log-probabilities enter the logit, so the policy and the reward model must share a
    #: tokenizer; the potential h is a second head.
    needs_policy_logprobs = True
    needs_potential = True
    #: The score q is no logit (the logit is f − log π; under log_prob q is a running log-likelihood).
    score_is_logit = False

    def sequence_logit(self, logits: torch.Tensor) -> torch.Tensor:
        """One logit for the whole completion: the sum of its segments' (log D/(1−D) of the sequence)."""
        return logits.sum()

    def __init__(self, gamma: float = 1.0) -> None:
        self.gamma = gamma

    def shaped(self, scores: torch.Tensor, potentials: torch.Tensor, *, terminal: bool = True) -> torch.Tensor:
        """f_k (K,) from q (K,) and the potentials (K+1,) = [h_0, h_1, …, h_K]; h_K is replaced by 0
        when ``terminal`` (the completion ended), and kept at a cut that is not an end."""
        if potentials is None or potentials.shape[0] != scores.shape[0] + 1:
            raise ValueError("the airl form needs K+1 potentials [h_0 … h_K] for K scored positions")
        following = potentials[1:]
        if terminal:
            following = torch.cat([potentials[1:-1], potentials.new_zeros(1)])  # terminal potential fixed at 0
        return increments(scores) + self.gamma * following - potentials[:-1]

    def logits(self, scores: torch.Tensor, potentials: torch.Tensor | None = None,
               policy_logprobs: torch.Tensor | None = None, *, terminal: bool = True) -> torch.Tensor:
        if policy_logprobs is None:
            raise ValueError(
                "the airl form needs the policy's log-probabilities of the completion tokens "
                "(policy_logprobs); use discriminator.form=gail to train without them"
            )
        return self.shaped(scores, potentials, terminal=terminal) - policy_logprobs.detach()

    def policy_rewards(self, scores: torch.Tensor, potentials: torch.Tensor | None = None, *,
                       temperature: float = 1.0, clip: float | None = None, terminal: bool = True) -> torch.Tensor:
        return _clip(self.shaped(scores, potentials, terminal=terminal), temperature, clip)


def build_form(name: str, gamma: float = 1.0) -> GailForm | AirlForm:
    """The form called ``name`` (``gail`` or ``airl``)."""
    if name == "gail":
        return GailForm()
    if name == "airl":
        return AirlForm(gamma)
    raise ValueError(f"unknown discriminator form {name!r}; use one of {', '.join(FORMS)}")
