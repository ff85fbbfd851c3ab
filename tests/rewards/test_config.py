"""RewardConfig / DiscriminatorConfig refuse bad values with messages naming the key."""

import pytest
from omegaconf import OmegaConf

from reasoning_irl.config.reward import DiscriminatorConfig, RewardConfig
from reasoning_irl.rewards.heads import beta_of


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


def test_beta_defaults_per_head_and_an_explicit_one_wins():
    assert beta_of(RewardConfig(head="log_ratio")) == 0.5
    assert beta_of(RewardConfig(head="log_prob")) == 1.0  # airl's π_ψ / (π_ψ + π_θ) is ½ at initialisation
    assert beta_of(RewardConfig(head="log_prob", beta=0.25)) == 0.25
    with pytest.raises(ValueError, match=r"reward.beta=-1.0 must be positive"):
        RewardConfig(beta=-1.0)


def test_a_head_override_gets_that_heads_beta():
    # Hydra builds the structured defaults (head log_prob) before it applies reward.head=log_ratio
    cfg = OmegaConf.merge(OmegaConf.structured(RewardConfig), OmegaConf.from_dotlist(["head=log_ratio"]))
    assert beta_of(OmegaConf.to_object(cfg)) == 0.5
