"""Fixtures of the reward tests: the tiny backbone (cached per session) and small configs."""

from __future__ import annotations

import pytest

from reasoning_irl.config.model import ModelConfig
from reasoning_irl.config.reward import RewardConfig

COMPLETION = "<think>\n3 + 4 = 7\n7 * 2 = 14\n</think>\n<answer>\n14\n</answer>"
PROMPT = [{"role": "user", "content": "Start with 3. Add 4. Multiply by 2. What is the result?"}]


@pytest.fixture(scope="session")
def model_cfg() -> ModelConfig:
    """The tiny qwen2 model (built once into the test cache; see tests/conftest.py)."""
    return ModelConfig(policy="tiny", reward="tiny")


@pytest.fixture(scope="session")
def tiny_tokenizer(model_cfg):
    from reasoning_irl.models.loading import load_tokenizer

    return load_tokenizer("tiny", model_cfg)


@pytest.fixture(scope="session")
def make_reward_model(model_cfg):
    """Factory: a reward model on the (random) tiny backbone; keywords override RewardConfig fields."""
    import dataclasses

    from reasoning_irl.rewards import build_reward_model

    def make(*, form: str = "gail", lora_rank: int | None = None, backbone: str | None = None, **reward):
        cfg = dataclasses.replace(model_cfg, lora_rank=lora_rank)
        return build_reward_model(RewardConfig(**reward), cfg, form=form, backbone=backbone)

    return make
