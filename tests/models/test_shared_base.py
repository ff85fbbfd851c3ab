"""The policy and a ``from_policy`` LoRA reward model hold one frozen base, and still train apart."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from reasoning_irl.config.model import ModelConfig
from reasoning_irl.config.reward import DiscriminatorConfig, RewardConfig
from reasoning_irl.models import apply_lora, load_causal_lm
from reasoning_irl.models.lora import share_frozen_base
from reasoning_irl.rewards.discriminator import Discriminator
from reasoning_irl.rewards.labels import DiscriminatorSample
from reasoning_irl.rewards.saving import build_reward_model

PROMPT = [{"role": "user", "content": "Start with 3. Add 4. What is the result?"}]
COMPLETION = "<think>\n3 + 4 = 7\n</think>\n<answer>\n7\n</answer>"


def _scores(reward_model):
    return reward_model.score([PROMPT], [COMPLETION])[0].scores


@pytest.mark.parametrize("head", ["log_prob", "log_ratio"])
def test_shared_base_is_one_copy_and_trains_apart(head):
    cfg = dataclasses.replace(ModelConfig(), lora_rank=4)
    policy = apply_lora(load_causal_lm("tiny", cfg), cfg)
    reward_cfg = RewardConfig(head=head, granularity="dense")
    shared_rm = build_reward_model(reward_cfg, cfg, form="gail", backbone="tiny")
    alone_rm = build_reward_model(reward_cfg, cfg, form="gail", backbone="tiny")
    frozen = {n: p for n, p in shared_rm.base_model().named_parameters() if not p.requires_grad}
    saved = share_frozen_base(policy, shared_rm.backbone)
    assert saved == sum(p.numel() * p.element_size() for p in frozen.values()) > 0
    policy_storage = {p.data_ptr() for p in policy.get_base_model().parameters()}
    assert all(p.data_ptr() in policy_storage for p in frozen.values())
    assert _scores(shared_rm) == _scores(alone_rm)

    # a policy update moves the policy's adapter only: the reward model scores as before
    ids = torch.tensor([[1, 2, 3, 4, 5, 6]])
    optimizer = torch.optim.SGD([p for p in policy.parameters() if p.requires_grad], lr=1.0)
    for _ in range(2):  # peft's B starts at 0: the second step changes the output
        optimizer.zero_grad()
        policy(input_ids=ids).logits.logsumexp(-1).sum().backward()
        optimizer.step()
    assert _scores(shared_rm) == _scores(alone_rm)
    # a reward update leaves the policy's outputs alone
    before = policy(input_ids=ids).logits.detach()
    disc = Discriminator(shared_rm, DiscriminatorConfig(updates_per_step=2, learning_rate=1e-2, form="gail"),
                         policy_tokenizer_hash=shared_rm.tokenizer_hash)
    disc.update([DiscriminatorSample(PROMPT, COMPLETION, "expert")],
                [DiscriminatorSample(PROMPT, COMPLETION.replace("7\n</answer>", "8\n</answer>"), "policy")])
    assert torch.equal(policy(input_ids=ids).logits, before) and _scores(shared_rm) != _scores(alone_rm)
