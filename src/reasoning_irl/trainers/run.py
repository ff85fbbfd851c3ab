"""The run folder every trainer writes (docs/ARCHITECTURE.md (Runs and outputs)), and its logging.

    run = Run.open(cfg, total_steps=cfg.training.max_steps)     # outputs/<run_name>/
    for step in range(run.start_step + 1, total + 1):
        ...
        run.log(step, {"loss": loss, "lr": lr}, tokens=batch_tokens)
    run.close()

Files (written by the main process only; on other ranks every method is a no-op that returns):

- ``config.yaml`` — the resolved config (:mod:`.run_config`).
- ``metrics.jsonl`` — one JSON line per :meth:`Run.log` call: ``{"step": N, <name>: value, ...}``. Its
  content is deterministic (no clock, no throughput), so a resumed run's log equals an uninterrupted
  one: :meth:`Run.resume` cuts it back to the checkpoint's step.
- ``run_info.json`` — everything that is not expected to repeat: host, versions, git commit, and one
  entry per session (start, end, status, resumed step, timings, throughput).
- ``wandb/`` — when ``logging.wandb_mode`` is ``offline`` (default) or ``online``; the environment
  variable ``WANDB_MODE``, when set, wins (the Makefile and the tests set ``disabled``).

A log line is printed every ``logging.logging_steps`` steps (and for every ``force=True`` call,
e.g. evaluations); the progress bar shows the step, the latest key metrics, tokens/s and the ETA.
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from reasoning_irl.io import atomic_write_json, atomic_write_text
from reasoning_irl.trainers.provenance import git_commit, now, versions
from reasoning_irl.trainers.run_config import CONFIG_YAML, config_changes, config_yaml, to_plain

log = logging.getLogger("reasoning_irl")

METRICS_JSONL = "metrics.jsonl"
RUN_INFO_JSON = "run_info.json"
WANDB_MODES = ("offline", "online", "disabled")
#: Metrics shown on the progress bar when present (the first few, in this order).
KEY_METRICS = ("loss", "reward", "validation_nll", "validation_accuracy", "discriminator_loss", "grad_norm")
#: run_info.json is rewritten at most this often by record_timing (it is called inside training loops).
INFO_FLUSH_S = 30.0


def is_main_process() -> bool:
    """Whether this process writes the run folder: rank 0 of a distributed launch (``RANK``, set by
    ``torchrun`` / ``accelerate launch``; ``SLURM_PROCID`` under a bare ``srun``), or a single process."""
    for key in ("RANK", "SLURM_PROCID"):
        if os.environ.get(key) not in (None, ""):
            return int(os.environ[key]) == 0
    return True


def _clean(values: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-safe metric values: numbers as float/int, tensors as their item, NaN/inf as strings."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if hasattr(value, "item"):
            value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            value = repr(value)  # "nan"/"inf": JSON has no NaN; a non-finite loss must stay visible
        out[key] = value
    return out


class Run:
    """One run folder ``<output_root>/<run_name>``: config, metrics log, run info, wandb, progress bar.

    Create it with :meth:`open`. Trainers call :meth:`log` once per log event, :meth:`timer` around
    phases worth timing, :meth:`resume` when continuing from a checkpoint and :meth:`close` at the end
    (or use the run as a context manager, which records a failure as ``status: failed``).
    """

    def __init__(self, directory: Path, cfg: Any, *, total_steps: int | None, is_main: bool) -> None:
        self.dir = directory
        self.cfg = cfg
        self.total_steps = total_steps
        self.is_main = is_main
        self.start_step = 0
        logging_cfg = getattr(cfg, "logging", None)
        self.logging_steps = max(1, int(getattr(logging_cfg, "logging_steps", 10)))
        self._show_bar = bool(getattr(logging_cfg, "progress_bar", True))
        self._bar: Any = None
        self._wandb: Any = None
        self._last: dict[str, Any] = {}
        self._tokens = 0
        self._t0 = time.perf_counter()
        self._info_written = 0.0
        self._t_first_step: float | None = None  # tokens/s counts from the first step, not from loading
        self._session: dict[str, Any] = {}
        self._info: dict[str, Any] = {}

    # --- lifecycle --------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        cfg: Any,
        run_dir: str | os.PathLike | None = None,
        *,
        total_steps: int | None = None,
        is_main: bool | None = None,
    ) -> Run:
        """Open (create or continue) the run folder of ``cfg`` and start a session.

        ``run_dir`` defaults to ``<cfg.output_root>/<cfg.run_name>``. ``total_steps`` sizes the progress
        bar. ``is_main`` defaults to :func:`is_main_process`. Writes ``config.yaml`` and ``run_info.json``;
        an existing ``config.yaml`` that differs is replaced with a warning naming the changed lines.
        """
        directory = Path(run_dir) if run_dir is not None else Path(cfg.output_root) / cfg.run_name
        run = cls(
            directory, cfg, total_steps=total_steps, is_main=is_main_process() if is_main is None else is_main
        )
        if run.is_main:
            run._start()
        return run

    def _start(self) -> None:
        self._wandb_mode()  # a bad mode fails before anything is written
        self.dir.mkdir(parents=True, exist_ok=True)
        text = config_yaml(self.cfg)
        previous = self.dir / CONFIG_YAML
        changed = config_changes(self.cfg, self.dir)
        if changed:
            log.warning("%s: config changed since the last session: %s", self.dir, ", ".join(changed[:10]))
        atomic_write_text(previous, text)
        info_path = self.dir / RUN_INFO_JSON
        self._info = json.loads(info_path.read_text()) if info_path.is_file() else {}
        self._info.setdefault("run_name", getattr(self.cfg, "run_name", self.dir.name))
        self._info.setdefault("sessions", [])
        self._session = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "argv": sys.argv,
            "versions": versions(),
            "git_commit": git_commit(),
            "start_time": now(),
            "end_time": None,
            "status": "running",
            "resumed_from_step": None,
            "timings_s": {},
        }
        self._info["sessions"].append(self._session)
        self._write_info()
        self._start_wandb()

    def resume(self, step: int) -> None:
        """Continue after a checkpoint at ``step``: drop the metric lines of later steps (``step=0``: a fresh
        start over a folder without checkpoints clears the log), and start the progress bar there."""
        self.start_step = int(step)
        if not self.is_main:
            return
        path = self.dir / METRICS_JSONL
        if path.is_file():
            kept = [
                line
                for line in path.read_text().splitlines(keepends=True)
                if line.strip() and json.loads(line)["step"] <= step
            ]
            atomic_write_text(path, "".join(kept))
        self._session["resumed_from_step"] = int(step) if step > 0 else None
        self._write_info()

    def close(self, status: str = "finished") -> None:
        """End the session: finish wandb, close the bar, record end time, status and throughput."""
        if not self.is_main or not self._session:
            return
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if self._wandb is not None:
            self._wandb.finish(exit_code=0 if status == "finished" else 1)
            self._wandb = None
        elapsed = time.perf_counter() - self._t0
        self._session.update(end_time=now(), status=status, wall_time_s=round(elapsed, 3))
        rate = self.tokens_per_second()
        if rate is not None:
            self._session["tokens_per_s"] = round(rate, 1)
        self._write_info()
        self._session = {}

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close("finished" if exc_type is None else f"failed: {exc_type.__name__}")

    # --- logging ----------------------------------------------------------------------------------

    def log(self, step: int, values: Mapping[str, Any], *, tokens: int = 0, force: bool = False) -> None:
        """Record metrics of ``step``: one line of ``metrics.jsonl``, wandb, the bar, and a log line.

        ``values`` must be deterministic (losses, rewards, validation metrics — no clock readings: put
        those in :meth:`record_timing`). ``tokens`` (processed since the previous call) feeds tokens/s.
        The log line is printed when ``step`` is a multiple of ``logging.logging_steps`` or ``force``.
        """
        if not self.is_main:
            return
        row = {"step": int(step), **_clean(values)}
        with (self.dir / METRICS_JSONL).open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
        if self._wandb is not None:
            self._wandb.log({k: v for k, v in row.items() if k != "step"}, step=int(step))
        self._count_tokens(tokens)
        self._last.update({k: v for k, v in row.items() if k in KEY_METRICS})
        self._advance(step)
        if force or step % self.logging_steps == 0:
            shown = " ".join(f"{k}={_fmt(v)}" for k, v in row.items() if k != "step")
            message = f"step {step}/{self.total_steps or '?'} {shown}"
            if self._bar is not None:
                self._bar.write(message)
            else:
                log.info(message)

    def advance(self, step: int, *, tokens: int = 0) -> None:
        """Move the progress bar to ``step`` without logging metrics (``tokens`` feeds tokens/s)."""
        if self.is_main:
            self._count_tokens(tokens)
            self._advance(step)

    def _count_tokens(self, tokens: int) -> None:
        if self._t_first_step is None:
            self._t_first_step = time.perf_counter()
        else:  # tokens of the first call were processed before the clock started
            self._tokens += int(tokens)

    def tokens_per_second(self) -> float | None:
        """Tokens processed per second of this session since its first step (None before any)."""
        if self._t_first_step is None or not self._tokens:
            return None
        return self._tokens / max(time.perf_counter() - self._t_first_step, 1e-9)

    def _advance(self, step: int) -> None:
        if not self._show_bar:
            return
        if self._bar is None:  # created at the first step, so its rate and ETA start after a resume
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=self.total_steps, initial=self.start_step, desc=self.dir.name, dynamic_ncols=True
            )
        if step > self._bar.n:
            self._bar.update(step - self._bar.n)
        postfix = {k: _fmt(self._last[k]) for k in KEY_METRICS if k in self._last}
        rate = self.tokens_per_second()
        if rate is not None:
            postfix["tok/s"] = f"{rate:.0f}"
        self._bar.set_postfix(postfix, refresh=False)

    def read_metrics(self) -> list[dict[str, Any]]:
        """The rows of ``metrics.jsonl`` (empty when absent)."""
        path = self.dir / METRICS_JSONL
        if not path.is_file():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    # --- run info ---------------------------------------------------------------------------------

    def record_timing(self, name: str, seconds: float) -> None:
        """Add ``seconds`` to the timing ``name`` of this session in ``run_info.json``."""
        if not self.is_main or not self._session:
            return
        timings = self._session["timings_s"]
        timings[name] = round(timings.get(name, 0.0) + float(seconds), 3)
        # Called in the inner loop: flushed at most every INFO_FLUSH_S seconds (and at close), not per call.
        if time.perf_counter() - self._info_written >= INFO_FLUSH_S:
            self._write_info()

    def record_info(self, **values: Any) -> None:
        """Store non-repeating facts of this session (throughput, device, ...) in ``run_info.json``."""
        if not self.is_main or not self._session:
            return
        self._session.update(_clean(values))
        self._write_info()

    @contextmanager
    def timer(self, name: str) -> Iterator[None]:
        """Time the body and add it to the timing ``name`` (see :meth:`record_timing`)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.record_timing(name, time.perf_counter() - start)

    def _write_info(self) -> None:
        atomic_write_json(self.dir / RUN_INFO_JSON, self._info)
        self._info_written = time.perf_counter()

    # --- wandb ------------------------------------------------------------------------------------

    def _wandb_mode(self) -> str:
        """``WANDB_MODE`` from the environment when set, else ``logging.wandb_mode``."""
        mode = os.environ.get("WANDB_MODE") or getattr(
            getattr(self.cfg, "logging", None), "wandb_mode", "disabled"
        )
        if mode not in WANDB_MODES:
            source = "WANDB_MODE" if os.environ.get("WANDB_MODE") else "logging.wandb_mode"
            raise ValueError(f"{source}={mode!r}; use one of {', '.join(WANDB_MODES)}")
        return mode

    def _start_wandb(self) -> None:
        logging_cfg = getattr(self.cfg, "logging", None)
        mode = self._wandb_mode()
        if mode == "disabled":
            return
        try:
            import wandb
        except ImportError:
            raise ImportError(
                f"logging.wandb_mode={mode} needs the 'wandb' package; pip install wandb, "
                "or set logging.wandb_mode=disabled"
            ) from None
        self._wandb = wandb.init(
            project=getattr(logging_cfg, "wandb_project", "reasoning-irl"),
            entity=getattr(logging_cfg, "wandb_entity", None),
            name=self.dir.name,
            id=self._wandb_id(),
            resume="allow",
            dir=str(self.dir),
            mode=mode,
            config=json.loads(json.dumps(to_plain(self.cfg), default=str)),
        )

    def _wandb_id(self) -> str:
        """A wandb run id stored in run_info.json, so a resumed session continues the same wandb run."""
        if "wandb_id" not in self._info:
            import uuid

            self._info["wandb_id"] = f"{self.dir.name[:40]}-{uuid.uuid4().hex[:8]}"
            self._write_info()
        return self._info["wandb_id"]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
