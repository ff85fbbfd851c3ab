"""``training.keep_checkpoints`` in the AIRL loop: only the newest N ``checkpoints/step-N`` stay; ``best/``
and ``final/`` are kept; a run resumes from what is left; under LoRA the reward model's base is on disk once."""

from __future__ import annotations

import pytest
import torch

from reasoning_irl.config.training import IRLTrainingConfig
from reasoning_irl.trainers.checkpoint import complete_checkpoints


def test_keep_checkpoints_is_validated():
    with pytest.raises(ValueError, match="training.keep_checkpoints=0"):
        IRLTrainingConfig(keep_checkpoints=0)


@pytest.mark.warm_start
@pytest.mark.parametrize("lora_rank", [None, 4])
def test_airl_keeps_the_newest_checkpoints_and_best_final(tmp_path, lora_rank, caplog):
    from reasoning_irl.config.model import ModelConfig
    from reasoning_irl.config.reward import DiscriminatorConfig
    from reasoning_irl.config.sampling import SamplingConfig
    from reasoning_irl.config.schema import TrainIRLConfig
    from reasoning_irl.config.task import TaskConfig
    from reasoning_irl.config.tracking import LoggingConfig
    from reasoning_irl.testing import warm_started_policy
    from reasoning_irl.trainers.airl import train_irl

    cfg = TrainIRLConfig(
        run_name="keep", output_root=str(tmp_path), device="cpu",
        task=TaskConfig(arith_num_train=32, arith_num_validation=4, arith_num_test=4),
        model=ModelConfig(policy=str(warm_started_policy()), lora_rank=lora_rank),
        discriminator=DiscriminatorConfig(updates_per_step=1),
        sampling=SamplingConfig(num_generations=2, max_new_tokens=12),
        training=IRLTrainingConfig(max_steps=3, reward_warmup_steps=1, batch_prompts=2, eval_problems=2,
                                   eval_every=0, eval_generate=False, checkpoint_every=1, keep_checkpoints=2),
        logging=LoggingConfig(wandb_mode="disabled", progress_bar=False),
    )
    with caplog.at_level("INFO", logger="reasoning_irl"):
        run_dir = train_irl(cfg)
    assert [step for step, _ in complete_checkpoints(run_dir)] == [3, 4]  # 1 warm-up + 3 steps, newest 2
    assert (run_dir / "final" / "policy").is_dir() and (run_dir / "best" / "policy").is_dir()
    assert not list((run_dir / "checkpoints").glob(".tmp-*"))
    if lora_rank:  # one frozen base in memory for policy and reward model; on disk, every saved reward model links it
        assert "the reward model shares the policy's frozen base" in caplog.text
        folders = [run_dir / ".reward_base", *(run_dir / "checkpoints").glob("step-*/reward_model/base"),
                   run_dir / "best" / "reward_model" / "base", run_dir / "final" / "reward_model" / "base"]
        assert len(folders) == 5 and len({(f / "model.safetensors").stat().st_ino for f in folders}) == 1


@pytest.mark.warm_start
def test_lora_airl_with_a_shared_base_resumes_to_the_same_weights(tmp_path, caplog):
    """Resuming loads the saved reward model into the one it shares the policy's base with: the resumed
    run ends with the uninterrupted run's weights."""
    import shutil

    from safetensors.torch import load_file

    from reasoning_irl.config.model import ModelConfig
    from reasoning_irl.config.reward import DiscriminatorConfig
    from reasoning_irl.config.sampling import SamplingConfig
    from reasoning_irl.config.schema import TrainIRLConfig
    from reasoning_irl.config.task import TaskConfig
    from reasoning_irl.config.tracking import LoggingConfig
    from reasoning_irl.testing import warm_started_policy
    from reasoning_irl.trainers.airl import train_irl

    def config(name):
        return TrainIRLConfig(
            run_name=name, output_root=str(tmp_path), device="cpu",
            task=TaskConfig(arith_num_train=32, arith_num_validation=4, arith_num_test=4),
            model=ModelConfig(policy=str(warm_started_policy()), lora_rank=4),
            discriminator=DiscriminatorConfig(updates_per_step=1),
            sampling=SamplingConfig(num_generations=2, max_new_tokens=12),
            training=IRLTrainingConfig(max_steps=3, reward_warmup_steps=1, batch_prompts=2, eval_problems=2,
                                       eval_every=0, eval_generate=False, checkpoint_every=1),
            logging=LoggingConfig(wandb_mode="disabled", progress_bar=False))

    whole = train_irl(config("whole"))
    cut = train_irl(config("cut"))
    shutil.rmtree(cut / "final")
    shutil.rmtree(cut / "checkpoints" / "step-4")  # the crash came after step 2's checkpoint
    with caplog.at_level("INFO", logger="reasoning_irl"):
        train_irl(config("cut"), cut)
    assert "resumed from" in caplog.text and "step-3" in caplog.text
    for part in ("policy/adapter_model.safetensors", "reward_model/adapter_model.safetensors",
                 "reward_model/reward_head.safetensors"):
        a, b = load_file(str(whole / "final" / part)), load_file(str(cut / "final" / part))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), part
