"""The paper's experiment grid (configs/experiment/paper/, configs/plots/paper_*.yaml).

- the committed files are exactly what ``scripts/make_paper_configs.py`` writes;
- every training and evaluation config composes onto its entry point's schema (no unknown key, no
  wrong type) with the values of METHOD.md §7.2 and its fixes (validation from train, verifier-free);
- every file begins with its ``# @package _global_`` header and then the command that runs it;
- the plot specs parse and name each run's training folder and evaluation.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from reasoning_irl.cli import to_schema
from reasoning_irl.config.schema import SCHEMAS

ROOT = Path(__file__).resolve().parents[2]
PAPER = ROOT / "configs" / "experiment" / "paper"
sys.path.insert(0, str(ROOT / "scripts"))
import make_paper_configs as grid  # noqa: E402

TRAIN = sorted(PAPER.glob("*.yaml"))
EVAL = sorted((PAPER / "eval").glob("*.yaml"))


def _entry(path: Path) -> str:
    (method,) = [m for m in grid.METHODS if path.stem.endswith(f"_{m}")]
    return grid.ENTRY[method].removesuffix(".py")


def test_committed_files_equal_the_generator_output():
    result = subprocess.run([sys.executable, str(ROOT / "scripts/make_paper_configs.py"), "--check"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_grid_is_complete():
    expected = {f"{t}_{b}_{m}" for t in grid.TASKS for b in grid.BACKBONES for m in grid.METHODS}
    assert len(expected) == 120
    assert {p.stem for p in TRAIN} == expected
    assert {p.stem for p in EVAL} == expected


def test_every_file_starts_with_header_and_command():
    for path in TRAIN + EVAL:
        lines = path.read_text().splitlines()
        assert lines[0] == "# @package _global_", path
        entry = "evaluate" if path.parent.name == "eval" else _entry(path)
        name = f"paper/eval/{path.stem}" if entry == "evaluate" else f"paper/{path.stem}"
        assert lines[1].startswith("#   ") and f"{entry}.py experiment={name}" in lines[1], (path, lines[1])


@pytest.fixture(scope="module")
def composed():
    """Every experiment composed onto its entry's schema (about 240 compositions)."""
    out = {}
    with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
        for path in TRAIN + EVAL:
            entry = "evaluate" if path.parent.name == "eval" else _entry(path)
            name = f"paper/eval/{path.stem}" if entry == "evaluate" else f"paper/{path.stem}"
            cfg = compose(config_name=entry, overrides=[f"experiment={name}"])
            out[name] = (entry, to_schema(cfg, SCHEMAS[entry]))
    return out


def test_every_experiment_composes_with_the_paper_values(composed):
    assert len(composed) == 240
    for name, (entry, cfg) in composed.items():
        (task, backbone, method), = [(t, b, m) for t in grid.TASKS for b in grid.BACKBONES for m in grid.METHODS
                                     if name.rsplit("/", 1)[-1] == f"{t}_{b}_{m}"]
        assert cfg.task.name == task, name
        assert cfg.seed == 42
        assert cfg.model.lora_rank == 256 and cfg.model.max_completion_length == 824, name
        assert cfg.model.max_prompt_length == (350 if backbone == "llama3.1-8b" and task in grid.NEEDS_TRACES
                                               else 300), name
        assert 0 < cfg.task.validation_fraction < 1  # validation carved from train, never test
        if entry == "evaluate":
            assert cfg.eval.split == "test" and cfg.sampling.n_samples == 16 and cfg.eval.ks == [1, 3, 5, 10]
            assert cfg.eval.run_dir == f"outputs/paper-{task}-{backbone}-{method}-seed42", name
            assert cfg.eval.fit_on is None  # nothing fitted on test
            continue
        assert cfg.run_name == f"paper-{task}-{backbone}-{method}-seed42"
        t = cfg.training
        assert t.max_steps == 400 and t.lr_scheduler == "cosine" and t.warmup_ratio == 0.1
        assert (t.adam_beta1, t.adam_beta2, t.weight_decay, t.max_grad_norm) == (0.9, 0.99, 0.1, 1.0)
        assert t.select_by == "nll", name  # verifier-free selection (METHOD §9 item 3)
        if entry == "train_irl":
            assert cfg.reward.granularity == method.removeprefix("airl_")
            assert t.learning_rate == 5e-6 and cfg.discriminator.learning_rate == 1e-5
            assert t.reward_warmup_steps == 250 and t.batch_prompts * cfg.sampling.num_generations == 128
            assert cfg.discriminator.updates_per_step == 3 and cfg.discriminator.reward_clip == 5.0
            assert not cfg.discriminator.relabel_correct_samples and not cfg.algo.use_outcome_rewards
            assert cfg.algo.kl_beta == 0.1
            assert (cfg.sampling.temperature, cfg.sampling.top_p, cfg.sampling.max_new_tokens) == (1.0, 0.95, 824)
        elif entry == "train_sft":
            assert t.learning_rate == 1e-5 and t.batch_size * t.gradient_accumulation_steps == 128
        else:
            assert t.learning_rate == 5e-6 and cfg.algo.kl_beta == 0.0
            assert t.batch_prompts * cfg.sampling.num_generations * t.gradient_accumulation_steps == 128


def test_plot_specs_parse_and_match_the_runs():
    from reasoning_irl.plots.spec import load_spec

    for task in grid.TASKS:
        spec = load_spec(ROOT / "configs" / "plots" / f"paper_{task}.yaml")
        assert len(spec.runs) == len(grid.BACKBONES) * len(grid.METHODS)
        folders = {Path(r.run).name for r in spec.runs}
        assert folders == {f"paper-{task}-{b}-{m}-seed42" for b in grid.BACKBONES for m in grid.METHODS}
