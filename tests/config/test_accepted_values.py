"""Each set of accepted values is declared once, in ``config/``; the torch modules that check a value
again (direct callers, not only configs) refuse with the same tuple in the message."""

from __future__ import annotations

import pytest
import torch

from reasoning_irl.config.algo import ADVANTAGES, LOSS_AGGREGATIONS
from reasoning_irl.config.reward import FORMS, HEADS
from reasoning_irl.config.training import LR_SCHEDULERS


def test_the_torch_modules_check_against_the_config_tuples():
    from reasoning_irl.rewards import forms, heads
    from reasoning_irl.rl import advantages, policy_loss
    from reasoning_irl.rl.policy_update import lr_lambda

    assert forms.FORMS is FORMS and heads.HEADS is HEADS and advantages.ADVANTAGES is ADVANTAGES
    assert policy_loss.LOSS_AGGREGATIONS is LOSS_AGGREGATIONS
    with pytest.raises(ValueError, match="head 'bogus'; use one of linear, linear_sum, log_ratio, log_prob"):
        heads.RewardHead("bogus", 4)
    with pytest.raises(ValueError, match="unknown discriminator form 'gan'; use one of gail, airl"):
        forms.build_form("gan")
    with pytest.raises(ValueError, match="'mean' is not supported; use one of grpo, bnpo, dr_grpo, dapo"):
        policy_loss.aggregate_loss(torch.zeros(1, 2), torch.ones(1, 2), "mean", num_sequences=1, num_tokens=2,
                                   max_completion_length=2, num_micro_batches=1)
    with pytest.raises(ValueError, match="training.lr_scheduler='step'; use constant, linear or cosine"):
        lr_lambda("step", 0, 10)
    assert LR_SCHEDULERS == ("constant", "linear", "cosine")
    for schedule in LR_SCHEDULERS:
        assert lr_lambda(schedule, 0, 10)(0) == 1.0
