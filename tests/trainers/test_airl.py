"""The AIRL trainer end to end on tiny settings: every granularity and advantage type, checkpoints, resume.

Each run starts from the cached warm-started tiny policy (:func:`reasoning_irl.testing.warm_started_policy`),
on which completions of one prompt differ, so rewards and advantages differ within a group.
"""

import dataclasses
import json
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from reasoning_irl.config.algo import AlgoConfig
from reasoning_irl.config.model import ModelConfig
from reasoning_irl.config.reward import DiscriminatorConfig, RewardConfig
from reasoning_irl.config.sampling import SamplingConfig
from reasoning_irl.config.schema import TrainIRLConfig
from reasoning_irl.config.task import TaskConfig
from reasoning_irl.config.tracking import LoggingConfig
from reasoning_irl.config.training import IRLTrainingConfig
from reasoning_irl.testing import warm_started_policy
from reasoning_irl.trainers.airl import train_irl

pytestmark = pytest.mark.warm_start


@pytest.fixture(scope="module")
def policy_path() -> str:
    return str(warm_started_policy())


def _config(
    tmp_path: Path,
    policy: str,
    *,
    granularity="step",
    advantage="group",
    form="gail",
    kl_beta=0.0,
    max_steps=2,
    checkpoint_every=2,
    run_name="run",
    **training,
) -> TrainIRLConfig:
    return TrainIRLConfig(
        run_name=run_name,
        output_root=str(tmp_path),
        task=TaskConfig(arith_num_train=64, arith_num_validation=8, arith_num_test=8),
        model=ModelConfig(policy=policy),
        reward=RewardConfig(granularity=granularity, interval_tokens=4),
        discriminator=DiscriminatorConfig(form=form, updates_per_step=1, learning_rate=1e-3),
        algo=AlgoConfig(advantage=advantage, gamma=0.9, kl_beta=kl_beta, loss_aggregation="grpo"),
        sampling=SamplingConfig(num_generations=3, max_new_tokens=20),
        training=IRLTrainingConfig(
            max_steps=max_steps,
            reward_warmup_steps=1,
            batch_prompts=2,
            eval_problems=4,
            eval_every=0,
            eval_generate=False,
            checkpoint_every=checkpoint_every,
            learning_rate=1e-3,
            **training,
        ),
        logging=LoggingConfig(wandb_mode="disabled", progress_bar=False),
    )


def _metrics(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "model.safetensors"))


def _check_run(run_dir: Path, policy: str) -> None:
    rows = _metrics(run_dir)
    policy_rows = [r for r in rows if r["step"] > 0 and not r["phase_warmup"]]
    assert len(policy_rows) == 2
    for row in policy_rows:
        for key in ("loss", "grad_norm", "reward", "discriminator_loss", "advantage_abs_mean"):
            assert isinstance(row[key], float) and torch.isfinite(torch.tensor(row[key])), (key, row[key])
    assert any(r["advantage_abs_mean"] > 0 for r in policy_rows)  # rewards differ within a group
    # Every trainable policy tensor moved (full fine-tuning: all of them); the reward model was trained too.
    before, after = _weights(Path(policy)), _weights(run_dir / "final" / "policy")
    unchanged = [name for name in after if torch.equal(before[name], after[name])]
    assert not unchanged, unchanged
    reward = _weights(run_dir / "final" / "reward_model")  # π_ψ, initialised from the same warm start
    assert not [name for name in reward if torch.equal(before[name], reward[name])]
    for name in (
        "checkpoints/step-2/policy",
        "checkpoints/step-2/reward_model",
        "checkpoints/step-3/COMPLETE",
        "best/policy",
        "best/reward_model",
        "final/policy/tokenizer.json",
        "final/reward_model",
    ):
        assert (run_dir / name).exists(), name


@pytest.mark.parametrize("granularity", ["sparse", "step", "interval", "dense"])
def test_every_granularity_trains(tmp_path, policy_path, granularity):
    run_dir = train_irl(_config(tmp_path, policy_path, granularity=granularity, advantage="group"))
    _check_run(run_dir, policy_path)


@pytest.mark.parametrize(
    ("advantage", "granularity", "extra"),
    [
        ("discounted", "dense", {"kl_beta": 0.05}),
        ("rloo", "interval", {}),
        ("segment", "step", {"form": "airl"}),
    ],
)
def test_every_advantage_trains(tmp_path, policy_path, advantage, granularity, extra):
    run_dir = train_irl(_config(tmp_path, policy_path, granularity=granularity, advantage=advantage, **extra))
    _check_run(run_dir, policy_path)


def test_resume_reaches_the_uninterrupted_result(tmp_path, policy_path):
    whole = train_irl(_config(tmp_path, policy_path, max_steps=3, run_name="whole"))
    # "Killed" after the checkpoint at step 2 (warm-up 1 + policy 1), then resumed with the full length.
    train_irl(_config(tmp_path, policy_path, max_steps=1, run_name="parts"))
    parts = train_irl(_config(tmp_path, policy_path, max_steps=3, run_name="parts"))
    later_whole = [r for r in _metrics(whole) if r["step"] > 2]
    later_parts = [r for r in _metrics(parts) if r["step"] > 2]
    assert [r["step"] for r in later_parts] == [3, 4]
    assert later_parts == later_whole
    a, b = _weights(whole / "final" / "policy"), _weights(parts / "final" / "policy")
    assert all(torch.equal(a[k], b[k]) for k in a)
    # The same folder with another experiment's config is refused before any work, naming the key.
    other = _config(tmp_path, policy_path, max_steps=3, run_name="parts")
    other.reward = dataclasses.replace(other.reward, head="log_ratio")
    before = (parts / "metrics.jsonl").read_text()
    with pytest.raises(ValueError, match=r"another config \(reward.head\).*use another run_name"):
        train_irl(other)
    assert (parts / "metrics.jsonl").read_text() == before


# --------------------------------------------------------------------------------------------------
# Pieces of the step


def _tokenizer():
    from reasoning_irl.models import load_tokenizer

    return load_tokenizer("tiny", ModelConfig())


def _rollouts(ids_list, texts, finished):
    from reasoning_irl.rl.rollout import Rollouts

    return Rollouts(
        prompt_ids=[[5]],
        prompt_index=[0] * len(ids_list),
        completion_ids=ids_list,
        completion_text=texts,
        finished=finished,
        num_generations=len(ids_list),
    )


def test_align_rewards_places_each_reward_on_the_sampled_token_holding_its_last_character():
    from types import SimpleNamespace as Position

    from reasoning_irl.rl.reward_alignment import align_rewards

    tokenizer = _tokenizer()
    text = "<think>\n1 + 2 = 3\n</think>"
    canonical = tokenizer(text, add_special_tokens=False)["input_ids"]
    # A non-canonical sample of the same text: "<think>" sampled in two pieces.
    split = (
        tokenizer("<thi", add_special_tokens=False)["input_ids"]
        + tokenizer("nk>\n1 + 2 = 3\n</think>", add_special_tokens=False)["input_ids"]
    )
    assert split != canonical
    three = text.index("3")
    scored = Position(
        positions=[
            Position(start=0, end=7, reward=0.5),  # "<think>" ends at char 7
            Position(start=three, end=three + 1, reward=1.0),
            Position(start=len(text), end=len(text), reward=2.0),
        ]
    )  # appended EOS
    eos = tokenizer.eos_token_id
    rollouts = _rollouts([canonical + [eos], split, canonical], [text] * 3, [True, False, False])
    rewards, mask = align_rewards(
        [scored] * 3, rollouts, [[{"role": "user", "content": "q"}]] * 3, tokenizer, 40
    )
    for row, ids in enumerate(rollouts.completion_ids):
        decoded_to = [len(tokenizer.decode(ids[: i + 1], skip_special_tokens=True)) for i in range(len(ids))]
        think_end = next(i for i, end in enumerate(decoded_to) if end >= 7)
        three_at = next(i for i, end in enumerate(decoded_to) if end >= three + 1)
        expected = torch.zeros(40)
        expected[think_end] += 0.5
        expected[three_at] += 1.0
        expected[len(ids) - 1] += 2.0  # the policy's EOS, or its last token when it did not stop
        assert torch.equal(rewards[row], expected), row
        assert mask[row].sum() == 3
        assert rewards[row].sum() == 3.5  # the return is preserved


def test_collapse_monitor_flags_pinned_discriminator_format_and_length_collapse():
    from reasoning_irl.trainers.collapse import CollapseMonitor

    monitor = CollapseMonitor(patience=2, max_new_tokens=20)
    assert monitor.check(0.7, format_rate=0.8, mean_length=12.0, finished_rate=1.0) == []
    assert monitor.check(1.0, format_rate=0.8, mean_length=12.0, finished_rate=1.0) == []
    pinned = monitor.check(1.0, format_rate=0.8, mean_length=12.0, finished_rate=1.0)
    assert len(pinned) == 1 and "discriminator accuracy" in pinned[0]
    problems = monitor.check(0.6, format_rate=0.3, mean_length=5.0, finished_rate=0.0)
    assert [p.split()[0] for p in problems] == ["format", "mean", "no"]
    restored = CollapseMonitor(patience=2, max_new_tokens=20)
    restored.load_state_dict(monitor.state_dict())
    assert restored.state_dict() == monitor.state_dict()


def test_unfinished_rollouts_reach_the_critic_as_unfinished():
    """A rollout cut by max_new_tokens is a policy negative with finished=False (no EOS appended)."""
    from types import SimpleNamespace

    from reasoning_irl.trainers.airl import _discriminator_batch

    record = SimpleNamespace(prompt=[{"role": "user", "content": "q"}], problem_id="p0", target="", meta={})
    rollouts = _rollouts([[1, 2], [3]], ["done", "cut"], [True, False])
    disc = SimpleNamespace(perturbed_negatives=lambda positives, seed, metas: [])
    positives, negatives = _discriminator_batch(disc, None, [record], [record, record], rollouts,
                                                relabel=False, seed=0)
    assert positives == [] and [n.finished for n in negatives] == [True, False]


def test_validation_auroc_has_perturbed_traces_when_training_takes_none(tmp_path, policy_path):
    """An outcome reward model (gold labels, no demonstrations, no perturbations in training) is still
    selected by the validation AUROC of experts against held-out perturbed experts: one copy each."""
    cfg = _config(tmp_path, policy_path, max_steps=0)
    cfg.training = dataclasses.replace(cfg.training, reward_warmup_steps=2, eval_every=1)
    cfg.discriminator = dataclasses.replace(cfg.discriminator, relabel_correct_samples=True, expert_weight=0.0,
                                            perturbations_per_expert=0)
    aurocs = [row["validation_auroc"] for row in _metrics(train_irl(cfg)) if "validation_auroc" in row]
    assert aurocs and all(math.isfinite(a) for a in aurocs)


def test_warm_start_config_of_a_separate_reward_backbone(tmp_path):
    """The built-in warm start is an SFT run: it takes the task and model, but not the reward backbone
    (train_sft.py refuses model.reward), whichever the AIRL run names."""
    from reasoning_irl.config.schema import TrainIRLConfig
    from reasoning_irl.trainers.warm_start import warm_start_config

    cfg = TrainIRLConfig()
    cfg.model.reward = "tiny"
    sft = warm_start_config(cfg, tmp_path)
    assert sft.model.reward == "from_policy" and sft.model.policy == cfg.model.policy and sft.task == cfg.task


def test_a_replay_buffer_too_small_for_one_step_is_refused_before_any_model_loads(tmp_path):
    """16 prompts × (8 completions + 1 perturbed expert) = 144 negatives per step; a buffer of 50 is refused
    when the run starts (the policy folder does not even exist), not after the first generation."""
    from dataclasses import replace

    cfg = _config(tmp_path, str(tmp_path / "no-such-policy"))
    cfg = replace(cfg, sampling=replace(cfg.sampling, num_generations=8),
                  training=replace(cfg.training, batch_prompts=16),
                  discriminator=replace(cfg.discriminator, replay_buffer_size=50))
    with pytest.raises(ValueError, match=r"replay_buffer_size=50 .*144 negatives"):
        train_irl(cfg)
    assert not (tmp_path / "run").exists()
