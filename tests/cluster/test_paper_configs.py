"""The two experiment sets (configs/experiment/{paper,verifier_free}/, configs/plots/<set>_*.yaml).

- the committed files are exactly what ``scripts/make_paper_configs.py`` writes;
- every training and evaluation config of both sets composes onto its entry point's schema (no unknown
  key, no wrong type) with the values of its set: ``paper`` the reference's (docs/METHOD.md §9, §3–5,
  §2.2, §3.3, evaluation at T = 0.5), ``verifier_free`` no gold answers anywhere;
- every file begins with its ``# @package _global_`` header and then the command that runs it;
- the plot specs parse and name each run's training folder and evaluation.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from reasoning_irl.testing import compose_experiments

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import make_paper_configs as grid  # noqa: E402

FILES = {group: sorted((ROOT / "configs" / "experiment" / group).rglob("*.yaml")) for group in grid.SETS}


def _entry(path: Path) -> str:
    if path.parent.name == "eval":
        return "evaluate"
    (method,) = [m for m in grid.METHODS if path.stem.endswith(f"_{m}")]
    return grid.ENTRY[method].removesuffix(".py")


def _name(group: str, path: Path) -> str:
    return f"{group}/eval/{path.stem}" if path.parent.name == "eval" else f"{group}/{path.stem}"


def test_committed_files_equal_the_generator_output():
    result = subprocess.run([sys.executable, str(ROOT / "scripts/make_paper_configs.py"), "--check"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_grids_are_complete():
    for group, methods in grid.SET_METHODS.items():
        expected = {f"{t}_{b}_{m}" for t in grid.TASKS for b in grid.BACKBONES for m in methods}
        assert len(expected) == (120 if group == "paper" else 100)
        assert {p.stem for p in FILES[group] if p.parent.name != "eval"} == expected
        assert {p.stem for p in FILES[group] if p.parent.name == "eval"} == expected


def test_every_file_starts_with_header_and_command():
    for group, paths in FILES.items():
        for path in paths:
            lines = path.read_text().splitlines()
            assert lines[0] == "# @package _global_", path
            assert lines[1].startswith("#   ") and f"{_entry(path)}.py experiment={_name(group, path)}" in lines[1], (
                path, lines[1])


@pytest.fixture(scope="module")
def composed():
    """Every experiment of both sets composed onto its entry's schema (440 compositions, over the cores)."""
    runs = {_name(group, path): (_entry(path), [f"experiment={_name(group, path)}"])
            for group, paths in FILES.items() for path in paths}
    cfgs = compose_experiments(ROOT / "configs", runs)
    return {name: (name.split("/", 1)[0], entry, cfgs[name]) for name, (entry, _) in runs.items()}


def _cell(name: str) -> tuple[str, str, str]:
    (cell,) = [(t, b, m) for t in grid.TASKS for b in grid.BACKBONES for m in grid.METHODS
               if name.rsplit("/", 1)[-1] == f"{t}_{b}_{m}"]
    return cell


def test_every_experiment_composes_with_its_sets_values(composed):
    assert len(composed) == 2 * (120 + 100)
    for name, (group, entry, cfg) in composed.items():
        task, backbone, method = _cell(name)
        paper = group == "paper"
        assert cfg.task.name == task, name
        assert cfg.seed == 42
        assert cfg.model.lora_rank == 256 and cfg.model.max_completion_length == 824, name
        assert cfg.model.max_prompt_length == (350 if backbone == "llama3.1-8b" and task in grid.NEEDS_TRACES
                                               else 300), name
        assert 0 < cfg.task.validation_fraction < 1  # validation carved from train, never test (docs/METHOD.md §10.3)
        if entry == "evaluate":
            assert cfg.eval.split == "test" and cfg.sampling.n_samples == 16 and cfg.eval.ks == [1, 3, 5, 10]
            assert cfg.eval.run_dir == f"outputs/{group}-{task}-{backbone}-{method}-seed42", name
            assert cfg.eval.fit_on is None  # nothing fitted on test
            assert cfg.sampling.temperature == (0.5 if paper else 1.0), name  # the paper evaluated at T = 0.5
            continue
        assert cfg.run_name == f"{group}-{task}-{backbone}-{method}-seed42"
        assert cfg.model.gradient_checkpointing, name  # issue 14: 824-token completions at 3B+
        t = cfg.training
        assert t.max_steps == 400 and t.lr_scheduler == "cosine" and t.warmup_ratio == 0.1
        assert (t.adam_beta1, t.adam_beta2, t.weight_decay, t.max_grad_norm) == (0.9, 0.99, 0.1, 1.0)
        assert t.select_by == ("correctness" if paper else "nll"), name
        if entry == "train_irl":
            d = cfg.discriminator
            assert cfg.reward.granularity == method.removeprefix("airl_")
            assert t.learning_rate == 5e-6 and d.learning_rate == 1e-5
            assert t.reward_warmup_steps == 250 and t.batch_prompts * cfg.sampling.num_generations == 128
            assert d.updates_per_step == 3 and d.reward_clip == 5.0 and d.micro_batch_size <= 4  # issue 14
            assert cfg.reward.micro_batch_size <= 4 and t.keep_checkpoints == 1
            assert not cfg.algo.use_outcome_rewards and cfg.algo.kl_beta == 0.1
            assert (cfg.sampling.temperature, cfg.sampling.top_p, cfg.sampling.max_new_tokens) == (1.0, 0.95, 824)
            if paper:
                _check_paper_airl(cfg, task)
            else:
                assert not d.relabel_correct_samples  # verifier-free: no gold answers
                assert (cfg.reward.head, d.form, d.label_positions, cfg.algo.advantage) == (
                    "log_prob", "airl", "prefix", "group")
                assert d.perturbations is None  # the task kind's list
        elif entry == "train_sft":
            assert t.learning_rate == 1e-5 and t.batch_size * t.gradient_accumulation_steps == 128
        else:
            assert paper, "the verifier-free set has no GRPO run (it trains on gold answers)"
            assert t.learning_rate == 5e-6 and cfg.algo.kl_beta == 0.0
            assert t.batch_prompts * cfg.sampling.num_generations * t.gradient_accumulation_steps == 128
            integer = ["integer_answer"] if task in ("gsm8k", "aime") else []
            assert t.reward_functions == ["tag_count", "soft_format", "strict_format", *integer, "correctness"]


def _check_paper_airl(cfg, task: str) -> None:
    """The reference's critic, buffer, labels, advantage and optimiser (docs/METHOD.md §3–5, §6)."""
    d = cfg.discriminator
    assert (cfg.reward.head, d.form, d.loss, d.label_smoothing) == ("linear", "gail", "bce", 0.1)
    assert cfg.reward.head_init_std == 0.02  # a fresh head initialised as transformers does
    assert d.relabel_correct_samples  # switch_label_if_correct: true in all the paper's main runs
    assert d.replay_buffer_size == 50 * 16 * 8 and d.replay_batch_size == 8  # docs/METHOD.md §5 (defect 2)
    assert d.label_positions == "sequence"  # a perturbed trace negative at every position
    assert cfg.algo.advantage == "average_dense"
    assert (d.weight_decay, d.head_weight_decay, d.lr_scheduler, d.warmup_updates_per_step) == (0.1, 0.1, "cosine", 1)
    if task in grid.MULTIPLE_CHOICE:
        assert d.perturbations == ["distractor_answer"]  # docs/METHOD.md §10 item 2 fixed: MC negatives are used
    else:
        assert d.perturbations == ["flip_operator", "nearby_answer", "corrupt_numbers"]
    assert d.perturbations_per_expert == 1


def test_commands_pass_the_traces_each_run_needs():
    for group, paths in FILES.items():
        for path in paths:
            if path.parent.name == "eval":
                continue
            task, _, method = _cell(path.stem)
            command = path.read_text().splitlines()[1]
            teacher = group == "paper" and task == "gsm8k" and method != "grpo"  # the reference's gsm8k_kd
            needed = task in grid.NEEDS_TRACES or teacher
            assert (f"task.expert_traces_path=$REASONING_IRL_DATA/{task}_traces.jsonl" in command) == needed, path


def test_plot_specs_parse_and_match_the_runs():
    from reasoning_irl.plots.spec import load_spec

    for group in grid.SETS:
        for task in grid.TASKS:
            spec = load_spec(ROOT / "configs" / "plots" / f"{group}_{task}.yaml")
            expected = {f"{group}-{task}-{b}-{m}-seed42" for b in grid.BACKBONES for m in grid.SET_METHODS[group]}
            if group == "verifier_free":
                expected |= {f"paper-{task}-{b}-grpo-seed42" for b in grid.BACKBONES}  # the gold-reward row
            assert {Path(r.run).name for r in spec.runs} == expected
            assert {r.form for r in spec.runs if r.method == "airl"} == {"gail" if group == "paper" else "airl"}


def test_composing_in_worker_processes_gives_what_this_process_composes(composed):
    """The fixture's compositions (worker processes) equal this process's: one run per set and entry."""
    first = {}
    for name, (group, entry, _) in composed.items():
        first.setdefault((group, entry), name)
    assert len(first) == 7  # paper: 4 entries; verifier_free: no GRPO
    runs = {n: (composed[n][1], [f"experiment={n}"]) for n in first.values()}
    here = compose_experiments(ROOT / "configs", runs, processes=1)
    assert here == {n: composed[n][2] for n in first.values()}
