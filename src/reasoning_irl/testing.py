"""Fixtures shared by the tests of several components: a warm-started tiny policy, a free port, many
experiment configs composed at once (:func:`compose_experiments`).

:func:`warm_started_policy` teacher-forces the tiny model on ``arith`` expert traces (loss on the
completion tokens only, EOS included) with a plain torch loop and saves the result as a Hugging Face
folder. The folder is cached under ``<cache>/warm_start/<hash>/`` (the cache of
:mod:`reasoning_irl.models.tiny`), the hash covering what changes the weights: the base model, the
optimiser settings and the training traces themselves (their hash, so two spellings of one task config
share a folder). One process builds it while others wanting the same folder wait on a lock file beside
it; the build is written to a temporary folder first and renamed into place, so no process ever sees a
half-written one. ``warm_start.json`` inside records the settings, the task config, the last training
losses and the time.

It is a fixture, not the SFT baseline (that is :mod:`reasoning_irl.trainers.sft`, through TRL): it
exists so that tests of reward models, rollouts and trainers start from a policy that writes the
format and sometimes the right numbers, in about a minute once per checkout.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

WARM_START_VERSION = 2
INFO_FILE = "warm_start.json"
NICE = 10  # of the background build (os.nice)


def free_port() -> int:
    """A free TCP port for a distributed rendezvous (a fixed one would collide with a concurrent test run)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def warm_start_folder(steps: int = 300, seed: int = 0, *, learning_rate: float = 2e-3, batch_size: int = 32,
                      model_cfg=None, task_cfg=None) -> Path:
    """The cache folder :func:`warm_started_policy` builds for these arguments (built or not)."""
    return _plan(steps, seed, learning_rate, batch_size, model_cfg, task_cfg)[0]


def warm_started_policy(steps: int = 300, seed: int = 0, *, learning_rate: float = 2e-3, batch_size: int = 32,
                        model_cfg=None, task_cfg=None) -> Path:
    """Folder of the tiny policy after ``steps`` AdamW steps of teacher-forced SFT on arith train traces.

    ``model_cfg`` (:class:`~reasoning_irl.config.model.ModelConfig`, default: the tiny qwen2) and
    ``task_cfg`` (:class:`~reasoning_irl.config.task.TaskConfig`, default: arith) choose the model and
    the data; arguments that give the same traces and settings give the same folder, built once: a
    caller that finds another process building it waits for that build (a lock file beside it).
    """
    import fcntl

    final, settings, (base, model_cfg, task_cfg, records) = _plan(steps, seed, learning_rate, batch_size,
                                                                 model_cfg, task_cfg)
    if (final / INFO_FILE).is_file():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    with open(final.parent / f".{final.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if this process dies
        if (final / INFO_FILE).is_file():  # built by the holder we waited for
            return final
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
        try:
            info = _train(tmp, base, model_cfg, records, steps, seed, learning_rate, batch_size)
            info = {"settings": settings, "task": asdict(task_cfg), **info}
            (tmp / INFO_FILE).write_text(json.dumps(info, indent=2, default=str) + "\n", encoding="utf-8")
            tmp.chmod(0o755)  # mkdtemp makes it private; the cache may be shared
            os.rename(tmp, final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return final


def _plan(steps: int, seed: int, learning_rate: float, batch_size: int, model_cfg, task_cfg):
    """(folder, settings, (base, model_cfg, task_cfg, records)): the folder is named by the hash of the
    settings, which hold the training traces' hash instead of the task config (two spellings of one
    config, such as ``system_prompt`` None and "" for arith, write the same traces and weights)."""
    from reasoning_irl.config.model import ModelConfig
    from reasoning_irl.config.task import TaskConfig
    from reasoning_irl.models.loading import resolve_model_path
    from reasoning_irl.models.tiny import cache_root

    model_cfg = model_cfg or ModelConfig()
    task_cfg = task_cfg or TaskConfig(name="arith")
    base = resolve_model_path(model_cfg.policy, model_cfg)
    records, traces = _traces(task_cfg)
    settings = {
        "version": WARM_START_VERSION, "steps": steps, "seed": seed, "learning_rate": learning_rate,
        "batch_size": batch_size, "base": Path(base).name if Path(base).is_dir() else base, "traces": traces,
    }
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode("utf-8")).hexdigest()[:16]
    final = cache_root(model_cfg) / "warm_start" / f"{task_cfg.name}-{steps}-{seed}-{digest}"
    return final, settings, (base, model_cfg, task_cfg, records)


_TRACES: dict[str, tuple[list, str]] = {}  # task config (as JSON) -> (records, hash), per process


def _traces(task_cfg) -> tuple[list, str]:
    """The arith train records with a target, and the SHA-256 of their (prompt, target) sequence."""
    from reasoning_irl.tasks.arith import ArithTask

    if task_cfg.name != "arith":
        raise ValueError(f"warm_started_policy trains on arith traces; got task {task_cfg.name!r}")
    key = json.dumps(asdict(task_cfg), sort_keys=True, default=str)
    if key not in _TRACES:
        records = [r for r in ArithTask(task_cfg).load("train") if r.target]
        text = json.dumps([[r.prompt, r.target] for r in records], sort_keys=True, ensure_ascii=False)
        _TRACES[key] = records, hashlib.sha256(text.encode("utf-8")).hexdigest()
    return _TRACES[key]


def _train(out: Path, base: str, model_cfg, records: list, steps: int, seed: int, learning_rate: float,
           batch_size: int) -> dict:
    import torch

    from reasoning_irl.models.encoding import collate, encode
    from reasoning_irl.models.loading import load_causal_lm, load_tokenizer

    tokenizer = load_tokenizer(base, model_cfg)
    model = load_causal_lm(base, model_cfg, trainable=True)
    encoded = [encode(tokenizer, r.prompt, r.target, append_eos=True) for r in records]
    rng = random.Random(f"warm-start:{seed}")
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / 20) * (1 - s / steps))
    start, losses = time.perf_counter(), []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for _ in range(steps):
            batch = collate(rng.sample(encoded, batch_size), tokenizer.pad_token_id, "right")
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                           position_ids=batch["position_ids"]).logits[:, :-1]  # (B, L−1, V) predicts 1…L−1
            mask = batch["completion_mask"][:, 1:]
            loss = torch.nn.functional.cross_entropy(logits[mask], batch["input_ids"][:, 1:][mask])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            losses.append(float(loss.detach()))
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return {"final_loss_mean_last_20": sum(losses[-20:]) / len(losses[-20:]), "first_loss": losses[0],
            "seconds": round(time.perf_counter() - start, 1), "num_train_traces": len(records)}


def compose_experiments(config_dir: str | os.PathLike, runs: dict[str, tuple[str, list[str]]],
                        processes: int | None = None) -> dict[str, Any]:
    """``{key: (entry, overrides)}`` → ``{key: the schema instance}``: each composed by Hydra onto its
    entry point's config (``configs/<entry>.yaml``) and merged into ``SCHEMAS[entry]``, as the entry
    script does (:func:`reasoning_irl.cli.to_schema`).

    Composition is pure Python at ~0.1 s each, so hundreds of them are spread over ``processes`` fresh
    (spawned) processes, default one per available core up to 4; one process composes in this one.
    """
    keys = list(runs)
    if processes is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        processes = min(4, cores)
    if processes <= 1 or len(keys) < 2:
        return dict(zip(keys, _compose_chunk(str(config_dir), [runs[k] for k in keys])))
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    chunks = [keys[i::processes] for i in range(processes)]  # interleaved: entries mixed in every chunk
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(_compose_chunk, str(config_dir), [runs[k] for k in chunk]) for chunk in chunks]
        composed = {k: cfg for chunk, future in zip(chunks, futures)
                    for k, cfg in zip(chunk, future.result())}
    return {k: composed[k] for k in keys}


def _compose_chunk(config_dir: str, runs: list[tuple[str, list[str]]]) -> list[Any]:
    from hydra import compose, initialize_config_dir

    from reasoning_irl.cli import to_schema
    from reasoning_irl.config.schema import SCHEMAS

    with initialize_config_dir(config_dir=config_dir, version_base="1.3"):
        return [to_schema(compose(config_name=entry, overrides=overrides), SCHEMAS[entry])
                for entry, overrides in runs]


def build_warm_start_in_background(threads: int) -> subprocess.Popen | None:
    """Start building :func:`warm_started_policy`'s default folder in a child process (``threads`` torch
    threads, as the in-process build would use: the thread count changes the float sums, so the weights),
    or None when it is built already. It runs at a lower priority (:data:`NICE`). Callers that need it
    meanwhile wait on its lock; if the child fails, the first caller builds it itself and shows the error."""
    if (warm_start_folder() / INFO_FILE).is_file():
        return None
    code = (f"import torch; torch.set_num_threads({int(threads)}); "
            "from reasoning_irl.testing import _background_build; _background_build()")
    quiet = subprocess.DEVNULL
    return subprocess.Popen([sys.executable, "-c", code], stdout=quiet, stderr=quiet)


def _background_build() -> None:
    import signal

    # Stopped early (the test session ended first): SystemExit runs the cleanup of the temporary folder.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # Below the tests in priority: it takes the cores they leave idle, all of them once a test waits for it.
    os.nice(NICE)
    warm_started_policy()
