"""Modes, plans and the end-to-end loop without models: aliases, refusals, outputs, fitting, no partial files."""

import json

import pytest

from reasoning_irl.eval import modes
from reasoning_irl.eval.modes import build_config, run_evaluation
from reasoning_irl.eval.plan import ALIASES, MODES, default_output_dir, make_plan, resolve_mode
from reasoning_irl.eval.summary import summarise
from reasoning_irl.io import DataFileError
from reasoning_irl.tasks import get_task


@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_aliases(alias):
    assert resolve_mode(alias) in MODES


def test_unknown_mode_is_an_error():
    with pytest.raises(ValueError, match="eval.mode='sampling' is unknown"):
        make_plan(build_config({"eval.mode": "sampling"}))


def test_aime_with_another_task_is_an_error():
    with pytest.raises(ValueError, match="task=aime"):
        make_plan(build_config({"eval.mode": "aime_generate", "task.name": "gsm8k"}))


def test_nothing_is_fitted_on_test():
    with pytest.raises(ValueError, match="nothing is ever fitted on test"):
        make_plan(build_config({"eval.fit_on": "validation", "eval.split": "test"}))
    assert make_plan(build_config({"eval.fit_on": "validation"})).split == "validation"


def test_mode_defaults_and_missing_inputs():
    with pytest.raises(ValueError, match="pregenerated_jsonl_path"):
        make_plan(build_config({"eval.mode": "pregenerated"}))
    with pytest.raises(ValueError, match="no reward model|none is given"):
        make_plan(build_config({"eval.mode": "pregenerated_sft", "eval.pregenerated_jsonl_path": "x.jsonl"}))
    p = make_plan(
        build_config(
            {
                "eval.mode": "logprobs",
                "eval.pregenerated_jsonl_path": "x.jsonl",
                "eval.compute_policy_log_probs": False,
            }
        )
    )
    assert not p.load_policy and not p.reward


def _arith_file(tmp_path, n=3, problems=6, ragged=False, bad_line=None, split="validation"):
    """Expert traces of arith problems, some with a wrong last line (known first wrong step)."""
    task = get_task(build_config().task)
    rows = []
    for i, record in enumerate(task.load(split)[:problems]):
        for s in range(n - (1 if ragged and i == 2 else 0)):
            completion = record.target
            if (i + s) % 2:
                completion = completion.replace(
                    f"<answer>\n{record.answer}", f"<answer>\n{int(record.answer) + 1}"
                )
            rows.append(
                {
                    "prompt": record.prompt,
                    "completion": completion,
                    "answer": record.answer,
                    "problem_id": record.problem_id,
                    "sample_idx": s,
                }
            )
    lines = [json.dumps(r) for r in rows]
    if bad_line is not None:
        lines[bad_line] = "{broken"
    path = tmp_path / ("in.jsonl" if split == "validation" else f"{split}.jsonl")
    path.write_text("\n".join(lines) + "\n")
    return path


def _cfg(tmp_path, path, **extra):
    return build_config(
        {
            "eval.mode": "pregenerated_policy",
            "eval.pregenerated_jsonl_path": str(path),
            "eval.compute_policy_log_probs": False,
            "eval.output_dir": str(tmp_path / "out"),
            "eval.bootstrap_resamples": 50,
            "eval.ks": [1, 2],
            **extra,
        }
    )


def test_no_model_is_loaded_when_nothing_is_computed(tmp_path, monkeypatch):
    import reasoning_irl.models as models_pkg

    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded")

    monkeypatch.setattr(models_pkg, "load_causal_lm", refuse)
    monkeypatch.setattr(models_pkg, "load_tokenizer", refuse)
    metrics = run_evaluation(_cfg(tmp_path, _arith_file(tmp_path), **{"eval.split": "validation"}))
    assert metrics["pass_at_k"]["1"]["mean"] == pytest.approx(0.5, abs=0.2)
    out = tmp_path / "out"
    assert {p.name for p in out.iterdir()} == {"samples.jsonl", "metrics.json", "run_info.json"}
    rows = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == 18 and all("correct" in r and "extracted_answer" in r for r in rows)
    wrong = [r for r in rows if not r["correct"]]
    assert all(r["first_error_step"] == len(r["steps"]) - 1 for r in wrong)  # the answer step
    assert "timings" not in json.dumps(json.loads((out / "metrics.json").read_text()))
    assert "total" in json.loads((out / "run_info.json").read_text())["timings_s"]  # the trainers' key
    best = metrics["best_of_n"]["selectors"]
    assert not best["reward"]["available"] and "not computed" in best["reward"]["reason"]
    assert best["random"]["available"] and metrics["localisation"]["methods"]["reward"]["available"] is False
    assert "pass@k" in summarise(metrics)


@pytest.mark.parametrize("case", ["malformed", "ragged"])
def test_bad_input_leaves_no_output(tmp_path, case):
    path = _arith_file(tmp_path, bad_line=7) if case == "malformed" else _arith_file(tmp_path, ragged=True)
    with pytest.raises(DataFileError, match="in.jsonl:8" if case == "malformed" else "allow_ragged"):
        run_evaluation(_cfg(tmp_path, path, **{"eval.split": "validation"}))
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_ragged_allowed(tmp_path):
    metrics = run_evaluation(
        _cfg(
            tmp_path,
            _arith_file(tmp_path, ragged=True),
            **{"eval.split": "validation", "eval.allow_ragged": True},
        )
    )
    assert metrics["samples_per_problem"] == {"min": 2, "max": 3}
    assert metrics["best_of_n"]["Ns"] == [1, 2]


def test_scores_in_the_input_rank_without_a_model(tmp_path):
    path = _arith_file(tmp_path)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for r in rows:  # an oracle score: 1 for the correct ones
        correct = f"<answer>\n{r['answer']}\n" in r["completion"]
        r["reward"] = {"sequence_score": 1.0 if correct else -1.0, "aggregation": "last"}
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    metrics = run_evaluation(
        _cfg(tmp_path, path, **{"eval.split": "validation", "eval.reward_aggregation": "last"})
    )
    reward = metrics["best_of_n"]["selectors"]["reward"]
    assert reward["success"]["3"]["1"]["mean"] == metrics["oracle_at_n"]["3"]["mean"] == 1.0
    assert metrics["calibration"]["reward"]["auroc"]["mean"] == 1.0


def test_fit_on_validation_then_load(tmp_path):
    path = _arith_file(tmp_path)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for r in rows:
        correct = f"<answer>\n{r['answer']}\n" in r["completion"]
        r["reward"] = {"sequence_score": 2.0 if correct else 0.5, "aggregation": "last"}
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    run_evaluation(_cfg(tmp_path, path, **{"eval.fit_on": "validation", "eval.reward_aggregation": "last"}))
    calibration = json.loads((tmp_path / "out" / "calibration.json").read_text())
    assert calibration["fitted_on"]["split"] == "validation" and calibration["platt"]["reward"]["a"] > 0
    test_cfg = _cfg(
        tmp_path,
        path,
        **{
            "eval.split": "validation",
            "eval.reward_aggregation": "last",
            "eval.calibration_path": str(tmp_path / "out" / "calibration.json"),
            "eval.output_dir": str(tmp_path / "test"),
        },
    )
    metrics = run_evaluation(test_cfg)
    platt = metrics["calibration"]["reward"]["platt"]
    assert (
        platt["available"] and platt["ece"]["mean"] < metrics["calibration"]["reward"]["raw"]["ece"]["mean"]
    )


def test_fit_then_test_fits_on_validation_and_tests_with_it(tmp_path):
    files = {}
    for split in ("validation", "test"):
        path = _arith_file(tmp_path, split=split)
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        for r in rows:
            correct = f"<answer>\n{r['answer']}\n" in r["completion"]
            r["reward"] = {"sequence_score": 2.0 if correct else 0.5, "aggregation": "last"}
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        files[split] = {"eval.pregenerated_jsonl_path": str(path)}
    overrides = {"eval.mode": "pregenerated_policy", "eval.compute_policy_log_probs": False,
                 "eval.run_dir": str(tmp_path / "run"), "eval.bootstrap_resamples": 50, "eval.ks": [1, 2],
                 "eval.reward_aggregation": "last"}
    metrics = modes.fit_then_test(overrides, **files)
    eval_dir = tmp_path / "run" / "best" / "eval"
    assert (eval_dir / "pregenerated_policy_arith_validation" / "calibration.json").is_file()
    assert json.loads((eval_dir / "pregenerated_policy_arith" / "metrics.json").read_text()) == metrics
    assert metrics["calibration"]["reward"]["platt"]["available"]  # the test run read the validation fit
    alone = modes.fit_then_test({**overrides, "eval.run_dir": str(tmp_path / "alone")}, **files, fit=False)
    assert not alone["calibration"]["reward"]["platt"]["available"]
    assert not (tmp_path / "alone" / "best" / "eval" / "pregenerated_policy_arith_validation").exists()


def test_output_dir_default(tmp_path):
    cfg = build_config({"eval.run_dir": str(tmp_path / "run"), "task.name": "gsm8k"})
    assert default_output_dir(cfg, "generate") == tmp_path / "run" / "best" / "eval" / "generate_gsm8k"


def test_build_config_keeps_strings_yaml_would_misread():
    """Values are set as given: `*/` (a YAML alias if re-parsed) stays a string; a number given as text
    becomes the field's type; an unknown key is still refused."""
    cfg = modes.build_config({"task.arith_operators": "*/", "task.num_demonstrations": "100", "seed": 3})
    assert cfg.task.arith_operators == "*/" and cfg.task.num_demonstrations == 100 and cfg.seed == 3
    with pytest.raises(Exception, match="not_a_key"):
        modes.build_config({"eval.not_a_key": 1})


def test_only_the_plan_reads_the_config():
    """The evaluation is a pipeline over an EvalPlan: apart from make_plan's module, only run_evaluation
    (which makes the plan) and build_config (which builds a config) see an ``EvaluateConfig``."""
    import ast
    from pathlib import Path

    import reasoning_irl.eval as package

    allowed = {("modes.py", "run_evaluation"), ("modes.py", "build_config")}
    seen = []
    for path in sorted(Path(package.__file__).parent.glob("*.py")):
        if path.name == "plan.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names = {a.arg for a in (*node.args.args, *node.args.kwonlyargs)}
                uses = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
                if "cfg" in names | uses and (path.name, node.name) not in allowed:
                    seen.append(f"{path.name}:{node.name}")
    assert seen == []
