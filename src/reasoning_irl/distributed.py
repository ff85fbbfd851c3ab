"""Several processes of one run (``accelerate launch`` / ``torchrun`` / ``srun``): ranks, sums, gradients.

Our own AIRL loop does not wrap its models in DDP (generation, scoring and the policy step call the
models in several ways); it keeps the replicas equal by hand instead:

- every rank starts from the same weights (same seed, same warm start) and takes a *contiguous slice of
  whole prompts* of the global batch (:func:`shard`), so a group of G completions is never split and
  group-normalised advantages need no communication;
- the batch-level normalisers of the loss (completions, completion tokens, micro-batches) are summed over
  ranks (:func:`global_counts`), each rank's loss is its share of the *global* batch loss, and the
  gradients are summed (:func:`sum_gradients`) before clipping: every rank then takes the same step as
  one process with the whole batch would (up to float summation order);
- the discriminator's gradients are averaged (:func:`average_gradients`): its class-balanced loss is a
  mean per rank, equal to the single-process loss when the ranks' shards have the same label mix;
- only the main process writes files (:func:`reasoning_irl.trainers.run.is_main_process`).

With one process every function here is a no-op (no process group is needed).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

import torch

from reasoning_irl.config import DEVICES

T = TypeVar("T")


def rank() -> int:
    """This process's global rank (``RANK``, set by torchrun / ``accelerate launch``; 0 otherwise).

    A bare ``srun`` with several tasks does not set up a process group: launch ``torchrun`` or
    ``accelerate launch`` inside ``srun`` (docs/CLUSTER.md §4)."""
    return int(os.environ.get("RANK", "0"))


def world_size() -> int:
    """Number of processes of the run (``WORLD_SIZE``, set by torchrun / ``accelerate launch``; else 1)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_distributed() -> bool:
    """Whether a process group with more than one process is initialised."""
    return torch.distributed.is_available() and torch.distributed.is_initialized() and \
        torch.distributed.get_world_size() > 1


def init(backend: str | None = None) -> bool:
    """Initialise the default process group when launched with several processes (idempotent).

    The backend defaults to ``nccl`` with CUDA (each process on ``cuda:LOCAL_RANK``) and ``gloo``
    otherwise. Returns :func:`is_distributed`.
    """
    if world_size() > 1 and torch.distributed.is_available() and not torch.distributed.is_initialized():
        backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
        if torch.cuda.is_available():  # one GPU per process: cuda:LOCAL_RANK becomes this process's "cuda"
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        torch.distributed.init_process_group(backend=backend)
    return is_distributed()


def resolve_device(name: str) -> str:
    """The top-level ``device`` (``auto``/``cpu``/``cuda``) resolved to ``cpu`` or ``cuda``; with several
    processes ``cuda`` is this process's GPU (:func:`init`)."""
    if name not in DEVICES:
        raise ValueError(f"device={name!r}; use auto, cpu or cuda")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device=cuda but no CUDA device is visible; use device=cpu or device=auto")
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def shard(items: Sequence[T], *, rank_: int | None = None, world: int | None = None) -> list[T]:
    """This rank's contiguous slice of ``items`` (whole prompts: groups are never split).

    Refuses a global batch that does not divide evenly: unequal shards would weight ranks differently.
    """
    rank_ = rank() if rank_ is None else rank_
    world = world_size() if world is None else world
    if len(items) % world:
        raise ValueError(f"{len(items)} prompts per step do not split evenly over {world} processes; "
                         "make training.batch_prompts a multiple of the number of processes")
    size = len(items) // world
    return list(items[rank_ * size:(rank_ + 1) * size])


def global_counts(counts: dict[str, Any], keys: Iterable[str] = ("num_sequences", "num_tokens",
                                                                     "num_micro_batches")) -> dict[str, Any]:
    """``counts`` with ``keys`` summed over ranks (the batch-level normalisers of the loss)."""
    if not is_distributed():
        return counts
    keys = [k for k in keys if k in counts]
    values = torch.tensor([float(counts[k]) for k in keys], dtype=torch.float64)
    if torch.distributed.get_backend() == "nccl":
        values = values.cuda()
    torch.distributed.all_reduce(values)
    return {**counts, **{k: int(round(float(v))) for k, v in zip(keys, values.cpu())}}


def sum_gradients(parameters: Iterable[torch.nn.Parameter]) -> None:
    """Sum the gradients of ``parameters`` over ranks, in place (one flat all-reduce).

    Use when each rank's loss is its share of the global batch loss (normalised by :func:`global_counts`).
    A parameter without a gradient on this rank contributes zeros; one that has no gradient on *any*
    rank keeps ``grad=None`` (the optimiser skips it, as with one process).
    """
    if not is_distributed():
        return
    params = list(parameters)
    if not params:
        return
    has_grad = torch.tensor([float(p.grad is not None) for p in params], dtype=torch.float64)
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads])
    if torch.distributed.get_backend() == "nccl":
        has_grad = has_grad.to(flat.device)
    torch.distributed.all_reduce(has_grad)
    torch.distributed.all_reduce(flat)
    offset = 0
    for p, g, any_grad in zip(params, grads, has_grad.tolist()):
        n = g.numel()
        p.grad = flat[offset:offset + n].view_as(g).clone() if any_grad else None
        offset += n


def average_gradients(parameters: Iterable[torch.nn.Parameter]) -> None:
    """Average the gradients of ``parameters`` over ranks, in place (DDP's semantics: each rank's loss is
    a mean over its own shard). The discriminator uses it: its class-balanced loss is normalised per
    shard, so two processes equal one process only when the shards have the same label mix."""
    if not is_distributed():
        return
    params = list(parameters)
    sum_gradients(params)
    world = torch.distributed.get_world_size()
    for p in params:
        if p.grad is not None:
            p.grad.div_(world)


def mean_over_ranks(value: float) -> float:
    """A logged scalar averaged over ranks (metrics of a rank's shard → of the global batch)."""
    if not is_distributed():
        return value
    tensor = torch.tensor([float(value)], dtype=torch.float64)
    if torch.distributed.get_backend() == "nccl":
        tensor = tensor.cuda()
    torch.distributed.all_reduce(tensor)
    return float(tensor.cpu()) / torch.distributed.get_world_size()


def barrier() -> None:
    """Wait for every rank (e.g. until the main process has written a checkpoint)."""
    if is_distributed():
        torch.distributed.barrier()
