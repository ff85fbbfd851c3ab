"""From per-position rewards to per-token advantages (``algo.advantage``).

Inputs are laid out per completion token: ``rewards`` ``(N, T)`` with ``N = B × G`` completions,
prompt-major (completion ``i`` belongs to group ``i // G``); ``completion_mask`` ``(N, T)`` marks real
tokens; ``scored_mask`` ``(N, T)`` marks the positions where the reward model put a reward (docs/METHOD.md
§6: the *reward* r_{i,t} at a scored position is the increment of the score since the previous
scored position; tokens between scored positions carry 0). Granularities map to scored positions:
sparse = the last token, step = each step's last token, interval = every n-th token and the last,
dense = every token.

Notation: R_i = Σ_t r_{i,t} (the completion's return; for ``log_ratio`` rewards it telescopes to the
final score); g(i) the group of i; ε = 1e-4; std is the unbiased standard deviation, taken as 0 for
a single value. With ``algo.scale_rewards=false`` nothing is divided by a standard deviation.

- ``group`` (GRPO; Shao et al. 2024):  A_{i,t} = (R_i − mean_{g(i)} R) / (std_{g(i)} R + ε), the same
  value on every token of completion i.
- ``rloo`` (leave-one-out; Ahmadian et al. 2024):  A_{i,t} = R_i − (1/(G−1)) Σ_{j∈g(i), j≠i} R_j
  (divided by std_{g(i)} R + ε when scaling).
- ``discounted`` (token-level reward-to-go):  the group's mean return is spread evenly over each
  completion's K_i scored positions and taken off its rewards there:
      r̃_{i,k} = (r_{i,k} − mean_{g(i)} R / K_i) / (std_{g(i)} R + ε)   at scored k,   0 elsewhere.
  Then A_{i,t} = Σ_{k ≥ t} γ^{k−t} r̃_{i,k}. With γ = 1 the first token gets exactly ``group``'s
  advantage whatever the granularity (and every token does with a sparse reward); with step or dense
  rewards a token is credited only with the rewards at and after it. (Centring every position on the
  pooled per-position mean μ instead gives completion i the baseline K_i·μ, which grows with its
  length: with negative per-token rewards it credited longer completions for being long.)
- ``segment``:  a *segment* is the tokens a reward increment covers — from after the previous scored
  position up to and including the next one (tokens after the last scored position join the last
  segment). Every token of a segment gets its segment's normalised reward r̃ (as above, pooled over
  the group's segments). Step rewards → one value per reasoning step; sparse → ``group``.
- ``average_dense`` (the reference code's advantage of all its main runs, docs/METHOD.md §6): every
  completion token t takes the clipped score of the first scored position at or after it,
  v_{i,t} = Σ_{s ≤ p(t)} r_{i,s} with p(t) = min{k scored : k ≥ t} (our rewards are the increments of
  the clipped score, so the running sum is the clipped score itself: own value for dense, the window's
  for interval, the step's for step, the scalar for sparse); the sequence reward is their mean over
  the completion's tokens, R̄_i = (1/|y_i|) Σ_t v_{i,t}, and A_{i,t} = (R̄_i − mean_{g(i)} R̄) /
  (std_{g(i)} R̄ + ε) on every token. Sparse rewards give exactly ``group``; for the other
  granularities it is a length-weighted mean of the prefix scores — no token-level credit.

Outcome (verifiable) rewards, when ``algo.use_outcome_rewards``: o_i is group-normalised like
``group`` and added to every token, A_{i,t} += w · (o_i − mean o) / (std o + ε), w = ``algo.outcome_weight``.
All-equal rewards within a group give zero advantages, never NaN.
"""

from __future__ import annotations

import torch

from reasoning_irl.config.algo import ADVANTAGES, AlgoConfig

EPS = 1e-4


def _std(values: torch.Tensor, mask: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """Unbiased std of ``values`` over ``mask`` along the last dim (0 where fewer than two values)."""
    count = mask.sum(-1)
    squares = (((values - mean[..., None]) * mask) ** 2).sum(-1)
    return torch.where(count > 1, squares / (count - 1).clamp(min=1), torch.zeros_like(squares)).sqrt()


def _returns(rewards: torch.Tensor, completion_mask: torch.Tensor, group_size: int) -> torch.Tensor:
    """``(N, T)`` → ``(B, G)``: R_i = Σ_t r_{i,t}."""
    return (rewards * completion_mask).sum(-1).view(-1, group_size)


def group_normalise(values: torch.Tensor, group_size: int, scale: bool) -> torch.Tensor:
    """``(N,)`` → ``(N,)``: (x − mean_group) / (std_group + ε), or only centred when not ``scale``."""
    grouped = values.view(-1, group_size)  # (B, G)
    mean = grouped.mean(-1)  # (B,)
    centred = grouped - mean[:, None]
    if scale:
        centred = centred / (_std(grouped, torch.ones_like(grouped), mean)[:, None] + EPS)
    return centred.reshape(-1)


def group_advantages(
    rewards: torch.Tensor, completion_mask: torch.Tensor, group_size: int, scale: bool = True
) -> torch.Tensor:
    """GRPO: one group-normalised return per completion, broadcast to its tokens. ``(N, T)``."""
    returns = _returns(rewards, completion_mask, group_size).reshape(-1)  # (N,)
    return group_normalise(returns, group_size, scale)[:, None] * completion_mask


def rloo_advantages(
    rewards: torch.Tensor, completion_mask: torch.Tensor, group_size: int, scale: bool = False
) -> torch.Tensor:
    """Leave-one-out: R_i minus the mean return of the other G − 1 completions. ``(N, T)``."""
    if group_size < 2:
        raise ValueError("algo.advantage=rloo needs sampling.num_generations >= 2 (a baseline from the others)")
    returns = _returns(rewards, completion_mask, group_size)  # (B, G)
    baseline = (returns.sum(-1, keepdim=True) - returns) / (group_size - 1)  # (B, G)
    advantages = returns - baseline
    if scale:
        mean = returns.mean(-1)
        advantages = advantages / (_std(returns, torch.ones_like(returns), mean)[:, None] + EPS)
    return advantages.reshape(-1)[:, None] * completion_mask


def normalised_rewards(
    rewards: torch.Tensor, scored_mask: torch.Tensor, group_size: int, scale: bool = True
) -> torch.Tensor:
    """r̃: rewards normalised over all scored positions of their group (pooled), 0 elsewhere. ``(N, T)``."""
    n, t = rewards.shape
    scored = scored_mask.to(rewards.dtype)
    grouped = (rewards * scored).view(-1, group_size * t)  # (B, G·T)
    grouped_mask = scored.view(-1, group_size * t)
    mean = grouped.sum(-1) / grouped_mask.sum(-1).clamp(min=1)  # (B,)
    centred = (grouped - mean[:, None]) * grouped_mask
    if scale:
        centred = centred / (_std(grouped, grouped_mask, mean)[:, None] + EPS)
    return centred.view(n, t)


def discounted_advantages(
    rewards: torch.Tensor,
    completion_mask: torch.Tensor,
    scored_mask: torch.Tensor,
    group_size: int,
    gamma: float,
    scale: bool = True,
) -> torch.Tensor:
    """Token-level reward-to-go A_t = Σ_{k≥t} γ^{k−t} r̃_k of rewards less the group's mean return spread
    over each completion's scored positions (see the module docstring). ``(N, T)``."""
    scored = scored_mask.to(rewards.dtype) * completion_mask
    counts = scored.sum(-1)  # (N,) K_i
    returns = (rewards * scored).sum(-1).view(-1, group_size)  # (B, G)
    mean = returns.mean(-1)  # (B,)
    share = mean.repeat_interleave(group_size) / counts.clamp(min=1)  # (N,) mean return / K_i
    normalised = (rewards - share[:, None]) * scored
    if scale:
        normalised = normalised / (
            _std(returns, torch.ones_like(returns), mean) + EPS
        ).repeat_interleave(group_size)[:, None]
    advantages = torch.zeros_like(normalised)
    running = torch.zeros_like(normalised[:, 0])  # (N,)
    for t in range(normalised.shape[1] - 1, -1, -1):
        running = normalised[:, t] + gamma * running
        advantages[:, t] = running
    return advantages * completion_mask


def segment_advantages(
    rewards: torch.Tensor,
    completion_mask: torch.Tensor,
    scored_mask: torch.Tensor,
    group_size: int,
    scale: bool = True,
) -> torch.Tensor:
    """Each token gets the normalised reward of the segment it belongs to. ``(N, T)``."""
    normalised = normalised_rewards(rewards, scored_mask, group_size, scale)  # (N, T)
    scored = scored_mask.long()
    counts = scored.sum(-1, keepdim=True)  # (N, 1) segments per completion
    if int(counts.max()) == 0:
        return torch.zeros_like(normalised)
    closing = scored.cumsum(-1)  # (N, T): scored positions at or before t
    segment = torch.minimum(closing - scored, (counts - 1).clamp(min=0))  # (N, T) segment index of t
    values = torch.zeros(rewards.shape[0], int(counts.max()), dtype=normalised.dtype)  # (N, S)
    rows, cols = scored_mask.bool().nonzero(as_tuple=True)
    values[rows, closing[rows, cols] - 1] = normalised[rows, cols]
    return values.gather(1, segment) * completion_mask * (counts > 0)


def average_dense_returns(
    rewards: torch.Tensor, completion_mask: torch.Tensor, scored_mask: torch.Tensor
) -> torch.Tensor:
    """``(N, T)`` → ``(N,)``: the mean over completion tokens of the backfilled clipped score (``average_dense``)."""
    running = (rewards * completion_mask).cumsum(-1)  # (N, T): the clipped score at each scored position
    scored = scored_mask.bool() & completion_mask.bool()
    backfilled = torch.empty_like(running)
    following = running[:, -1]  # tokens after the last scored position keep the final score
    for t in range(running.shape[1] - 1, -1, -1):
        following = torch.where(scored[:, t], running[:, t], following)
        backfilled[:, t] = following
    return (backfilled * completion_mask).sum(-1) / completion_mask.sum(-1).clamp(min=1)


def average_dense_advantages(
    rewards: torch.Tensor, completion_mask: torch.Tensor, scored_mask: torch.Tensor, group_size: int,
    scale: bool = True,
) -> torch.Tensor:
    """The reference's ``average_dense``: the group-normalised mean backfilled score, on every token. ``(N, T)``."""
    means = average_dense_returns(rewards, completion_mask, scored_mask)  # (N,)
    return group_normalise(means, group_size, scale)[:, None] * completion_mask


def compute_advantages(
    rewards: torch.Tensor,
    completion_mask: torch.Tensor,
    scored_mask: torch.Tensor,
    algo: AlgoConfig,
    group_size: int,
    outcome_rewards: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per-token advantages ``(N, T)`` for ``algo.advantage`` (see the module docstring for formulas).

    Args:
        rewards: ``(N, T)`` per-position rewards (score increments), 0 off scored positions.
        completion_mask: ``(N, T)`` 1 on completion tokens.
        scored_mask: ``(N, T)`` 1 where the reward model placed a reward.
        algo: advantage type, ``gamma``, ``scale_rewards``, outcome mixing.
        group_size: G, completions per prompt; ``N`` must be a multiple of it.
        outcome_rewards: ``(N,)`` verifiable rewards, used only when ``algo.use_outcome_rewards``.
    """
    if rewards.shape != completion_mask.shape or rewards.shape != scored_mask.shape:
        raise ValueError(
            f"rewards {tuple(rewards.shape)}, completion_mask {tuple(completion_mask.shape)} and scored_mask "
            f"{tuple(scored_mask.shape)} must have the same (N, T) shape"
        )
    if rewards.shape[0] % group_size:
        raise ValueError(f"{rewards.shape[0]} completions do not split into groups of {group_size}")
    rewards = rewards.float()
    mask = completion_mask.float()
    if algo.advantage == "group":
        advantages = group_advantages(rewards, mask, group_size, algo.scale_rewards)
    elif algo.advantage == "rloo":
        advantages = rloo_advantages(rewards, mask, group_size, algo.scale_rewards)
    elif algo.advantage == "discounted":
        advantages = discounted_advantages(rewards, mask, scored_mask, group_size, algo.gamma, algo.scale_rewards)
    elif algo.advantage == "segment":
        advantages = segment_advantages(rewards, mask, scored_mask, group_size, algo.scale_rewards)
    elif algo.advantage == "average_dense":
        advantages = average_dense_advantages(rewards, mask, scored_mask, group_size, algo.scale_rewards)
    else:
        raise ValueError(f"algo.advantage={algo.advantage!r} is not supported; use one of {', '.join(ADVANTAGES)}")
    if algo.use_outcome_rewards:
        if outcome_rewards is None:
            raise ValueError("algo.use_outcome_rewards=true but no outcome rewards were given")
        outcome = group_normalise(outcome_rewards.float(), group_size, algo.scale_rewards)  # (N,)
        advantages = advantages + algo.outcome_weight * outcome[:, None] * mask
    return advantages
