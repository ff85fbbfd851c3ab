"""Plot specs are validated strictly: unknown keys, wrong types and dangling references name the key."""

from pathlib import Path

import pytest
import yaml

from reasoning_irl.plots.spec import SpecError, load_spec, parse_spec, slugify

RUN = {"label": "AIRL (step)", "method": "airl", "granularity": "step", "form": "airl", "task": "arith",
       "run": "runs/airl"}
SFT = {"label": "SFT", "method": "sft", "task": "arith", "run": "runs/sft"}


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_valid_spec_resolves_paths_against_its_folder(tmp_path):
    spec = load_spec(write(tmp_path, {"output_root": "out", "checkpoint": "final", "runs": [RUN, SFT]}))
    assert [r.key for r in spec.runs] == ["airl-step", "sft"]
    assert spec.resolve(spec.runs[0].run) == tmp_path.resolve() / "runs" / "airl"
    assert spec.resolve(spec.output_root) == tmp_path.resolve() / "out"
    assert spec.checkpoint == "final" and spec.token_figures.prompts == 3


@pytest.mark.parametrize("data, words", [
    ({"runs": [RUN], "ouput_root": "x"}, ["ouput_root", "did you mean 'output_root'"]),
    ({"runs": [{**RUN, "granularty": "step"}]}, ["runs[0]", "granularty", "did you mean 'granularity'"]),
    ({"runs": [RUN], "token_figures": {"promts": 2}}, ["token_figures", "promts"]),
    ({"runs": [{**RUN, "task": 3}]}, ["runs[0].task", "must be a string"]),
    ({"runs": [RUN], "token_figures": {"prompts": "two"}}, ["token_figures.prompts", "integer"]),
    ({"runs": [{**RUN, "method": "ppo"}]}, ["runs[0].method='ppo'", "airl, sft, grpo"]),
    ({"runs": [{k: v for k, v in RUN.items() if k != "form"}]}, ["runs[0]", "'form' is required"]),
    ({"runs": [{**SFT, "granularity": "dense"}]}, ["runs[0].granularity", "airl only"]),
    ({"runs": [RUN, RUN]}, ["airl-step", "distinct"]),
    ({"runs": []}, ["runs is empty"]),
    ({"runs": [RUN], "transfer": [{"reward_run": "airl-step", "policy_run": "airl-step"}]}, ["transfer spec"]),
])
def test_invalid_main_spec_names_the_key(tmp_path, data, words):
    with pytest.raises(SpecError) as err:
        load_spec(write(tmp_path, data))
    for word in words:
        assert word in str(err.value)
    assert "spec.yaml" in str(err.value)


def test_transfer_spec_checks_references_and_cells():
    runs = [{**RUN, "name": "airl"}, {**SFT, "name": "sft"}]
    spec = parse_spec({"runs": runs, "transfer": [{"reward_run": "airl", "policy_run": "sft"}]}, kind="transfer")
    assert spec.transfer[0].reward_run == "airl" and spec.axes == "task"
    with pytest.raises(SpecError, match="policy_run='sfft' names no run"):
        parse_spec({"runs": runs, "transfer": [{"reward_run": "airl", "policy_run": "sfft"}]}, kind="transfer")
    with pytest.raises(SpecError, match="same heatmap cell"):
        parse_spec({"runs": runs, "transfer": [{"reward_run": "airl", "policy_run": "sft"},
                                               {"reward_run": "sft", "policy_run": "airl"}]}, kind="transfer")
    with pytest.raises(SpecError, match="has no 'backbone'"):
        parse_spec({"runs": runs, "axes": "backbone", "transfer": [{"reward_run": "airl", "policy_run": "sft"}]},
                   kind="transfer")
    with pytest.raises(SpecError, match="non-empty 'transfer'"):
        parse_spec({"runs": runs}, kind="transfer")


def test_slugify():
    assert slugify("AIRL (step, γ=1)") == "airl-step-1"
    assert slugify("///") == "run"


def test_shipped_specs_parse():
    root = Path(__file__).resolve().parents[2]
    assert load_spec(root / "configs/plots/main.yaml").runs
    assert load_spec(root / "configs/plots/transfer.yaml", kind="transfer").transfer
