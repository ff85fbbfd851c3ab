"""Every config key is consumed (docs/CONFIGS.md), and every paper method runs one step on the tiny model.

Each paper experiment (``configs/experiment/paper/gsm8k_qwen2.5-3b_<method>.yaml``) is composed with
``model=tiny task=arith`` and small sizes, and its trainer runs one step with a config whose
dataclasses *record* every field read by the project's code (reads from ``dataclasses``, OmegaConf,
``copy`` — e.g. writing ``config.yaml`` — do not count, nor validation in ``reasoning_irl/config/``).
A field of an entry's schema that no run read must be listed in :data:`BRANCH_ONLY` (read only on a
branch a tiny arith run does not take: another task, a GPU path, resume …) with the module that reads
it, and that module must read it. Fields of a shared section that an entry does not use are refused by
that entry with a clear error when set (:data:`REFUSED`) — checked here too.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from reasoning_irl.cli import to_schema
from reasoning_irl.config.schema import SCHEMAS

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "reasoning_irl"
PROJECT_FILES = (str(SRC), *(str(ROOT / f"{e}.py") for e in SCHEMAS))
NOT_CONSUMERS = (str(SRC / "config"),)

# Small sizes on top of each paper experiment: one step, tiny model, arith, a handful of problems.
TINY = [
    "model=tiny", "task=arith", "task.arith_num_train=32", "task.arith_num_validation=4", "task.arith_num_test=4",
    "model.max_prompt_length=256", "model.max_completion_length=64", "logging.wandb_mode=disabled",
    "logging.progress_bar=false", "training.max_steps=1", "training.eval_problems=4", "training.eval_generate=false",
    "training.checkpoint_every=0", "device=cpu", "training.bf16=false",
]
EXTRA = {
    "train_irl": ["training.reward_warmup_steps=0", "training.warm_start_steps=0", "training.batch_prompts=2",
                  "sampling.num_generations=2", "sampling.max_new_tokens=24", "training.micro_batch_size=4",
                  "discriminator.micro_batch_size=8", "reward.micro_batch_size=8"],
    "train_sft": ["training.batch_size=4", "training.gradient_accumulation_steps=1"],
    "train_grpo": ["training.batch_prompts=1", "sampling.num_generations=2", "sampling.max_new_tokens=24",
                   "training.gradient_accumulation_steps=1"],
}
METHODS = {"airl_sparse": "train_irl", "airl_step": "train_irl", "airl_interval": "train_irl",
           "airl_dense": "train_irl", "sft": "train_sft", "grpo": "train_grpo"}

#: Read only on a branch a one-step tiny arith run does not take → (module that reads it, which branch).
BRANCH_ONLY: dict[str, tuple[str, str]] = {
    "output_root": ("trainers/run.py", "run folder when no run_dir is passed (the tests pass one)"),
    "run_name": ("eval/modes.py", "evaluation folder name when eval.output_dir is not set"),
    "device": ("eval/models.py", "generation / scoring modes of evaluate.py"),
    "task.data_dir": ("tasks/sources.py", "real datasets (gsm8k, medreason, …)"),
    "task.expert_traces_path": ("tasks/sources.py", "mmlu_pro, medreason, gsm8k with teacher traces"),
    "task.validation_fraction": ("tasks/gsm8k.py", "tasks that carve validation from train (not arith)"),
    "task.aime_years": ("tasks/aime.py", "task=aime"),
    "task.answer_format": ("tasks/base.py", "grading a completion (validation accuracy, correctness rewards)"),
    "task.processbench_subset": ("tasks/processbench.py", "task=processbench"),
    "task.mmlu_pro_test_fraction": ("tasks/mmlu_pro.py", "task=mmlu_pro"),
    "model.lora_alpha": ("models/lora.py", "model.lora_rank set (every paper backbone)"),
    "model.lora_dropout": ("models/lora.py", "model.lora_rank set"),
    "model.lora_target_modules": ("models/lora.py", "model.lora_rank set"),
    "model.max_prompt_length": ("models/encoding.py", "prompts longer than the limit"),
    "model.max_completion_length": ("trainers/sft.py", "SFT/selection truncation of long traces"),
    "logging.wandb_mode": ("trainers/run.py", "wandb not disabled by the environment"),
    "logging.wandb_project": ("trainers/run.py", "wandb enabled"),
    "logging.wandb_entity": ("trainers/run.py", "wandb enabled"),
    "discriminator.pairwise_margin": ("rewards/discriminator.py", "discriminator=bradley_terry"),
    "discriminator.gradient_penalty": ("rewards/discriminator.py", "discriminator=wgan"),
    "algo.gamma": ("rl/advantages.py", "algo=discounted"),
    "algo.outcome_weight": ("rl/advantages.py", "algo.use_outcome_rewards=true"),
    "training.eval_every": ("trainers/airl.py", "runs longer than one step"),
    "training.stop_on_collapse": ("trainers/airl.py", "a collapse monitor fired"),
    "eval.checkpoint": ("eval/modes.py", "eval.run_dir set"),
    "eval.discount": ("eval/process.py", "eval.reward_aggregation=discounted"),
    "eval.batch_size": ("eval/process.py", "generation / scoring modes"),
}
#: evaluate.py reads these whole sections only when it generates or scores (eval.mode=generate/aime,
#: reward scores); the pregenerated-policy run here does neither.
EVALUATE_GENERATION_SECTIONS = ("model.", "reward.", "sampling.", "logging.")
#: Keys of a shared section that an entry does not read and does not refuse yet (OPEN — reported to the
#: lead; the fix belongs to the trainer's owner: refuse a non-default value, as GRPO does for algo.gamma).
KNOWN_UNUSED: dict[str, dict[str, str]] = {
    "train_irl": {"sampling.n_samples": "evaluation-only (samples per test problem)"},
    "train_sft": {"model.reward": "SFT has no reward model"},
    "train_grpo": {
        "model.reward": "the GRPO baseline has no reward model (verifiable rewards)",
        "model.max_completion_length": "GRPO uses sampling.max_new_tokens",
        "algo.use_outcome_rewards": "GRPO always uses the verifiable rewards",
        "algo.outcome_weight": "GRPO always uses the verifiable rewards",
        "sampling.n_samples": "evaluation-only",
        "sampling.min_new_tokens": "not passed to TRL's GRPOConfig",
    },
}
#: Shared-section keys an entry refuses when set to a non-default value: entry → {key: non-default value}.
REFUSED = {"train_grpo": {"algo.gamma": 0.9, "algo.advantage": "rloo"}}


# --------------------------------------------------------------------------------------------------
# Recording reads


def _field_paths(obj, prefix=""):
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            yield from _field_paths(value, f"{prefix}{f.name}.")
        else:
            yield prefix + f.name


def _record(obj, reads: set[str], prefix: str = ""):
    """Turn ``obj`` (a schema dataclass instance) and its sub-configs into recording instances."""
    names = {f.name for f in dataclasses.fields(obj)}
    for name in names:
        value = getattr(obj, name)
        if dataclasses.is_dataclass(value):
            _record(value, reads, f"{prefix}{name}.")
    base = type(obj)

    def __getattribute__(self, name, _names=names, _prefix=prefix, _base=base):
        if name in _names:
            caller = sys._getframe(1).f_code.co_filename
            if caller.startswith(PROJECT_FILES) and not caller.startswith(NOT_CONSUMERS):
                reads.add(_prefix + name)
        return _base.__getattribute__(self, name)

    obj.__class__ = type(base.__name__, (base,), {"__getattribute__": __getattribute__})
    return obj


def _compose(entry: str, experiment: str, overrides: list[str]):
    with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
        cfg = compose(config_name=entry, overrides=[f"experiment={experiment}", *overrides])
    return to_schema(cfg, SCHEMAS[entry])


def _trainer(entry: str):
    if entry == "train_irl":
        from reasoning_irl.trainers.airl import train_irl

        return train_irl
    if entry == "train_sft":
        from reasoning_irl.trainers.sft import train_sft

        return train_sft
    from reasoning_irl.trainers.grpo import train_grpo

    return train_grpo


@pytest.fixture(scope="module")
def reads(tmp_path_factory) -> dict[str, set[str]]:
    """Field paths read by each entry's one-step runs (filled by test_one_step_of_each_paper_method)."""
    return {entry: set() for entry in SCHEMAS}


@pytest.mark.parametrize("method", list(METHODS))
def test_one_step_of_each_paper_method(method, reads, tmp_path):
    entry = METHODS[method]
    cfg = _compose(entry, f"paper/gsm8k_qwen2.5-3b_{method}", [*TINY, *EXTRA[entry], f"output_root={tmp_path}"])
    assert cfg.run_name == f"paper-gsm8k-qwen2.5-3b-{method}-seed42"
    run_dir = _trainer(entry)(_record(cfg, reads[entry]), run_dir=tmp_path / "run")
    assert (Path(run_dir) / "final" / "policy").is_dir()
    if entry == "train_irl":
        assert (Path(run_dir) / "final" / "reward_model").is_dir()


def test_evaluate_reads(reads, tmp_path):
    """The evaluation entry, on the fixture's pregenerated samples (no generation)."""
    from reasoning_irl.eval.modes import run_evaluation

    fixture = ROOT / "tests/fixtures/run/best/eval/pregenerated_policy_arith/samples.jsonl"
    cfg = _compose("evaluate", "paper/eval/gsm8k_qwen2.5-3b_sft", [
        "model=tiny", "task=arith", "eval.mode=pregenerated_policy", "eval.compute_policy_log_probs=false",
        f"eval.pregenerated_jsonl_path={fixture}", f"eval.output_dir={tmp_path}/out", "eval.run_dir=null",
        "eval.bootstrap_resamples=50", f"output_root={tmp_path}"])
    run_evaluation(_record(cfg, reads["evaluate"]))
    assert (tmp_path / "out" / "metrics.json").is_file()


def test_every_key_is_consumed(reads):
    if not all(reads[e] for e in ("train_irl", "train_sft", "train_grpo", "evaluate")):
        pytest.skip("needs the one-step runs of this module (run the whole file)")
    report = {}
    for entry, schema in SCHEMAS.items():
        unread = [p for p in _field_paths(schema()) if p not in reads[entry] and p not in BRANCH_ONLY
                  and p not in REFUSED.get(entry, {}) and p not in KNOWN_UNUSED.get(entry, {})
                  and not (entry == "evaluate" and p.startswith(EVALUATE_GENERATION_SECTIONS))]
        if unread:
            report[entry] = unread
    assert not report, f"config keys no code read (consume, refuse, or list in BRANCH_ONLY): {report}"


@pytest.mark.parametrize("key", sorted(BRANCH_ONLY))
def test_branch_only_keys_are_read_where_stated(key):
    module, _why = BRANCH_ONLY[key]
    name = re.escape(key.split(".")[-1])
    text = (SRC / module).read_text()
    assert re.search(rf"\.{name}\b|getattr\([^,]+, \"{name}\"", text), f"{key} is not read in {module}"


@pytest.mark.parametrize("section", EVALUATE_GENERATION_SECTIONS)
def test_evaluate_generation_sections_are_read(section):
    """Every field of these sections is read somewhere outside the config package."""
    text = "\n".join(p.read_text() for p in SRC.rglob("*.py") if "config" not in p.relative_to(SRC).parts)
    fields = [p for p in _field_paths(SCHEMAS["evaluate"]()) if p.startswith(section)]
    missing = [p for p in fields
               if not re.search(rf"\.{p.split('.')[-1]}\b|getattr\([^,]+, \"{p.split('.')[-1]}\"", text)]
    assert not missing


@pytest.mark.parametrize("entry,key", [(e, k) for e, keys in REFUSED.items() for k in keys])
def test_unused_shared_keys_are_refused(entry, key, tmp_path):
    value = REFUSED[entry][key]
    cfg = _compose(entry, "paper/gsm8k_qwen2.5-3b_grpo", [*TINY, *EXTRA[entry], f"{key}={value}",
                                                            f"output_root={tmp_path}"])
    with pytest.raises(ValueError, match=re.escape(key)):
        _trainer(entry)(cfg, run_dir=tmp_path / "run")
