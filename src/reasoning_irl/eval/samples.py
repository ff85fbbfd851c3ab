"""Evaluation inputs and outputs: reading sample rows problem by problem, and writing ``samples.jsonl``.

Input rows (pregenerated modes, docs/EVALUATION_GUIDE.md §2) need ``prompt`` (string or chat messages)
and ``completion``; optional ``answer``, ``problem_id``, ``sample_idx``, ``steps``, ``first_error_step``.
A row without an ``answer`` key is joined to the task's record whose user message has the same text
(:mod:`.inputs`); ``"answer": null`` means no gold answer (not graded).
The reference code's fields are mapped: ``generation.content`` (or a string ``generation``) →
``completion``, ``generation_idx`` → ``sample_idx``, ``correctness_reward_func`` (2.0/0.0) → the
reference's own grade, compared with ours in ``metrics.json``; ProcessBench-style rows (``problem``, ``steps``,
``label``) become a prompt built from ``problem``, the steps joined by blank lines as the completion,
and ``label`` (−1 = no error) as ``first_error_step``. Scores already in a row (our ``reward`` /
``policy_logprobs``, or the reference code's ``reward_model_score`` / ``policy_log_probs``) are kept so
that a file can be re-evaluated without a model.

Rows are streamed: :func:`iter_problems` holds one problem's rows at a time (rows must be prompt-major:
all samples of a problem consecutive). Output rows go to a temporary file that is renamed into place
only when the whole evaluation succeeded (:class:`SampleWriter`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reasoning_irl.faults import fault_point
from reasoning_irl.io import DataFileError, process_alive, read_jsonl, temp_file_beside
from reasoning_irl.text.format import render_steps
from reasoning_irl.text.prompts import DEFAULT_SYSTEM_PROMPT, build_messages

SCHEMA_VERSION = 1
REQUIRED = ("prompt", "completion")


@dataclass
class SampleIn:
    """One input sample, normalised to our field names."""

    line: int
    prompt: str | list[dict[str, str]]
    completion: str
    answer: str | None
    problem_id: str
    sample_idx: int
    steps: list[str] | None = None
    first_error_step: int | None = None
    has_truth: bool = False
    #: Scores carried by the input row (None: not present).
    sequence_score: float | None = None
    reward: dict[str, Any] | None = None
    policy_logprobs: list[float] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    #: The row has no ``answer`` key: its gold answer comes from the task's record with the same user text.
    join_by_prompt: bool = False
    #: The reference code's ``correctness_reward_func > 0`` carried by the row (None: not present).
    reference_correct: bool | None = None


@dataclass
class Problem:
    problem_id: str
    prompt: str | list[dict[str, str]]
    answer: str | None
    samples: list[SampleIn]
    first_line: int


def _where(path: Any, line: int) -> str:
    return f"{path}:{line}"


def _finite(value: Any, what: str, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise DataFileError(f"{where}: {what} = {value!r} is not a number") from None
    if not math.isfinite(number):
        raise DataFileError(
            f"{where}: {what} is {number}; NaN/inf scores are not valid — rescore that sample or drop the field"
        )
    return number


def _truth(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise DataFileError(
            f"{where}: first_error_step/label = {value!r} must be an integer (−1 or null = no error)"
        )
    return None if value < 0 else value


def prompt_key(prompt: Any) -> str:
    """A stable id for a prompt (used when rows have no ``problem_id``)."""
    text = json.dumps(prompt, sort_keys=True, ensure_ascii=False)
    return "prompt-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def normalise_row(
    row: dict[str, Any], line: int, path: Any = "<input>", system_prompt: str | None = DEFAULT_SYSTEM_PROMPT
) -> SampleIn:
    """Map one input row (ours, the reference code's, or ProcessBench-style) to a :class:`SampleIn`.

    ``system_prompt`` is used only to build the prompt of a ProcessBench-style row (``task.system_prompt``).
    """
    where = _where(path, line)
    row = dict(row)
    has_truth = False
    if "problem" in row and "prompt" not in row and isinstance(row.get("steps"), list):
        steps = row["steps"]
        if not steps or not all(isinstance(s, str) and s for s in steps):
            raise DataFileError(f"{where}: 'steps' must be a non-empty list of non-empty strings")
        row["prompt"] = build_messages(row["problem"], system_prompt)
        row.setdefault("completion", render_steps(steps)[0])
        row.setdefault("answer", None)
        if "label" in row:
            row["first_error_step"] = row.pop("label")
        row.setdefault("problem_id", row.get("id"))
    if "completion" not in row:
        generation = row.get("generation")
        if isinstance(generation, dict) and "content" in generation:
            row["completion"] = generation["content"]
        elif isinstance(generation, str):
            row["completion"] = generation
    if "sample_idx" not in row and "generation_idx" in row:
        row["sample_idx"] = row["generation_idx"]
    missing = [k for k in REQUIRED if k not in row]
    if missing:
        raise DataFileError(
            f"{where}: row is missing {', '.join(repr(m) for m in missing)}; input rows need 'prompt' and "
            "'completion' (or generation.content), and 'answer' unless the task's records give it "
            "(see docs/EVALUATION_GUIDE.md)"
        )
    prompt, completion, answer = row["prompt"], row["completion"], row.get("answer")
    if not isinstance(prompt, str) and not (
        isinstance(prompt, list)
        and all(isinstance(m, dict) and "role" in m and "content" in m for m in prompt)
    ):
        raise DataFileError(f"{where}: 'prompt' must be a string or a list of {{role, content}} messages")
    if not isinstance(completion, str):
        raise DataFileError(f"{where}: 'completion' must be a string, got {type(completion).__name__}")
    if answer is not None and not isinstance(answer, (str, int, float)):
        raise DataFileError(f"{where}: 'answer' must be a string, got {type(answer).__name__}")
    steps = row.get("steps")
    if steps is not None:
        if isinstance(steps, list) and steps and all(isinstance(s, dict) and "text" in s for s in steps):
            steps = [s["text"] for s in steps]  # our output schema: steps with spans and scores
        if not isinstance(steps, list) or not all(isinstance(s, str) and s for s in steps):
            raise DataFileError(f"{where}: 'steps' must be a list of non-empty strings")
    if "first_error_step" in row:
        has_truth = True
    truth = _truth(row.get("first_error_step"), where)
    problem_id = row.get("problem_id")
    problem_id = prompt_key(prompt) if problem_id is None else str(problem_id)
    sample_idx = row.get("sample_idx")
    if sample_idx is not None and (isinstance(sample_idx, bool) or not isinstance(sample_idx, int)):
        raise DataFileError(f"{where}: 'sample_idx' must be an integer, got {sample_idx!r}")
    sample = SampleIn(
        line=line,
        prompt=prompt,
        completion=completion,
        answer=None if answer is None else str(answer),
        problem_id=problem_id,
        sample_idx=-1 if sample_idx is None else sample_idx,
        steps=steps,
        first_error_step=truth,
        has_truth=has_truth,
        meta=row.get("meta") or {},
        join_by_prompt="answer" not in row,
    )
    if "correctness_reward_func" in row:
        sample.reference_correct = _finite(row["correctness_reward_func"], "correctness_reward_func", where) > 0
    reward = row.get("reward")
    if isinstance(reward, dict) and "sequence_score" in reward:
        sample.reward = reward
        sample.sequence_score = _finite(reward["sequence_score"], "reward.sequence_score", where)
        for i, value in enumerate(reward.get("scores") or []):
            _finite(value, f"reward.scores[{i}]", where)
        aggs = reward.get("aggregates")
        if aggs is not None and not isinstance(aggs, dict):
            raise DataFileError(f"{where}: reward.aggregates must be an object of aggregation → score")
        for name, value in (aggs or {}).items():
            if value is not None:
                _finite(value, f"reward.aggregates.{name}", where)
    elif isinstance(row.get("reward_model_score"), list):
        flat = row["reward_model_score"]
        if flat and not isinstance(flat[0], list):  # [[0]] is the reference code's "not computed"
            scores = [_finite(v, f"reward_model_score[{i}]", where) for i, v in enumerate(flat)]
            sample.reward = {
                "granularity": "unknown",
                "scores": scores,
                "aggregation": "mean",
                "sequence_score": sum(scores) / len(scores),
                "aggregates": {"mean": sum(scores) / len(scores)},  # the reference's selector
                "source": "reward_model_score",
            }
            sample.sequence_score = sample.reward["sequence_score"]
    logprobs = row.get("policy_logprobs", row.get("policy_log_probs"))
    if isinstance(logprobs, list):
        sample.policy_logprobs = [_finite(v, f"policy_logprobs[{i}]", where) for i, v in enumerate(logprobs)]
    return sample


def _rows_of_json_array(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Rows of a ``.json`` array (ProcessBench files); the "line" is the 1-based item number."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DataFileError(f"{path}: invalid JSON ({err.msg} at line {err.lineno})") from None
    except ValueError as err:  # e.g. an integer beyond Python's 4300-digit limit
        raise DataFileError(f"{path}: invalid JSON ({str(err).split(':')[0]}); fix the file") from None
    if not isinstance(data, list):
        raise DataFileError(
            f"{path}: a .json input must be an array of objects (use .jsonl for one per line)"
        )
    for i, row in enumerate(data, start=1):
        if not isinstance(row, dict):
            raise DataFileError(f"{path}: item {i} is not an object")
        yield i, row


def iter_rows(
    path: str | os.PathLike, system_prompt: str | None = DEFAULT_SYSTEM_PROMPT
) -> Iterator[SampleIn]:
    """Normalised rows of a JSONL (streamed) or a JSON array file."""
    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"input file {path} does not exist (eval.pregenerated_jsonl_path)")
    before = _identity(path)
    source = _rows_of_json_array(path) if path.suffix == ".json" else read_jsonl(path)
    for line, row in source:
        yield normalise_row(row, line, path, system_prompt)
    after = _identity(path)
    if after != before:  # a file cut or appended to while it was read: its rows are a part or a mix
        raise DataFileError(
            f"{path} changed while it was read (size {before[0]} → {after[0]} bytes, modification time "
            f"{'changed' if before[1] != after[1] else 'kept'}); evaluate it again once nothing writes to it"
        )


def _identity(path: Path) -> tuple[int, int, int]:
    """Size, modification time (ns) and inode of a file: compared before and after reading it."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return (-1, -1, -1)
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def iter_problems(
    samples: Iterable[SampleIn],
    *,
    allow_ragged: bool = False,
    max_problems: int | None = None,
    path: Any = "<input>",
) -> Iterator[Problem]:
    """Group prompt-major samples into problems, one at a time.

    Errors: a problem whose rows are not consecutive, a repeated ``sample_idx``, rows of one problem with
    different prompts or gold answers, and (unless ``allow_ragged``) a problem whose number of samples
    differs from the first problem's.
    """
    seen: set[str] = set()
    expected_n: int | None = None
    current: list[SampleIn] = []
    count = 0

    def finish(group: list[SampleIn]) -> Problem:
        nonlocal expected_n
        first = group[0]
        indices = [s.sample_idx for s in group]
        if all(i < 0 for i in indices):
            for j, s in enumerate(group):
                s.sample_idx = j
        elif any(i < 0 for i in indices) or len(set(indices)) != len(indices):
            raise DataFileError(
                f"{_where(path, first.line)}: problem {first.problem_id!r} has missing or repeated sample_idx "
                f"values {indices}; give every sample a distinct sample_idx or none at all"
            )
        if expected_n is None:
            expected_n = len(group)
        elif len(group) != expected_n and not allow_ragged:
            raise DataFileError(
                f"{_where(path, first.line)}: problem {first.problem_id!r} has {len(group)} samples but the first "
                f"problem has {expected_n}; every problem needs the same number of samples "
                "(or set eval.allow_ragged=true to accept it: then N of best-of-N is at most the smallest n)"
            )
        return Problem(first.problem_id, first.prompt, first.answer, group, first.line)

    for sample in samples:
        if current and sample.problem_id != current[0].problem_id:
            yield finish(current)
            count += 1
            current = []
            if max_problems is not None and count >= max_problems:
                return
        if not current:
            if sample.problem_id in seen:
                raise DataFileError(
                    f"{_where(path, sample.line)}: problem {sample.problem_id!r} appears again after other problems; "
                    "rows must be prompt-major (all samples of a problem consecutive)"
                )
            seen.add(sample.problem_id)
        elif sample.prompt != current[0].prompt or sample.answer != current[0].answer:
            raise DataFileError(
                f"{_where(path, sample.line)}: problem {sample.problem_id!r} has rows with different prompts or "
                f"gold answers (first at line {current[0].line}); give each problem its own problem_id"
            )
        current.append(sample)
    if current and (max_problems is None or count < max_problems):
        yield finish(current)


def discard_stale_temps(path: str | os.PathLike) -> list[Path]:
    """Delete temporary files of ``path`` left by killed evaluations; return them.

    An evaluation killed mid-file leaves ``.<name>.<pid>.<random>.tmp``; a rerun starts from scratch
    (it does not resume from the partial file) and removes such files whose process no longer runs.
    Files of a live process (another evaluation writing there right now) are left alone.
    """
    path = Path(path)
    removed = []
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        pid = tmp.name[len(path.name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and process_alive(int(pid)):
            continue
        tmp.unlink(missing_ok=True)
        removed.append(tmp)
    return removed


class SampleWriter:
    """Write ``samples.jsonl`` rows incrementally into a temporary file; ``commit`` renames it into place.

    Used as a context manager: an exception removes the temporary file, so a failed evaluation leaves
    no half-written output (and an older ``samples.jsonl`` untouched). A process killed outright leaves its
    temporary file behind; the next writer of the same path discards it (:func:`discard_stale_temps`):
    a rerun restarts the evaluation from scratch and writes the same rows.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        discard_stale_temps(self.path)
        fd, tmp = temp_file_beside(self.path, f".{self.path.name}.{os.getpid()}.")
        self.tmp = Path(tmp)
        self.handle = os.fdopen(fd, "w", encoding="utf-8")
        self.rows = 0

    def write(self, row: dict[str, Any]) -> None:
        try:
            self.handle.write(json.dumps(row, allow_nan=False, ensure_ascii=False) + "\n")
        except ValueError as err:
            raise ValueError(
                f"sample row {self.rows} ({row.get('problem_id')!r}) holds NaN/inf: {err}"
            ) from None
        self.rows += 1
        fault_point("eval_write")  # deterministic fault injection (reasoning_irl.faults); no-op when unset

    def commit(self) -> Path:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        if not self.handle.closed:
            self.handle.close()
        self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> SampleWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None or self.tmp.exists():
            self.abort()
