"""reasoning_irl: learning reasoning reward models from expert demonstrations via adversarial IRL."""

__version__ = "0.1.0"
