"""Plot specs: YAML files that say which runs to plot, validated strictly (docs/PLOTS.md).

A spec names run folders (docs/ARCHITECTURE.md (Runs and outputs)) and the checkpoint to read inside each;
relative paths resolve against the spec file's folder, so a spec can be run from anywhere. Every key is
checked: an unknown (misspelt) key or a value of the wrong type is a :class:`SpecError` that names the file,
the entry and the key. Nothing here touches the run folders — :mod:`reasoning_irl.plots.load` does.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from reasoning_irl.config.reward import FORMS, GRANULARITIES

METHODS = ("airl", "sft", "grpo")
TOKEN_VALUES = ("reward", "score")
TRANSFER_AXES = ("task", "backbone")


class SpecError(ValueError):
    """A plot spec is invalid; the message names the file, the entry and the key."""


@dataclass(frozen=True)
class RunSpec:
    #: Shown in legends and tables.
    label: str
    #: ``airl``, ``sft`` or ``grpo``.
    method: str
    #: Task the run was evaluated on (``arith``, ``gsm8k``, …): picks the evaluation folder ``<mode>_<task>``.
    task: str
    #: The run folder (``outputs/<run_name>``); relative paths resolve against the spec's folder.
    run: str
    #: AIRL only: ``sparse``, ``step``, ``interval`` or ``dense``.
    granularity: str | None = None
    #: AIRL only: ``gail`` or ``airl``.
    form: str | None = None
    #: Short identifier (output sub-folder, transfer references); default: the label, slugified.
    name: str | None = None
    #: Checkpoint folder inside the run (``best``, ``final``, ``checkpoints/step-100``); default: the spec's.
    checkpoint: str | None = None
    #: Evaluation folder name under ``<run>/<checkpoint>/eval/`` (``generate_arith``); default: the first of
    #: ``generate``, ``aime``, ``pregenerated_policy_and_reward``, ``pregenerated_policy``, ``localisation``
    #: (each ``_<task>``) that exists.
    eval: str | None = None
    #: Backbone name (``qwen2.5-3b``, ``tiny``): the transfer heatmap's axis when ``axes: backbone``.
    backbone: str | None = None

    @property
    def key(self) -> str:
        return self.name or slugify(self.label)


@dataclass(frozen=True)
class TokenFigures:
    #: How many prompts get a token view (each pairs its best-scored correct and worst-scored wrong sample).
    prompts: int = 3
    #: Colour of a token: ``reward`` (the increment the policy receives at a scored position, shared by the
    #: tokens of its segment) or ``score`` (the prefix value at the segment's scored position).
    value: str = "reward"
    #: Characters per line in the figures before a line is wrapped.
    line_width: int = 96


@dataclass(frozen=True)
class TransferSpec:
    #: Name of the run whose reward model scores.
    reward_run: str
    #: Name of the run whose samples are scored.
    policy_run: str
    #: The evaluation folder (path, relative to the spec's folder); default: ``<transfer_root>/P_<policy run
    #: folder>_R_<reward run folder>`` when the spec sets ``transfer_root`` (docs/EVALUATION_GUIDE.md §7), else
    #: ``<reward_run>/<checkpoint>/eval/pregenerated_policy_and_reward_<policy run's task>``.
    eval_dir: str | None = None


@dataclass(frozen=True)
class PlotSpec:
    #: Runs to plot (main spec), or the runs transfer entries refer to (transfer spec).
    runs: tuple[RunSpec, ...]
    #: Folder for figures, tables and the report; relative paths resolve against the spec's folder.
    output_root: str = "figures"
    #: Checkpoint folder inside each run (``--ckpt`` overrides it).
    checkpoint: str = "best"
    #: Title of the HTML report.
    title: str = "reasoning-irl results"
    #: Token-level reward views (``--no-token-figs`` turns them off).
    token_figures: TokenFigures = field(default_factory=TokenFigures)
    #: Training-log keys to plot (default: every numeric key of ``metrics.jsonl`` but ``step``).
    training_keys: tuple[str, ...] | None = None
    #: Transfer spec only: the entries of the heatmap.
    transfer: tuple[TransferSpec, ...] = ()
    #: Transfer spec only: folder holding one ``P_<policy>_R_<reward>`` evaluation folder per entry.
    transfer_root: str | None = None
    #: Transfer spec only: heatmap axes by ``task`` or ``backbone`` (reward's on rows, policy's on columns).
    axes: str = "task"
    #: Folder of the spec file (relative paths resolve against it); not a YAML key.
    base_dir: Path = field(default=Path("."), compare=False)
    #: Where the spec came from (for messages); not a YAML key.
    source: str = field(default="<spec>", compare=False)

    def resolve(self, path: str) -> Path:
        """A spec path: absolute as is, relative against the spec's folder."""
        p = Path(path).expanduser()
        return Path(os.path.normpath(p if p.is_absolute() else self.base_dir / p))

    def run_by_key(self) -> dict[str, RunSpec]:
        return {r.key: r for r in self.runs}


_INTERNAL = ("base_dir", "source")


def slugify(text: str) -> str:
    """A file-name-safe lower-case identifier: ``"AIRL (step)"`` → ``"airl-step"``."""
    slug = re.sub(r"[^a-z0-9._]+", "-", text.lower()).strip("-.")  # never ".", ".." or a hidden name
    return slug or "run"


def _type_name(kind: Any) -> str:
    return {str: "a string", int: "an integer", bool: "true/false"}.get(kind, str(kind))


def _check_scalar(value: Any, kind: type, where: str) -> Any:
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        raise SpecError(f"{where} must be {_type_name(kind)}, got {type(value).__name__} {value!r}")
    return value


def _check_keys(data: Any, cls: type, where: str, internal: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise SpecError(f"{where} must be a mapping of keys to values, got {type(data).__name__}")
    allowed = [f.name for f in fields(cls) if f.name not in internal]
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise SpecError(f"{where}: unknown key {key!r}{hint}; allowed keys: {', '.join(allowed)}")
    return dict(data)


def _required(data: Mapping[str, Any], keys: tuple[str, ...], where: str) -> None:
    for key in keys:
        if key not in data or data[key] is None:
            raise SpecError(f"{where}: the key {key!r} is required")


def _choice(value: Any, choices: tuple[str, ...], where: str) -> str:
    _check_scalar(value, str, where)
    if value not in choices:
        raise SpecError(f"{where}={value!r} is not one of {', '.join(choices)}")
    return value


def _folder_name(value: Any, where: str, example: str = "best", inside: str = "the run folder") -> None:
    """A name that becomes one path component (checkpoint, eval folder, task): no separator, ``..`` or drive."""
    if value is not None and (value in ("", ".", "..") or any(c in value for c in "/\\:\0")):
        raise SpecError(f"{where}={value!r} must be a single folder name inside {inside} (such as "
                        f"{example!r}), not a path")


def check_folder_name(value: str, where: str) -> None:
    """``--ckpt`` and the like: one folder name inside the run folder, else a :class:`SpecError`."""
    _folder_name(value, where)


def _parse_run(data: Any, where: str) -> RunSpec:
    data = _check_keys(data, RunSpec, where)
    _required(data, ("label", "method", "task", "run"), where)
    for key in ("label", "task", "run", "name", "checkpoint", "eval", "backbone"):
        if data.get(key) is not None:
            _check_scalar(data[key], str, f"{where}.{key}")
    for key in ("checkpoint", "eval"):
        _folder_name(data.get(key), f"{where}.{key}")
    # The task names the evaluation folder <mode>_<task> and the figure folder pass_at_k/<task>.
    _folder_name(data.get("task"), f"{where}.task", "arith", "the output folder")
    method = _choice(data["method"], METHODS, f"{where}.method")
    if method == "airl":
        _required(data, ("granularity", "form"), f"{where} (method airl)")
        _choice(data["granularity"], GRANULARITIES, f"{where}.granularity")
        _choice(data["form"], FORMS, f"{where}.form")
    else:
        for key in ("granularity", "form"):
            if data.get(key) is not None:
                raise SpecError(f"{where}.{key} is given for method {method!r}; it applies to method airl only")
    if data.get("name") is not None and slugify(data["name"]) != data["name"]:
        raise SpecError(f"{where}.name={data['name']!r} must be a file-name-safe identifier such as "
                        f"{slugify(data['name'])!r}")
    return RunSpec(**data)


def _parse_token_figures(data: Any, where: str) -> TokenFigures:
    data = _check_keys(data, TokenFigures, where)
    for key in ("prompts", "line_width"):
        if key in data:
            _check_scalar(data[key], int, f"{where}.{key}")
            if data[key] < (0 if key == "prompts" else 20):
                raise SpecError(f"{where}.{key}={data[key]} is too small")
    if "value" in data:
        _choice(data["value"], TOKEN_VALUES, f"{where}.value")
    return TokenFigures(**data)


def _parse_transfer(data: Any, where: str) -> TransferSpec:
    data = _check_keys(data, TransferSpec, where)
    _required(data, ("reward_run", "policy_run"), where)
    for key in ("reward_run", "policy_run", "eval_dir"):
        if data.get(key) is not None:
            _check_scalar(data[key], str, f"{where}.{key}")
    return TransferSpec(**data)


def _parse_list(data: Any, where: str) -> list[Any]:
    if not isinstance(data, list):
        raise SpecError(f"{where} must be a list, got {type(data).__name__}")
    return data


def parse_spec(data: Any, *, base_dir: str | Path = ".", source: str = "<spec>", kind: str = "main") -> PlotSpec:
    """Validate a spec mapping (``kind`` ``main`` or ``transfer``) into a :class:`PlotSpec`."""
    data = _check_keys(data, PlotSpec, source, _INTERNAL)
    _required(data, ("runs",), source)
    for key in ("output_root", "checkpoint", "title", "axes", "transfer_root"):
        if key in data:
            _check_scalar(data[key], str, f"{source}: {key}")
    _folder_name(data.get("checkpoint"), f"{source}: checkpoint")
    runs = tuple(_parse_run(r, f"{source}: runs[{i}]")
                 for i, r in enumerate(_parse_list(data["runs"], f"{source}: runs")))
    if not runs:
        raise SpecError(f"{source}: runs is empty; list at least one run")
    keys = [r.key for r in runs]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise SpecError(f"{source}: several runs have the name {duplicates[0]!r}; give each run a distinct "
                        "label or name")
    token_figures = _parse_token_figures(data.get("token_figures", {}), f"{source}: token_figures")
    training_keys = data.get("training_keys")
    if training_keys is not None:
        for i, k in enumerate(_parse_list(training_keys, f"{source}: training_keys")):
            _check_scalar(k, str, f"{source}: training_keys[{i}]")
        training_keys = tuple(training_keys)
    transfer = tuple(_parse_transfer(t, f"{source}: transfer[{i}]")
                     for i, t in enumerate(_parse_list(data.get("transfer", []), f"{source}: transfer")))
    axes = _choice(data.get("axes", "task"), TRANSFER_AXES, f"{source}: axes")
    if kind == "transfer":
        if not transfer:
            raise SpecError(f"{source}: a transfer spec needs a non-empty 'transfer' list of "
                            "{reward_run, policy_run} entries")
        for i, entry in enumerate(transfer):
            for role in ("reward_run", "policy_run"):
                name = getattr(entry, role)
                if name not in keys:
                    raise SpecError(f"{source}: transfer[{i}].{role}={name!r} names no run; runs are: "
                                    f"{', '.join(keys)}")
        if axes == "backbone":
            for r in runs:
                if not r.backbone:
                    raise SpecError(f"{source}: axes is 'backbone' but run {r.key!r} has no 'backbone'")
        by_key, cells = dict(zip(keys, runs)), {}
        for i, entry in enumerate(transfer):
            cell = tuple(getattr(by_key[getattr(entry, role)], axes) for role in ("reward_run", "policy_run"))
            if cell in cells:
                raise SpecError(f"{source}: transfer[{i}] and transfer[{cells[cell]}] fill the same heatmap cell "
                                f"(reward's {axes} {cell[0]!r}, policy's {axes} {cell[1]!r}); drop one, or plot "
                                "them with the other 'axes'")
            cells[cell] = i
    elif kind == "main":
        if transfer or "axes" in data or "transfer_root" in data:
            raise SpecError(f"{source}: 'transfer', 'axes' and 'transfer_root' belong in a transfer spec "
                            "(python -m reasoning_irl.plots.transfer); remove them from this main spec")
    else:
        raise ValueError(f"kind={kind!r}; use 'main' or 'transfer'")
    values = {k: v for k, v in data.items() if k not in ("runs", "token_figures", "training_keys", "transfer")}
    return PlotSpec(runs=runs, token_figures=token_figures, training_keys=training_keys, transfer=transfer,
                    **values, base_dir=Path(base_dir), source=source)


def load_spec(path: str | Path, kind: str = "main") -> PlotSpec:
    """Read and validate a YAML spec file; relative paths in it resolve against its folder."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"plot spec {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise SpecError(f"{path}: not valid YAML ({err})") from None
    return parse_spec(data, base_dir=path.resolve().parent, source=str(path), kind=kind)


def runs_spec(runs: list[Mapping[str, Any] | RunSpec], output_root: str | Path, **options: Any) -> PlotSpec:
    """A main spec built in code (the demo's): run mappings as in YAML, paths relative to the cwd."""
    data = {"runs": [r if isinstance(r, Mapping) else {f.name: getattr(r, f.name) for f in fields(r)
                                                        if getattr(r, f.name) is not None} for r in runs],
            "output_root": str(output_root), **options}
    return parse_spec(data, base_dir=Path.cwd(), source="<runs>")
