"""AIRL's data order and seeds: pure functions of (seed, step), so a resumed run draws what the original did."""

from __future__ import annotations

import torch

from reasoning_irl.tasks.base import stable_hash


def step_seed(seed: int, step: int, purpose: str) -> int:
    return stable_hash(f"{seed}:{purpose}:{step}") % (2**31)


def batch_indices(num_records: int, batch_size: int, step: int, seed: int) -> list[int]:
    """Indices of step ``step``'s prompts: consecutive slices of a per-epoch permutation of the train set."""
    out, permutations = [], {}
    for k in range((step - 1) * batch_size, step * batch_size):
        epoch, position = divmod(k, num_records)
        if epoch not in permutations:
            generator = torch.Generator().manual_seed(step_seed(seed, epoch, "epoch"))
            permutations[epoch] = torch.randperm(num_records, generator=generator).tolist()
        out.append(permutations[epoch][position])
    return out
