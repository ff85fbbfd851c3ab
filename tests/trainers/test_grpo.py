"""GRPO through TRL with verifiable rewards: a few steps from an SFT warm start, our layout, alignment."""

from __future__ import annotations

import json
import math
import random
import shutil

import pytest
import torch
from safetensors.torch import load_file

from reasoning_irl.config.schema import TrainGRPOConfig
from reasoning_irl.trainers.selected import read_selection

STEPS = 3


def grpo_config(tmp_path, policy: str) -> TrainGRPOConfig:
    """3 GRPO steps of 2 prompts × 4 completions (32 to 48 tokens) on the small arith task of test_sft."""
    cfg = TrainGRPOConfig(run_name="grpo-test", output_root=str(tmp_path), seed=0, device="cpu")
    cfg.task.arith_num_train, cfg.task.arith_num_validation, cfg.task.arith_num_test = 64, 8, 8
    cfg.model.policy, cfg.model.max_completion_length = policy, 64
    cfg.logging.wandb_mode, cfg.logging.progress_bar, cfg.logging.logging_steps = "disabled", False, 1
    cfg.sampling.num_generations, cfg.sampling.max_new_tokens, cfg.sampling.min_new_tokens = 4, 48, 32
    t = cfg.training
    t.max_steps, t.batch_prompts, t.learning_rate = STEPS, 2, 1e-3
    t.checkpoint_every, t.eval_every, t.eval_problems, t.eval_generate = 2, 1, 8, False
    return cfg


@pytest.fixture(scope="module")
def warm_policy(tmp_path_factory) -> str:
    """10 SFT steps: enough for the tiny policy to emit format tags sometimes, so rewards vary in a group."""
    from reasoning_irl.config.schema import TrainSFTConfig
    from reasoning_irl.trainers.sft import train_sft

    cfg = TrainSFTConfig(run_name="warm", output_root=str(tmp_path_factory.mktemp("warm")), device="cpu")
    cfg.task.arith_num_train, cfg.task.arith_num_validation, cfg.task.arith_num_test = 64, 8, 8
    cfg.model.max_completion_length = 64
    cfg.logging.wandb_mode, cfg.logging.progress_bar = "disabled", False
    t = cfg.training
    t.max_steps, t.batch_size, t.learning_rate, t.checkpoint_every, t.eval_every = 10, 8, 3e-3, 0, 0
    t.eval_problems, t.eval_generate, t.lr_scheduler = 8, False, "constant"
    return str(train_sft(cfg) / "final" / "policy")


@pytest.fixture(scope="module")
def grpo_run(warm_policy, tmp_path_factory):
    """The GRPO run, with a spy reward that checks every graded row's problem_id against its prompt."""
    import reasoning_irl.rewards.verifiable as verifiable
    from reasoning_irl.trainers.grpo import train_grpo

    original, seen = verifiable.trl_reward_functions, []

    def with_spy(names, task, records_by_id):
        def alignment_spy(completions, prompts, problem_id, **_):
            for prompt, pid in zip(prompts, problem_id, strict=True):
                seen.append(prompt[-1]["content"] == records_by_id[pid].question)
            return [0.0] * len(completions)

        return [*original(names, task, records_by_id), alignment_spy]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(verifiable, "trl_reward_functions", with_spy)
        cfg = grpo_config(tmp_path_factory.mktemp("grpo"), warm_policy)
        run_dir = train_grpo(cfg)
    return cfg, run_dir, seen


def _rows(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_grpo_steps_layout_and_selection(grpo_run):
    cfg, run_dir, seen = grpo_run
    rows = _rows(run_dir)
    train_rows = [r for r in rows if "loss" in r]
    assert [r["step"] for r in train_rows] == [1, 2, 3]
    assert all(math.isfinite(r["loss"]) and math.isfinite(r["grad_norm"]) for r in train_rows)
    assert all("rewards/correctness/mean" in r and "rewards/tag_count/mean" in r for r in train_rows)
    # sampling.min_new_tokens reaches TRL's generation: no completion ends before 32 tokens.
    assert all(r["completions/min_length"] >= 32 for r in train_rows)
    for step in (2, 3):
        assert (run_dir / "checkpoints" / f"step-{step}" / "COMPLETE").is_file()
        assert (run_dir / "checkpoints" / f"step-{step}" / "policy" / "model.safetensors").is_file()
    nll = {r["step"]: r["validation_nll"] for r in rows if "validation_nll" in r}
    best_step = min(nll, key=lambda s: (nll[s], s))
    assert read_selection(run_dir)["policy"]["step"] == best_step
    assert read_selection(run_dir, "final")["policy"]["step"] == STEPS
    # Every completion TRL graded carried the problem_id of the prompt it was sampled from.
    assert len(seen) == STEPS * 2 * 4 and all(seen)


def test_every_trainable_parameter_changed(grpo_run, warm_policy):
    _, run_dir, _ = grpo_run
    before = load_file(f"{warm_policy}/model.safetensors")
    after = load_file(str(run_dir / "final" / "policy" / "model.safetensors"))
    assert [name for name in before if torch.equal(before[name], after[name])] == []


def test_resume_continues_at_the_right_step(grpo_run, warm_policy, tmp_path):
    from reasoning_irl.trainers.grpo import train_grpo

    _, run_dir, _ = grpo_run
    crashed = tmp_path / "grpo-test"
    shutil.copytree(run_dir, crashed)
    shutil.rmtree(crashed / "checkpoints" / "step-3")
    shutil.rmtree(crashed / "final")
    train_grpo(grpo_config(tmp_path, warm_policy), crashed)
    rows = _rows(crashed)
    assert [r["step"] for r in rows if "loss" in r] == [1, 2, 3]
    assert rows[: len(rows) - 2] == _rows(run_dir)[: len(rows) - 2]  # steps 1–2 kept as they were
    session = json.loads((crashed / "run_info.json").read_text())["sessions"][-1]
    assert session["resumed_from_step"] == 2
    assert (crashed / "checkpoints" / "step-3" / "COMPLETE").is_file() and (
        crashed / "final" / "policy"
    ).is_dir()


def test_correctness_reward_grades_each_completion_against_its_own_problem():
    from reasoning_irl.config.task import TaskConfig
    from reasoning_irl.rewards.verifiable import trl_reward_functions
    from reasoning_irl.tasks import get_task

    task = get_task(TaskConfig(arith_num_train=16, arith_num_validation=0, arith_num_test=0))
    records = task.load("train")
    by_id = {r.problem_id: r for r in records}
    (correctness,) = trl_reward_functions(["correctness"], task, by_id)
    # A TRL-like batch: each prompt repeated G = 4 times, each completion the expert trace of its own
    # problem; then rows shuffled (prompt, completion and id move together).
    rows = [(r.problem_id, [{"role": "assistant", "content": r.target}]) for r in records for _ in range(4)]
    random.Random(0).shuffle(rows)
    ids, completions = [pid for pid, _ in rows], [c for _, c in rows]
    assert correctness(completions, problem_id=ids) == [2.0] * len(rows)
    # Graded against the neighbouring row's problem instead, a completion is right only when the two
    # gold answers happen to agree: the reward depends on the id of the row, not on its position.
    shifted = ids[1:] + ids[:1]
    expected = [2.0 if by_id[a].answer == by_id[b].answer else 0.0 for a, b in zip(ids, shifted)]
    assert correctness(completions, problem_id=shifted) == expected and 0.0 in expected


def test_grpo_config_mapping_and_refusals(tmp_path):
    from reasoning_irl.trainers.grpo import check_algo, grpo_arguments

    cfg = grpo_config(tmp_path, "tiny")
    cfg.algo.loss_aggregation, cfg.algo.kl_beta, cfg.algo.clip_high, cfg.algo.scale_rewards = (
        "grpo",
        0.04,
        0.28,
        False,
    )
    args = grpo_arguments(cfg, tmp_path)
    assert (args["loss_type"], args["beta"], args["epsilon"], args["epsilon_high"]) == (
        "grpo",
        0.04,
        0.2,
        0.28,
    )
    assert args["scale_rewards"] == "none" and args["per_device_train_batch_size"] == 2 * 4
    assert args["max_completion_length"] == 48 and args["use_cpu"] and args["gradient_checkpointing"] is False
    assert args["generation_kwargs"] == {"min_new_tokens": 32}
    cfg.algo.advantage = "discounted"
    with pytest.raises(ValueError, match="algo.advantage='discounted'"):
        check_algo(cfg)
