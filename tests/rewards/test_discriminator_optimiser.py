"""The discriminator's optimiser as the reference's (docs/METHOD.md §5), as options.

Reference: AdamW β = (0.9, 0.99), weight decay 0.1, lr 1e-5 with linear warm-up *from 0* over the
reward warm-up (one discriminator step per warm-up step), then cosine to 0 at warm-up + max_steps × K.
Default (``lr_scheduler=constant``): the lr is never changed.
"""

import math

import pytest

from reasoning_irl.config.reward import DiscriminatorConfig
from reasoning_irl.rewards import Discriminator, DiscriminatorSample

PROMPT = [{"role": "user", "content": "Start with 3. Add 4."}]
EXPERT = "<think>\n3 + 4 = 7\n</think>\n<answer>\n7\n</answer>"
POLICY = "<think>\n3 + 4 = 8\n</think>\n<answer>\n8\n</answer>"


def _batch():
    return ([DiscriminatorSample(PROMPT, EXPERT, "expert", problem_id="p")],
            [DiscriminatorSample(PROMPT, POLICY, "policy", problem_id="p")])


def _lrs_used(disc, steps):
    used = []
    for _ in range(steps):
        disc.update(*_batch(), updates=1)
        used.append([g["lr"] for g in disc.optimizer.param_groups])  # the lr of the step just taken
    return used


def test_cosine_schedule_warms_up_from_zero_then_decays_to_zero(make_reward_model):
    cfg = DiscriminatorConfig(form="gail", learning_rate=1e-3, head_learning_rate=2e-3, lr_scheduler="cosine")
    disc = Discriminator(make_reward_model(head="linear"), cfg)
    disc.set_schedule(warmup_steps=2, total_steps=6)
    used = _lrs_used(disc, 6)
    factors = [0.0, 0.5, 1.0, 0.5 * (1 + math.cos(math.pi / 4)), 0.5, 0.5 * (1 + math.cos(3 * math.pi / 4))]
    for (backbone, head), factor in zip(used, factors):
        assert backbone == pytest.approx(1e-3 * factor) and head == pytest.approx(2e-3 * factor)


def test_constant_schedule_and_default_leave_the_lr_alone(make_reward_model):
    disc = Discriminator(make_reward_model(head="linear"), DiscriminatorConfig(form="gail", learning_rate=1e-3))
    disc.set_schedule(warmup_steps=2, total_steps=6)  # no effect for the default constant schedule
    assert all(lr == [1e-3] * len(lr) for lr in _lrs_used(disc, 3))


def test_weight_decay_of_backbone_and_head(make_reward_model):
    cfg = DiscriminatorConfig(form="gail", weight_decay=0.1, head_weight_decay=0.1)
    disc = Discriminator(make_reward_model(head="linear"), cfg)
    assert [g["weight_decay"] for g in disc.optimizer.param_groups] == [0.1, 0.1]
    disc = Discriminator(make_reward_model(head="linear"), DiscriminatorConfig(form="gail", weight_decay=0.1))
    assert [g["weight_decay"] for g in disc.optimizer.param_groups] == [0.1, 0.0]  # head not decayed by default
    assert [g["betas"] for g in disc.optimizer.param_groups] == [(0.9, 0.99)] * 2


def test_updates_override_and_refusals(make_reward_model):
    disc = Discriminator(make_reward_model(head="linear"), DiscriminatorConfig(form="gail", updates_per_step=3))
    disc.update(*_batch(), updates=1)
    assert disc.steps_done == 1
    disc.update(*_batch())
    assert disc.steps_done == 4
    with pytest.raises(ValueError, match="lr_scheduler='linear'"):
        DiscriminatorConfig(lr_scheduler="linear")
    with pytest.raises(ValueError, match="warmup_updates_per_step=-1"):
        DiscriminatorConfig(warmup_updates_per_step=-1)
    with pytest.raises(ValueError, match="total_steps=2.*warmup_steps=3"):
        disc.set_schedule(warmup_steps=3, total_steps=2)


def test_the_trainer_sets_the_reference_lengths():
    from reasoning_irl.config.schema import TrainIRLConfig
    from reasoning_irl.config.training import IRLTrainingConfig
    from reasoning_irl.trainers.airl import discriminator_schedule

    cfg = TrainIRLConfig(discriminator=DiscriminatorConfig(updates_per_step=3, warmup_updates_per_step=1),
                         training=IRLTrainingConfig(reward_warmup_steps=250, max_steps=400))
    assert discriminator_schedule(cfg) == (1, (250, 250 + 400 * 3))  # docs/METHOD.md §5
    cfg.discriminator.warmup_updates_per_step = None  # default: K in warm-up too
    assert discriminator_schedule(cfg) == (3, (750, 750 + 1200))
    cfg.training.freeze_reward_after_warmup = True
    assert discriminator_schedule(cfg) == (3, (750, 750))
