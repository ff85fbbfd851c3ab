"""Every config key is consumed (docs/CONFIGS.md), and every paper method runs one step on the tiny model.

Each paper experiment (``configs/experiment/paper/gsm8k_qwen2.5-3b_<method>.yaml``) is composed with
``model=tiny task=arith`` and small sizes, and its trainer runs one step with a config whose
dataclasses *record* every field read by the project's code (reads from ``dataclasses``, OmegaConf,
``copy`` — e.g. writing ``config.yaml`` — do not count, nor validation in ``reasoning_irl/config/``).
A field of an entry's schema that no run read must be listed in :data:`BRANCH_ONLY` (read only on a
branch a tiny arith run does not take: another task, a GPU path, resume …) with the module that reads
it, and that module must read it. Fields of a shared section that an entry does not use are refused by
that entry with a clear error when set (its schema's ``UNREAD``) — checked here too.
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
    "run_name": ("eval/plan.py", "evaluation folder name when eval.output_dir is not set"),
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
    "eval.checkpoint": ("eval/plan.py", "eval.run_dir set"),
    "eval.discount": ("eval/process.py", "eval.reward_aggregation=discounted"),
    "eval.batch_size": ("eval/process.py", "generation / scoring modes"),
    "model.policy": ("eval/models.py", "evaluate without eval.run_dir (with it, the run's own policy)"),
    "model.cache_dir": ("models/tiny.py", "model.policy=tiny: where a fresh tiny model is cached"),
    **{f"model.tiny_{k}": ("models/tiny.py", "model.policy=tiny: a fresh tiny model (evaluate loads a run's)")
       for k in ("arch", "hidden_size", "intermediate_size", "num_layers", "num_heads", "vocab_size")},
}
#: evaluate.py loads saved weights: these fields of the ``model`` group set how a backbone is *trained*
#: (LoRA, checkpointing). A model YAML (``model=qwen2.5-3b``) sets them for every entry, so evaluate cannot
#: refuse them; docs/CONFIGS.md says that evaluate ignores them.
EVALUATE_TRAINING_ONLY = {f"model.{k}" for k in ("lora_rank", "lora_alpha", "lora_dropout", "lora_target_modules",
                                                 "gradient_checkpointing")}
#: A non-default value for each field of the schemas' ``UNREAD`` lists (fields an entry refuses when set).
NON_DEFAULT = {"sampling.n_samples": 4, "model.reward": "tiny", "algo.gamma": 0.9, "algo.use_outcome_rewards": True,
               "algo.outcome_weight": 2.0, "sampling.num_generations": 4}
#: Values of a read field that an entry refuses (the trainer checks them): entry → {key: value}.
REFUSED = {"train_grpo": {"algo.advantage": "rloo"}}


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

    properties = {n for n in dir(base) if isinstance(getattr(base, n), property)}

    def __getattribute__(self, name, _names=names, _prefix=prefix, _base=base, _properties=properties):
        if name in _names:
            frame = sys._getframe(1)
            # A derived value (``model.max_length``) reads its fields for whoever asked for it.
            if frame.f_code.co_name in _properties and frame.f_code.co_filename.startswith(NOT_CONSUMERS):
                frame = frame.f_back
            caller = frame.f_code.co_filename
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


@pytest.fixture(scope="module")
def runs() -> dict[str, Path]:
    """Run folders of the one-step runs, by method (the generating evaluation scores the AIRL one)."""
    return {}


@pytest.mark.parametrize("method", list(METHODS))
def test_one_step_of_each_paper_method(method, reads, runs, tmp_path):
    entry = METHODS[method]
    cfg = _compose(entry, f"paper/gsm8k_qwen2.5-3b_{method}", [*TINY, *EXTRA[entry], f"output_root={tmp_path}"])
    assert cfg.run_name == f"paper-gsm8k-qwen2.5-3b-{method}-seed42"
    run_dir = _trainer(entry)(_record(cfg, reads[entry]), run_dir=tmp_path / "run")
    assert (Path(run_dir) / "final" / "policy").is_dir()
    if entry == "train_irl":
        assert (Path(run_dir) / "final" / "reward_model").is_dir()
    runs[method] = Path(run_dir)


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


def test_evaluate_generation_reads(reads, runs, tmp_path):
    """The evaluation entry generating from a run's policy and scoring with its reward model."""
    from reasoning_irl.eval.modes import run_evaluation

    if "airl_step" not in runs:
        pytest.skip("needs the one-step AIRL run of this module (run the whole file)")
    cfg = _compose("evaluate", "paper/eval/gsm8k_qwen2.5-3b_airl_step", [
        "model=tiny", "task=arith", "task.arith_num_test=2", "eval.mode=generate", f"eval.run_dir={runs['airl_step']}",
        "eval.checkpoint=final", f"eval.output_dir={tmp_path}/out", "eval.bootstrap_resamples=50",
        "sampling.n_samples=2", "sampling.max_new_tokens=16", "device=cpu", f"output_root={tmp_path}"])
    run_evaluation(_record(cfg, reads["evaluate"]))
    assert (tmp_path / "out" / "metrics.json").is_file()


def test_every_key_is_consumed(reads):
    if not all(reads[e] for e in ("train_irl", "train_sft", "train_grpo", "evaluate")):
        pytest.skip("needs the one-step runs of this module (run the whole file)")
    report = {}
    for entry, schema in SCHEMAS.items():
        unread = [p for p in _field_paths(schema()) if p not in reads[entry] and p not in BRANCH_ONLY
                  and p not in schema.UNREAD and not (entry == "evaluate" and p in EVALUATE_TRAINING_ONLY)]
        if unread:
            report[entry] = unread
    assert not report, f"config keys no code read (consume, refuse, or list in BRANCH_ONLY): {report}"


@pytest.mark.parametrize("key", sorted(BRANCH_ONLY))
def test_branch_only_keys_are_read_where_stated(key):
    module, _why = BRANCH_ONLY[key]
    name = re.escape(key.split(".")[-1])
    text = (SRC / module).read_text()
    assert re.search(rf"\.{name}\b|getattr\([^,]+, \"{name}\"", text), f"{key} is not read in {module}"


def test_evaluate_training_only_fields_are_read_by_a_trainer(reads):
    if not reads["train_irl"]:
        pytest.skip("needs the one-step runs of this module (run the whole file)")
    trained = set().union(*(reads[e] for e in ("train_irl", "train_sft", "train_grpo"))) | set(BRANCH_ONLY)
    assert EVALUATE_TRAINING_ONLY <= trained


@pytest.mark.parametrize("entry,key", [(e, k) for e, schema in SCHEMAS.items() for k in schema.UNREAD])
def test_unread_fields_are_refused(entry, key, tmp_path):
    """A field an entry does not read is refused, by name, when set; its default composes."""
    experiment = {"train_irl": "paper/gsm8k_qwen2.5-3b_airl_step", "train_sft": "paper/gsm8k_qwen2.5-3b_sft",
                  "train_grpo": "paper/gsm8k_qwen2.5-3b_grpo", "evaluate": "paper/eval/gsm8k_qwen2.5-3b_sft"}[entry]
    overrides = ["model=tiny", "task=arith", f"output_root={tmp_path}"]
    assert _compose(entry, experiment, overrides)  # the default is accepted
    with pytest.raises(ValueError, match=rf"{re.escape(key)}=.* is not read by {entry}\.py"):
        _compose(entry, experiment, [*overrides, f"{key}={NON_DEFAULT[key]}"])


@pytest.mark.parametrize("entry,key", [(e, k) for e, keys in REFUSED.items() for k in keys])
def test_unused_shared_keys_are_refused(entry, key, tmp_path):
    value = REFUSED[entry][key]
    cfg = _compose(entry, "paper/gsm8k_qwen2.5-3b_grpo", [*TINY, *EXTRA[entry], f"{key}={value}",
                                                            f"output_root={tmp_path}"])
    with pytest.raises(ValueError, match=re.escape(key)):
        _trainer(entry)(cfg, run_dir=tmp_path / "run")
