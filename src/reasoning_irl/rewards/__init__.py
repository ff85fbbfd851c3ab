"""Reward models and the adversarial discriminator (docs/METHOD.md).

- :mod:`.positions`: which completion tokens each granularity scores (from character offsets);
- :mod:`.heads`: the ``log_prob``, ``log_ratio`` and ``linear`` heads (and AIRL's potential);
- :mod:`.reward_model`: :class:`RewardModel` — scores, rewards, step scores, one score per completion;
- :mod:`.saving`: build, save (safetensors + ``reward_config.json``) and load;
- :mod:`.forms`: ``gail`` and ``airl`` — what the loss sees, what the policy receives, what is exported;
- :mod:`.losses`: class-balanced BCE, Bradley–Terry, WGAN with gradient penalty;
- :mod:`.labels`: discriminator samples and their labels at the scored positions;
- :mod:`.perturbations`: perturbed expert traces with their first changed character and step;
- :mod:`.replay`: the replay buffer; :mod:`.discriminator`: the update as one unit;
- :mod:`.verifiable`: format and correctness rewards (the GRPO baseline, opt-in mixing).
"""

from reasoning_irl.rewards.discriminator import Discriminator
from reasoning_irl.rewards.forms import AirlForm, GailForm, build_form
from reasoning_irl.rewards.labels import DiscriminatorSample, position_labels
from reasoning_irl.rewards.perturbations import Perturbation, perturb, perturb_traces
from reasoning_irl.rewards.positions import scored_positions
from reasoning_irl.rewards.replay import ReplayBuffer
from reasoning_irl.rewards.reward_model import RewardModel, ScoredPosition, ScoredSample, StepScore, aggregate
from reasoning_irl.rewards.saving import (
    build_reward_model,
    load_reward_model,
    read_reward_config,
    save_reward_model,
)

__all__ = [
    "AirlForm",
    "Discriminator",
    "DiscriminatorSample",
    "GailForm",
    "Perturbation",
    "ReplayBuffer",
    "RewardModel",
    "ScoredPosition",
    "ScoredSample",
    "StepScore",
    "aggregate",
    "build_form",
    "build_reward_model",
    "load_reward_model",
    "perturb",
    "perturb_traces",
    "position_labels",
    "read_reward_config",
    "save_reward_model",
    "scored_positions",
]
