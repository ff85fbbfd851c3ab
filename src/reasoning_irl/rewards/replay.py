"""A replay buffer of discriminator samples: two FIFO queues (positives, negatives), uniform draws.

Each discriminator update draws ``replay_batch_size`` sequences per class uniformly (without replacement
inside one draw) from everything still in the queues; the current batch is pushed first, so it is always
eligible. Capacity counts sequences per class (the reference's
``buffer_size × batch × grad_accum`` = 50 × 16 × 8 = 6,400, docs/METHOD.md §5); a push larger than the
capacity is refused, because the FIFO would silently keep only its last items — with rollouts pushed
prompt-major, the negatives of the last few prompts of the step. Samples are kept as text
(:class:`~.labels.DiscriminatorSample`), not tensors: the current reward model re-encodes and re-scores
them, and the policy log-probs stored with an ``airl`` sample are those of the policy that generated it.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterable
from typing import Generic, TypeVar

T = TypeVar("T")


def check_capacity(capacity: int, count: int, name: str = "negatives") -> None:
    """Refuse a buffer (``capacity`` > 0) that cannot hold ``count`` sequences of one step's ``name``."""
    if 0 < capacity < count:
        raise ValueError(
            f"discriminator.replay_buffer_size={capacity} sequences per class cannot hold one step's {count} "
            f"{name}: the oldest of them would never reach the critic; raise it to at least {count} "
            "(the reference held 50 × 16 × 8 = 6400) or set 0 for no buffer"
        )


class ReplayBuffer(Generic[T]):
    """FIFO buffers of positives and negatives with at most ``capacity`` items each."""

    def __init__(self, capacity: int, seed: int = 0) -> None:
        if capacity <= 0:
            raise ValueError(f"replay buffer capacity must be positive, got {capacity}")
        self.capacity = capacity
        self.positives: deque[T] = deque(maxlen=capacity)
        self.negatives: deque[T] = deque(maxlen=capacity)
        self._rng = random.Random(seed)

    def push(self, positives: Iterable[T], negatives: Iterable[T]) -> None:
        positives, negatives = list(positives), list(negatives)
        for name, items in (("positives", positives), ("negatives", negatives)):
            check_capacity(self.capacity, len(items), name)
        self.positives.extend(positives)
        self.negatives.extend(negatives)

    def sample(self, per_class: int) -> tuple[list[T], list[T]]:
        """Up to ``per_class`` positives and ``per_class`` negatives, drawn uniformly."""
        return (
            self._rng.sample(list(self.positives), min(per_class, len(self.positives))),
            self._rng.sample(list(self.negatives), min(per_class, len(self.negatives))),
        )

    def __len__(self) -> int:
        return len(self.positives) + len(self.negatives)
