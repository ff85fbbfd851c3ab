"""RewardConfig / DiscriminatorConfig refuse bad values with messages naming the key."""

import pytest

from reasoning_irl.config.reward import DiscriminatorConfig, RewardConfig


@pytest.mark.parametrize("kwargs,match", [
    ({"granularity": "token"}, "reward.granularity"),
    ({"head": "mlp"}, "reward.head"),
    ({"interval_tokens": 0}, "reward.interval_tokens"),
    ({"aggregation": "max"}, "reward.aggregation"),
])
def test_reward_config_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RewardConfig(**kwargs)


@pytest.mark.parametrize("kwargs,match", [
    ({"loss": "hinge"}, "discriminator.loss"),
    ({"form": "gan"}, "discriminator.form"),
    ({"label_positions": "first"}, "discriminator.label_positions"),
    ({"perturbations": ["shuffle"]}, "perturbations"),
    ({"label_smoothing": 0.5}, "label_smoothing"),
    ({"reward_clip": 0.0}, "reward_clip"),
])
def test_discriminator_config_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DiscriminatorConfig(**kwargs)
