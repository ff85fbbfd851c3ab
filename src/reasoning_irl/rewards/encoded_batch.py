"""One discriminator step's batch, encoded once: what the K optimiser steps of an update share.

:meth:`reasoning_irl.rewards.discriminator.Discriminator.encode_batch` builds it; without a replay
buffer the K steps of one update train on the same samples, so their encoding, labels and the
policy's log-probs (π_θ does not change during an update) are computed once, and so are π_ref's
log-probs of the ``log_ratio`` head (π_ref is frozen) after the first step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from reasoning_irl.rewards.labels import DiscriminatorSample
from reasoning_irl.rewards.reward_model import Prepared


@dataclass
class EncodedBatch:
    """The samples of one step, length-sorted, with what :meth:`Discriminator._step` needs of each: the
    prepared encoding, the policy's token log-probs (``airl``; else None) and the position labels."""

    samples: list[DiscriminatorSample]
    prepared: list[Prepared]
    logprobs: list[torch.Tensor | None]
    labelled: list[tuple[list[int], list[float], list[float]]]
    #: ``log_ratio``: log π_ref of each micro-batch's samples (by its first index) from the first step on
    #: the batch; π_ref is frozen, so the later steps skip its forward pass.
    reference: dict[int, list[torch.Tensor]] = field(default_factory=dict)
