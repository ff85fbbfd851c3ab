"""Security promises (issue 8 §4, docs/RELIABILITY.md) that no component test already checks.

Covered elsewhere: a pickled model is refused unless ``model.allow_pickle=true`` and
``trust_remote_code`` follows the config (tests/models/test_loading.py); an AIRL run resumed after a
SIGKILL with the default ``allow_pickle=false`` and no pickle file in its run folder
(tests/reliability/test_faults.py).
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*(ROOT / "src").rglob("*.py"), *ROOT.glob("*.py"), *(ROOT / "bench").rglob("*.py")])


def _calls(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else None
            dotted = None
            if isinstance(func, ast.Attribute):
                base = func.value.id if isinstance(func.value, ast.Name) else None
                dotted = f"{base}.{func.attr}"
            yield node, name, dotted


def _keyword(node: ast.Call, name: str):
    for kw in node.keywords:
        if kw.arg == name:
            return kw.value
    return None


def test_nothing_is_passed_to_eval_or_exec_and_nothing_unpickled():
    found = []
    for path in SOURCES:
        for node, name, dotted in _calls(path):
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if name in ("eval", "exec", "compile", "__import__"):
                found.append(f"{where} {name}()")
            if dotted in ("pickle.load", "pickle.loads", "marshal.loads", "dill.load", "joblib.load"):
                found.append(f"{where} {dotted}()")
            if dotted == "torch.load":
                flag = _keyword(node, "weights_only")
                if not (isinstance(flag, ast.Constant) and flag.value is True):
                    found.append(f"{where} torch.load without weights_only=True")
    assert not found, found


def test_yaml_is_read_with_safe_loaders_only():
    found = []
    for path in SOURCES:
        for node, _, dotted in _calls(path):
            if dotted in ("yaml.load", "yaml.unsafe_load", "yaml.full_load", "yaml.load_all", "yaml.unsafe_load_all"):
                loader = _keyword(node, "Loader")
                safe = isinstance(loader, ast.Attribute) and loader.attr in ("SafeLoader", "CSafeLoader")
                if not safe:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {dotted}")
    assert not found, found


def test_trainer_state_of_trl_runs_is_read_with_weights_only():
    """The pinned transformers Trainer reads optimizer/scheduler/RNG/scaler state with weights_only=True."""
    trainer = Path(importlib.util.find_spec("transformers.trainer").origin)
    loads = [node for node, _, dotted in _calls(trainer) if dotted == "torch.load"]
    assert loads
    unsafe = [node.lineno for node in loads
              if not (isinstance(_keyword(node, "weights_only"), ast.Constant)
                      and _keyword(node, "weights_only").value)]
    assert not unsafe, f"transformers/trainer.py torch.load without weights_only=True at lines {unsafe}"


def test_loop_state_refuses_what_it_cannot_store_without_pickle(tmp_path):
    from reasoning_irl.trainers.loop_state import read_state, write_state

    with pytest.raises(TypeError, match="without pickle"):
        write_state(tmp_path, {"obj": object()})
    write_state(tmp_path, {"a": (1, 2.5, float("inf")), "b": {3: "x"}})
    assert read_state(tmp_path) == {"a": (1, 2.5, float("inf")), "b": {3: "x"}}
    assert {p.suffix for p in tmp_path.iterdir()} == {".json", ".safetensors"}


def test_trust_remote_code_and_pickle_are_off_unless_configured():
    from reasoning_irl.config.model import ModelConfig

    cfg = ModelConfig()
    assert cfg.trust_remote_code is False and cfg.allow_pickle is False
    for path in (ROOT / "configs" / "model").glob("*.yaml"):
        text = path.read_text()
        assert "trust_remote_code: true" not in text and "allow_pickle: true" not in text, path


@pytest.mark.parametrize("key, value", [("checkpoint", "../../etc"), ("checkpoint", "/etc"), ("eval", "../x"),
                                        ("eval", "..")])
def test_plot_spec_names_cannot_escape_the_run_folder(key, value):
    from reasoning_irl.plots.spec import SpecError, parse_spec

    run = {"label": "SFT", "method": "sft", "task": "arith", "run": "runs/sft", key: value}
    with pytest.raises(SpecError, match=rf"runs\[0\]\.{key}=.*single folder name"):
        parse_spec({"runs": [run]}, base_dir=Path("/tmp/spec"), source="spec.yaml")
    with pytest.raises(SpecError, match="single folder name"):
        parse_spec({"runs": [{**run, key: "best"}], "checkpoint": "../.."}, base_dir=Path("/tmp/spec"))


def test_plot_spec_relative_paths_resolve_inside_the_spec_folder(tmp_path):
    from reasoning_irl.plots.spec import parse_spec

    spec = parse_spec({"runs": [{"label": "SFT", "method": "sft", "task": "arith", "run": "runs/sft"}],
                       "output_root": "figs"}, base_dir=tmp_path)
    assert spec.resolve(spec.runs[0].run) == tmp_path / "runs" / "sft"
    assert spec.resolve(spec.output_root).parent == tmp_path


@pytest.mark.parametrize("value", ["../other-run/best", "/etc", "best/../../x", "..", ".", "C:/x", "a//b"])
def test_eval_checkpoint_cannot_escape_the_run_folder(value):
    from reasoning_irl.eval.modes import build_config

    message = (rf"eval\.checkpoint={re.escape(repr(value))} would leave the run folder "
               r".*best, final or checkpoints/step-N")
    with pytest.raises(ValueError, match=message):
        build_config({"eval.run_dir": "runs/x", "eval.checkpoint": value})
    for name in ("best", "final", "checkpoints/step-4"):  # the names a run folder holds
        assert build_config({"eval.run_dir": "runs/x", "eval.checkpoint": name}).eval.checkpoint == name


def test_evaluate_refuses_an_escaping_checkpoint_before_any_work(tmp_path):
    run = tmp_path / "run"
    done = subprocess.run([sys.executable, str(ROOT / "evaluate.py"), f"eval.run_dir={run}",
                           "eval.checkpoint=../../outside", f"output_root={tmp_path}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode != 0
    assert "eval.checkpoint='../../outside' would leave the run folder" in done.stderr, done.stderr[-2000:]
    assert not (tmp_path.parent / "outside").exists() and not run.exists()
