"""Config groups ``reward`` (what the reward model scores, and how) and ``discriminator`` (how it is trained).

``configs/reward/{sparse,step,interval,dense}.yaml`` choose the granularity;
``configs/discriminator/{bce,bradley_terry,wgan}.yaml`` choose the loss. Readers:
:mod:`reasoning_irl.rewards.reward_model` (``RewardConfig``) and
:mod:`reasoning_irl.rewards.discriminator` (``DiscriminatorConfig``). Values are checked here, so a
wrong choice fails when the config is built, with the accepted values in the message.
"""

from __future__ import annotations

from dataclasses import dataclass

GRANULARITIES = ("sparse", "step", "interval", "dense")
HEADS = ("linear", "linear_sum", "log_ratio", "log_prob")
AGGREGATIONS = ("last", "mean", "min")
#: One vocabulary of aggregations: the reward model's own (``reward.aggregation``) and, at evaluation only,
#: ``min_step`` (the minimum over steps) and ``discounted`` (``eval.reward_aggregation``, ``calibration.json``).
EVAL_AGGREGATIONS = (*AGGREGATIONS, "min_step", "discounted")
LOSSES = ("bce", "bradley_terry", "wgan")
FORMS = ("gail", "airl")
DISCRIMINATOR_SCHEDULES = ("constant", "cosine")
LABEL_POSITIONS = ("prefix", "last", "first_change", "sequence")
POSITION_WEIGHTS = ("sequence", "token")
PERTURBATIONS = (
    "flip_operator",
    "nearby_answer",
    "corrupt_numbers",
    "answer_from_reasoning",
    "distractor_answer",
    "wrong_result",
    "wrong_operator",
    "wrong_operand",
)


def _choice(section: str, key: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{section}.{key}={value!r} is not supported; use one of {', '.join(allowed)}")


@dataclass
class RewardConfig:
    #: Which completion positions are scored: ``sparse`` (the last token), ``step`` (the last token of
    #: each step, the answer block being the last step), ``interval`` (every ``interval_tokens``-th
    #: token plus the last), ``dense`` (every token). Default ``step``: one score per reasoning step,
    #: which is what localisation needs.
    granularity: str = "step"
    #: Spacing of the ``interval`` granularity in completion tokens (15, as in the reference runs).
    interval_tokens: int = 15
    #: ``log_prob`` (q_t = β·Σ_{s≤t} log π_ψ + b: AIRL's optimal reward is the expert's log-policy, so π_ψ,
    #: started at the policy's warm start, parameterises it directly; at initialisation it scores like
    #: the warm start's own log-probability), ``log_ratio`` (q_t = β·Σ_{s≤t} log π_ψ/π_ref + b, PRIME's
    #: implicit reward), ``linear`` (q_t = a scalar head on the hidden state at t, the reference code's
    #: choice) or ``linear_sum`` (q_t = Σ_{s≤t} of that head: per-token rewards summed like log_ratio's).
    #: Default ``log_prob``: on arith it is the only head whose reward beats the baselines, chosen on
    #: validation (validation AUROC 0.988 vs 0.83 for log_ratio) — but there the discriminator updates
    #: lower it and ``best/reward_model`` is the initial one (docs/RESULTS.md §3).
    head: str = "log_prob"
    #: β of the ``log_ratio`` and ``log_prob`` heads; null (the default) takes the head's own default,
    #: :data:`reasoning_irl.rewards.heads.DEFAULT_BETA`, read through ``heads.beta_of`` on use (Hydra
    #: builds the defaults before it applies a ``reward.head=`` override). ``log_ratio``: β sets the
    #: scale of the scores and, with Adam, how far π_ψ must move from π_ref for a given score. PRIME
    #: used 0.05 with 7B models; on arith with the 1M tiny model, 120 updates at lr 1e-4 reached AUROC
    #: 0.96 with β = 0.5 and 0.74 with β = 0.05 (bench/reward_grid.py).
    #: ``log_prob``: β = 1 makes the ``airl`` discriminator π_ψ / (π_ψ + π_θ), ½ at initialisation.
    beta: float | None = None
    #: Standard deviation of the ``linear`` head's initial weights (0 = start at a zero score, so the
    #: first updates do not fight a random ranking).
    head_init_std: float = 0.0
    #: How one score per completion is formed from the scores at the scored positions: ``last`` (the
    #: prefix value of the whole completion = the sum of its rewards), ``mean`` or ``min``.
    aggregation: str = "last"
    #: Append the tokenizer's EOS to every completion before scoring, so the decision to stop is scored
    #: too, and experts and policy samples end the same way (the reference code did so only in warm-up).
    append_eos: bool = True
    #: Sequences per forward pass when scoring without gradients (sorted by length first).
    micro_batch_size: int = 32

    def __post_init__(self) -> None:
        _choice("reward", "granularity", self.granularity, GRANULARITIES)
        _choice("reward", "head", self.head, HEADS)
        _choice("reward", "aggregation", self.aggregation, AGGREGATIONS)
        if self.interval_tokens <= 0:
            raise ValueError(f"reward.interval_tokens={self.interval_tokens} must be a positive number of tokens")
        if self.beta is not None and self.beta <= 0:
            raise ValueError(f"reward.beta={self.beta} must be positive")
        if self.head_init_std < 0:
            raise ValueError(f"reward.head_init_std={self.head_init_std} must be >= 0")
        if self.micro_batch_size <= 0:
            raise ValueError(f"reward.micro_batch_size={self.micro_batch_size} must be positive")


@dataclass
class DiscriminatorConfig:
    #: ``bce`` (class-balanced, label-smoothed), ``bradley_terry`` (pairwise, expert vs negative of the
    #: same problem, with ``pairwise_margin``) or ``wgan`` (critic with gradient penalty; linear head only).
    loss: str = "bce"
    #: ``airl`` (logit = f − log π over each segment with f = g + γ·h(next) − h(prev); needs the policy's
    #: log-probs and the same tokenizer) or ``gail`` (logit = f, the score; reward = its increments — the
    #: reference code's critic). Default ``airl``: with the ``log_prob`` head and β = 1 it is AIRL's
    #: D = π_ψ / (π_ψ + π_θ), ½ at initialisation.
    form: str = "airl"
    #: ``prefix``: experts positive at every scored position, perturbed traces positive before their
    #: first changed token and negative from there on, policy samples negative everywhere (the run that
    #: worked). ``last``: policy samples labelled only at their last position. ``first_change``: as
    #: ``prefix``, but a perturbed trace is negative only at the first scored position at or after its
    #: change and unlabelled after it — for segment logits (the ``airl`` form), where a later segment
    #: that is right given the changed one is not itself an error. ``sequence``: the reference code's —
    #: a perturbed trace negative at every position, before its change too (experts, policy as ``prefix``).
    label_positions: str = "prefix"
    #: How labelled positions are weighted inside each class's mean: ``sequence`` (every sequence counts
    #: once, its positions share a weight of 1) or ``token`` (every labelled position counts once, as in
    #: the feasibility run: long sequences weigh more). Policy samples keep ``policy_weight`` either way.
    position_weights: str = "sequence"
    #: Label smoothing ε of ``bce``: targets 1 − ε and ε (the reference code's current 0.1).
    label_smoothing: float = 0.1
    #: Margin m of ``bradley_terry``: loss softplus(−(s_expert − s_negative − m)).
    pairwise_margin: float = 0.0
    #: Weight λ of the ``wgan`` gradient penalty λ·(‖∇_x̂ f(x̂)‖ − 1)² on interpolated embeddings
    #: (WGAN-GP's 10; the reference code had the key but never applied it).
    gradient_penalty: float = 10.0
    #: Discount γ of the ``airl`` potential shaping γ·h(next) − h(prev) (1.0: shaping telescopes).
    gamma: float = 1.0
    #: Discriminator optimiser steps per call of the update (K; 3 in the reference's final runs).
    updates_per_step: int = 3
    #: Discriminator optimiser steps per step of the reward warm-up (``training.reward_warmup_steps``);
    #: None = ``updates_per_step``. The reference took one (docs/METHOD.md §5).
    warmup_updates_per_step: int | None = None
    #: Learning rate of the backbone (π_ψ for ``log_ratio``).
    learning_rate: float = 1e-4
    #: Learning rate of the head (the linear head, the log-ratio bias b, the airl potential); None =
    #: ``learning_rate``. A fresh head on a trained backbone usually wants a larger one.
    head_learning_rate: float | None = None
    #: AdamW weight decay of the backbone (β = (0.9, 0.99); the reference used 0.1).
    weight_decay: float = 0.0
    #: AdamW weight decay of the head (the linear head, the bias b, the airl potential); 0 = not decayed.
    head_weight_decay: float = 0.0
    #: ``constant`` (default) or ``cosine``: the reference's schedule — linear warm-up *from 0* over the
    #: discriminator steps of the reward warm-up, then cosine decay to 0 at warm-up + max_steps × K
    #: (``transformers``' cosine-with-warm-up; the trainer sets both lengths).
    lr_scheduler: str = "constant"
    #: Gradient-norm clip per optimiser step (None = no clipping; the norm is still logged).
    max_grad_norm: float | None = 1.0
    #: Sequences per forward/backward pass; gradients accumulate to one step per update.
    micro_batch_size: int = 16
    #: Replay-buffer capacity in *sequences* per class (0 = no buffer: every update uses the current
    #: batch). The reference's ``training.buffer_size=50`` counted batches: 50 × 16 × 8 = 6400 sequences.
    #: It must hold at least one step's negatives, or the FIFO would drop the first prompts' (refused).
    replay_buffer_size: int = 0
    #: Sequences per class drawn from the replay buffer for each update (the current batch is pushed
    #: first); the reference drew per_device_train_batch_size // 2 = 8.
    replay_batch_size: int = 16
    #: Reward temperature T: exported rewards are divided by it (never the logit inside the loss).
    reward_temperature: float = 1.0
    #: Clip of the reward given to the policy, [−c, c] after the temperature (None = no clipping; the
    #: reference runs used 5). Only the exported reward is clipped, never the discriminator's logit.
    reward_clip: float | None = None
    #: Perturbations of expert traces used as negatives (chosen per trace, uniformly; one that changes
    #: nothing gives way to another); see
    #: :mod:`reasoning_irl.rewards.perturbations`. null (default) = the task kind's list: math tasks
    #: ``[flip_operator, nearby_answer, corrupt_numbers, answer_from_reasoning, wrong_result]``,
    #: multiple-choice tasks ``[distractor_answer, wrong_result]`` (``perturbations.default_perturbations``).
    perturbations: list[str] | None = None
    #: Perturbed copies made of each expert trace per batch (unchanged ones are dropped).
    perturbations_per_expert: int = 1
    #: Weight of each policy sample relative to a perturbed expert inside the negative class (the classes
    #: stay balanced). 1 = every negative counts the same, as in the reference code; 0 = experts against
    #: perturbed experts only (the policy's samples still get rewards, they just do not train the critic).
    policy_weight: float = 1.0
    #: λ of an anchor added to the loss for the likelihood heads (``log_prob``, ``log_ratio``): λ times the
    #: mean per-token negative log-likelihood of the expert traces under π_ψ, so the critic keeps fitting
    #: the demonstrations while it discriminates (0 = off, the reference loss).
    expert_nll_weight: float = 0.0
    #: Move policy samples whose answer is correct to the positives. Uses gold answers, so the method is
    #: no longer verifier-free: off by default (the reference code had it on).
    relabel_correct_samples: bool = False
    #: Weight of each expert trace inside the positive class, relative to a policy sample moved there by
    #: ``relabel_correct_samples`` (the classes stay balanced). 1 = every positive counts the same;
    #: 0 = the demonstrations leave the loss: with ``relabel_correct_samples=true`` and
    #: ``perturbations_per_expert=0`` the critic is an outcome reward model trained on the policy's own
    #: samples graded by gold answers — the control that shows what the gold labels alone do.
    expert_weight: float = 1.0

    def __post_init__(self) -> None:
        _choice("discriminator", "loss", self.loss, LOSSES)
        _choice("discriminator", "form", self.form, FORMS)
        _choice("discriminator", "label_positions", self.label_positions, LABEL_POSITIONS)
        _choice("discriminator", "position_weights", self.position_weights, POSITION_WEIGHTS)
        _choice("discriminator", "lr_scheduler", self.lr_scheduler, DISCRIMINATOR_SCHEDULES)
        if self.warmup_updates_per_step is not None and self.warmup_updates_per_step < 0:
            raise ValueError(f"discriminator.warmup_updates_per_step={self.warmup_updates_per_step} must be >= 0 "
                             "or null (= updates_per_step)")
        if self.weight_decay < 0 or self.head_weight_decay < 0:
            raise ValueError(f"discriminator.weight_decay={self.weight_decay} and head_weight_decay="
                             f"{self.head_weight_decay} must be >= 0")
        for name in self.perturbations or []:
            _choice("discriminator", "perturbations[]", name, PERTURBATIONS)
        if not 0.0 <= self.label_smoothing < 0.5:
            raise ValueError(f"discriminator.label_smoothing={self.label_smoothing} must be in [0, 0.5)")
        if self.updates_per_step < 0:
            raise ValueError(f"discriminator.updates_per_step={self.updates_per_step} must be >= 0 (0 = frozen)")
        if self.reward_temperature <= 0:
            raise ValueError(f"discriminator.reward_temperature={self.reward_temperature} must be positive")
        if self.reward_clip is not None and self.reward_clip <= 0:
            raise ValueError(f"discriminator.reward_clip={self.reward_clip} must be positive or null")
        for key in ("micro_batch_size", "replay_batch_size"):
            if getattr(self, key) <= 0:
                raise ValueError(f"discriminator.{key}={getattr(self, key)} must be positive")
        if self.policy_weight < 0:
            raise ValueError(f"discriminator.policy_weight={self.policy_weight} must be >= 0")
        if self.expert_weight < 0:
            raise ValueError(f"discriminator.expert_weight={self.expert_weight} must be >= 0")
        if self.expert_weight == 0 and not self.relabel_correct_samples:
            raise ValueError("discriminator.expert_weight=0 leaves the critic no positive but perturbed-trace "
                             "prefixes: set discriminator.relabel_correct_samples=true (an outcome reward model "
                             "on graded policy samples) or give the experts a weight > 0")
        if self.expert_weight != 1.0 and self.loss == "bradley_terry":
            raise ValueError(f"discriminator.expert_weight={self.expert_weight} does not apply to "
                             "loss=bradley_terry (its pairs are expert vs negative); use loss=bce or expert_weight=1")
        if self.expert_nll_weight < 0:
            raise ValueError(f"discriminator.expert_nll_weight={self.expert_nll_weight} must be >= 0")
        if self.replay_buffer_size < 0 or self.perturbations_per_expert < 0:
            raise ValueError("discriminator.replay_buffer_size and perturbations_per_expert must be >= 0")
