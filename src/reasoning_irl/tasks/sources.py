"""Where the records of a task come from, and the rules every task applies to its splits.

- :func:`local_file` finds an offline data file (``task.data_dir``, ``$REASONING_IRL_DATA`` or
  ``../shared/data``); :func:`load_hub_rows` reads a Hugging Face hub dataset through
  ``datasets.load_dataset``, with an error that names the dataset id and says to set
  ``task.data_dir`` when the hub cannot be reached.
- :func:`carve` splits a train source into train and validation by a hash of ``problem_id``.
- :func:`finish_split` applies ``task.max_problems`` and ``task.num_demonstrations``.
- :func:`attach_expert_traces` reads ``task.expert_traces_path`` (MMLU-Pro, MedReason; GSM8K teacher traces).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from reasoning_irl.io import DataFileError, read_jsonl, resolve_data_file
from reasoning_irl.tasks.base import Record, in_validation, stable_hash
from reasoning_irl.text.format import extract_answer, format_completion
from reasoning_irl.text.prompts import DEFAULT_SYSTEM_PROMPT, build_messages

#: Tasks whose default system prompt is not ``DEFAULT_SYSTEM_PROMPT``. ``arith`` has none: its tiny models
#: learn the format from the demonstrations alone, and the 80-token instruction would be two thirds of
#: every sequence (it halves the cost of every CPU step to leave it out).
TASK_SYSTEM_PROMPTS = {"arith": ""}


def system_prompt(cfg: Any) -> str | None:
    """``task.system_prompt``; None means the task's default (``TASK_SYSTEM_PROMPTS``, else
    ``DEFAULT_SYSTEM_PROMPT``); "" means no system message."""
    if cfg.system_prompt is not None:
        return cfg.system_prompt
    return TASK_SYSTEM_PROMPTS.get(cfg.name, DEFAULT_SYSTEM_PROMPT)


def make_prompt(cfg: Any, question: str) -> list[dict[str, str]]:
    return build_messages(question, system_prompt(cfg))


def local_file(cfg: Any, relative: str) -> Path | None:
    """The offline file ``relative``, or None when the default data folder does not hold it.

    An explicit ``task.data_dir`` is used alone: a file missing there is an error naming it.
    """
    if cfg.data_dir:
        return resolve_data_file(relative, cfg.data_dir)
    try:
        return resolve_data_file(relative)
    except DataFileError:
        return None  # not offline here: the caller tries the hub


def load_hub_rows(
    dataset_id: str, split: str, *, config_name: str | None = None, local_hint: str
) -> list[dict]:
    """Rows of a hub dataset split, or a clear error when the hub (or ``datasets``) is unavailable."""
    where = f"{dataset_id}" + (f" (config {config_name!r})" if config_name else "") + f", split {split!r}"
    try:
        from datasets import load_dataset

        dataset = load_dataset(dataset_id, config_name, split=split)
    except Exception as err:  # any failure (offline, missing package, bad id) gets the same advice
        raise DataFileError(
            f"could not load {where} from the Hugging Face hub ({type(err).__name__}: {str(err)[:300]}). "
            f"Without hub access, set task.data_dir (or $REASONING_IRL_DATA) to a folder holding {local_hint}"
        ) from err
    return [dict(row) for row in dataset]


def local_or_hub(
    cfg: Any,
    relative: str,
    read_local: Callable[[Path], list[dict]],
    dataset_id: str,
    hub_split: str,
    config_name: str | None = None,
) -> tuple[list[dict], str]:
    """Rows from the offline file when present, else from the hub; returns (rows, source description)."""
    path = local_file(cfg, relative)
    if path is not None:
        return read_local(path), str(path)
    rows = load_hub_rows(dataset_id, hub_split, config_name=config_name, local_hint=repr(relative))
    return rows, f"hub:{dataset_id}:{hub_split}"


def read_jsonl_rows(path: Path, required: Iterable[str]) -> list[dict]:
    """All rows of a JSONL file; a row missing a required field is an error naming its line."""
    rows = []
    for lineno, row in read_jsonl(path):
        missing = [key for key in required if key not in row]
        if missing:
            raise DataFileError(f"{path}:{lineno}: row lacks field(s) {', '.join(missing)}")
        rows.append(row)
    return rows


def carve(records: list[Record], split: str, fraction: float) -> list[Record]:
    """Train or validation part of a train source (validation: ``in_validation(problem_id)``)."""
    want_validation = split == "validation"
    return [r for r in records if in_validation(r.problem_id, fraction) == want_validation]


def finish_split(records: list[Record], split: str, cfg: Any) -> list[Record]:
    """Apply ``task.max_problems`` (first ones in source order) and, on train, ``num_demonstrations``.

    The demonstrations kept are the first k records with a target in the order of
    ``stable_hash(f"demonstration:{seed}:{problem_id}")``, so they do not depend on file order.
    """
    if cfg.max_problems is not None:
        records = records[: cfg.max_problems]
    k = cfg.num_demonstrations
    if split == "train" and k is not None:
        with_target = [r for r in records if r.target is not None]
        order = sorted(with_target, key=lambda r: stable_hash(f"demonstration:{cfg.seed}:{r.problem_id}"))
        keep = {id(r) for r in order[:k]}
        for r in with_target:
            if id(r) not in keep:
                r.target = None
    return records


def needs_demonstrations(cfg: Any, split: str) -> bool:
    """Whether a split of a task without built-in traces must get them from ``expert_traces_path``."""
    return split in ("train", "validation") and cfg.num_demonstrations != 0


def attach_expert_traces(records: list[Record], cfg: Any, split: str) -> None:
    """Set ``target`` from ``task.expert_traces_path`` (MMLU-Pro, MedReason have no traces offline).

    Rows are ``{"problem_id": ..., "target": "<think>…"}`` or ``{"problem_id": ..., "reasoning": "…"}``;
    a ``reasoning`` text becomes one step per non-empty line, followed by the gold answer.
    """
    if not cfg.expert_traces_path:
        if needs_demonstrations(cfg, split):
            raise DataFileError(
                f"task {cfg.name!r} has no expert traces of its own, and split {split!r} needs them: pass "
                "task.expert_traces_path=/path/to/traces.jsonl (rows with problem_id and target or "
                "reasoning), or task.num_demonstrations=0 to train on prompts without demonstrations"
            )
        return
    path = Path(cfg.expert_traces_path).expanduser()
    if not path.is_file():
        raise DataFileError(f"task.expert_traces_path={cfg.expert_traces_path!r}: file {path} does not exist")
    by_id = {r.problem_id: r for r in records}
    seen: dict[str, int] = {}
    matched = 0
    for lineno, row in read_jsonl(path):
        pid = row.get("problem_id")
        if not isinstance(pid, str):
            raise DataFileError(f"{path}:{lineno}: expert trace row needs a string 'problem_id'")
        if pid in seen:
            raise DataFileError(f"{path}:{lineno}: problem_id {pid!r} repeats line {seen[pid]}")
        seen[pid] = lineno
        record = by_id.get(pid)
        if record is None:
            continue  # a trace of another split
        record.target = _trace_to_target(row, record, f"{path}:{lineno}")
        matched += 1
    if matched == 0 and records and split != "test":
        raise DataFileError(
            f"none of the {len(seen)} traces in {path} matches a {split} problem of task {cfg.name!r} "
            f"(its ids look like {records[0].problem_id!r})"
        )


def _trace_to_target(row: dict, record: Record, where: str) -> str:
    if isinstance(row.get("target"), str):
        target = row["target"]
        if extract_answer(target) is None:
            raise DataFileError(f"{where}: target has no <answer>…</answer> block")
        return target
    if isinstance(row.get("reasoning"), str):
        lines = non_empty_lines(row["reasoning"])
        if not lines:
            raise DataFileError(f"{where}: reasoning is empty")
        return format_completion(lines, record.answer)
    raise DataFileError(f"{where}: an expert trace row needs 'target' or 'reasoning' (a string)")


def read_json_array(path: Path, required: Iterable[str]) -> list[dict]:
    """A JSON file holding one array of objects; a malformed file or row is an error naming it."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataFileError(f"{path}: not a valid UTF-8 JSON file ({err})") from None
    if not isinstance(rows, list):
        raise DataFileError(f"{path}: expected a JSON array of objects, got {type(rows).__name__}")
    for i, row in enumerate(rows):
        missing = [key for key in required if not isinstance(row, dict) or key not in row]
        if missing:
            raise DataFileError(f"{path}: item {i} lacks field(s) {', '.join(missing)}")
    return rows


def non_empty_lines(text: str) -> list[str]:
    """The stripped non-empty lines of a text: the steps of an expert trace written as prose."""
    return [line.strip() for line in text.split("\n") if line.strip()]
