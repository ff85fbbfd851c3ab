"""The models of an evaluation: the policy (generation, log-probs) and the reward model, loaded on demand.

:class:`Models` loads only what the :class:`~.plan.EvalPlan` needs (nothing at all for a grade-only pregenerated run).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from reasoning_irl.eval.plan import EvalPlan

log = logging.getLogger(__name__)


class Models:
    """The policy (generation, log-probs) and the reward model of ``plan``, loaded on demand."""

    def __init__(self, plan: EvalPlan) -> None:
        self.policy = self.tokenizer = self.reward = None
        self.policy_name, self.reward_name = plan.policy_source, plan.reward_source
        self.reward_trained = None
        #: ``reward.aggregation`` given for a trained reward model (the other reward.* keys are refused)
        self.aggregation_override = plan.aggregation_override
        device = _device(plan.device)
        if plan.load_policy:
            from reasoning_irl.models import load_causal_lm, load_tokenizer, resolve_model_path

            path = resolve_model_path(self.policy_name, plan.model)
            self.tokenizer = load_tokenizer(path, plan.model)
            self.policy = load_causal_lm(path, plan.model, trainable=False).to(device).eval()
        if plan.reward:
            folder = Path(self.reward_name)
            if (folder / "reward_config.json").is_file():
                from reasoning_irl.rewards.saving import load_reward_model

                self.reward = load_reward_model(folder, model=plan.model)
                self.reward_trained = True
                if self.aggregation_override:
                    self.reward.config.aggregation = self.aggregation_override
            else:
                from reasoning_irl.config.model import FROM_POLICY
                from reasoning_irl.rewards.saving import build_reward_model

                log.warning(
                    "model.reward=%s is not a trained reward folder (no reward_config.json): scoring with "
                    "an untrained reward model",
                    self.reward_name,
                )
                backbone = None if self.reward_name == FROM_POLICY else self.reward_name
                self.reward = build_reward_model(plan.reward_settings, plan.model, backbone=backbone)
                self.reward_trained = False
            self.reward.to(device).eval()
    def generate(self, prompts: list[Any], sampling: Any, seed: int) -> list[list[tuple[str, bool]]]:
        """``sampling.n_samples`` completions (text, finished) per prompt, prompt-major."""
        from reasoning_irl.models import encode_prompt
        from reasoning_irl.rl.rollout import generate_rollouts

        ids = [encode_prompt(self.tokenizer, p) for p in prompts]
        rollouts = generate_rollouts(
            self.policy,
            self.tokenizer,
            ids,
            sampling,
            num_generations=sampling.n_samples,
            seed=seed,
            batch_prompts=len(ids),
        )
        n = sampling.n_samples
        pairs = list(zip(rollouts.completion_text, rollouts.finished))
        return [pairs[i * n : (i + 1) * n] for i in range(len(prompts))]


def _device(device: str) -> str:
    from reasoning_irl.distributed import resolve_device

    return resolve_device(device)

