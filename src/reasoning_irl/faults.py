"""Deterministic fault injection at named points (docs/RELIABILITY.md).

    REASONING_IRL_FAULT=disc_update:3 python train_irl.py ...   # SIGKILL at the 3rd discriminator update

The code calls :func:`fault_point` at a few named places; when the environment variable
``REASONING_IRL_FAULT`` names that point, the process kills itself (``SIGKILL``: no ``finally``, no
``atexit``, no flush — what a pre-empted job or an OOM kill does) at the ``count``-th hit. Faults are
triggered by counting hits, never by timing, so a test reproduces them exactly.

Spec: ``name:count[:action]`` and several of them separated by commas. ``action`` is ``kill``
(default) or ``raise`` (raise :class:`InjectedFault`, an ``OSError``: a simulated failing write, for
tests that check that an error leaves earlier results intact).

Named points:

=================== ==============================================================================
``generate``        :func:`reasoning_irl.rl.rollout.generate_rollouts`, before sampling
``disc_update``     :meth:`reasoning_irl.rewards.discriminator.Discriminator.step`, between the
                    backward pass and the optimiser step
``checkpoint_write`` :func:`reasoning_irl.trainers.checkpoint.save_checkpoint`, after the model
                    folders and before the loop state (a half-written ``.tmp-step-N``)
``eval_write``      :meth:`reasoning_irl.eval.samples.SampleWriter.write`, after a row was written
                    to the temporary ``samples.jsonl``
``eval_outputs``    :func:`reasoning_irl.eval.modes.run_evaluation`, after ``samples.jsonl`` is complete
                    in the staging folder and before ``metrics.json`` is written
=================== ==============================================================================

When the variable is unset, :func:`fault_point` is a function that returns at once (the variable is
read at import; :func:`configure` re-reads it, for tests that set it in-process).
"""

from __future__ import annotations

import os
import signal
import sys

ENV = "REASONING_IRL_FAULT"
ACTIONS = ("kill", "raise")


class InjectedFault(OSError):
    """Raised at a fault point whose action is ``raise``."""


_targets: dict[str, list] = {}  # name → [count, action, hits]


def parse(spec: str | None) -> dict[str, list]:
    """``"a:3,b:1:raise"`` → ``{"a": [3, "kill", 0], "b": [1, "raise", 0]}``; a malformed spec is an error."""
    targets: dict[str, list] = {}
    for part in (spec or "").split(","):
        part = part.strip()
        if not part:
            continue
        fields = part.split(":")
        if len(fields) not in (2, 3) or not fields[0] or not fields[1].isdigit() or int(fields[1]) < 1:
            raise ValueError(f"{ENV}={spec!r}: {part!r} is not name:count[:action] with count >= 1")
        action = fields[2] if len(fields) == 3 else "kill"
        if action not in ACTIONS:
            raise ValueError(f"{ENV}={spec!r}: action {action!r}; use one of {', '.join(ACTIONS)}")
        targets[fields[0]] = [int(fields[1]), action, 0]
    return targets


def configure(spec: str | None = None) -> None:
    """(Re)arm the fault points from ``spec`` (default: the environment variable); hit counts restart."""
    global _targets
    _targets = parse(os.environ.get(ENV) if spec is None else spec)


def fault_point(name: str) -> None:
    """Kill (or raise in) this process at the configured hit of point ``name``; otherwise do nothing."""
    if not _targets:
        return
    target = _targets.get(name)
    if target is None:
        return
    target[2] += 1
    if target[2] != target[0]:
        return
    if target[1] == "raise":
        raise InjectedFault(f"injected fault at {name} (hit {target[2]}, {ENV})")
    sys.stderr.write(f"{ENV}: SIGKILL at {name} (hit {target[2]})\n")
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


configure()
