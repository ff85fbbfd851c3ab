"""The cells of ``bench/quality.py``: each a training recipe (trainer, overrides, warm start), in groups.

A cell's settings are stored in its result, and a resumed or repeated cell with other settings is refused
by name (``quality.settings_of``): edit a cell only together with its result.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class Cell:
    """A training recipe: which trainer, its overrides, from which warm start."""

    trainer: str  # train_irl | train_sft | train_grpo | none (the warm start itself)
    overrides: tuple[str, ...] = ()
    #: The warm start's overrides (e.g. fewer demonstrations); cells with equal ones share it.
    warm_start: tuple[str, ...] = ()
    about: str = ""
    #: An evaluation variant: the run of cell ``of`` (trained first), evaluated at ``temperature``.
    of: str | None = None
    temperature: float | None = None


def at_temperature(cells: dict[str, Cell], name: str, temperature: float) -> tuple[str, Cell]:
    """(name, cell) evaluating the run of ``cells[name]`` at another sampling temperature."""
    base = cells[name]
    return f"{name}@T{temperature}", dataclasses.replace(
        base, of=name, temperature=temperature, about=f"{base.about}; evaluated at T = {temperature}")


def _grid() -> dict[str, Cell]:
    cells = {}
    for granularity in ("sparse", "step", "interval", "dense"):
        for head in ("log_ratio", "linear", "log_prob"):
            for form in ("gail", "airl"):
                # log_prob: β = 1, so that the airl discriminator π_ψ / (π_ψ + π_θ) starts at ½
                beta = ("reward.beta=1.0",) if head == "log_prob" else ()
                cells[f"airl-{granularity}-{head}-{form}"] = Cell(
                    "train_irl", (f"reward={granularity}", f"reward.head={head}", f"discriminator.form={form}", *beta),
                    about=f"{granularity} reward, {head} head, {form} form")
    cells["airl-step-log_ratio-gail-frozen"] = Cell(
        "train_irl", ("reward.head=log_ratio", "discriminator.form=gail", "training.freeze_reward_after_warmup=true"),
        about="discriminator frozen after its warm-up (learned-reward RL baseline)")
    return cells


FEW = ("task.num_demonstrations=100",)
GROUPS: dict[str, dict[str, Cell]] = {
    "headline": {
        "warm_start": Cell("none", about="the SFT warm start, no further training"),
        "airl": Cell("train_irl", about="AIRL, the embedded default (step, log_prob, airl)"),
        "airl_untrained": Cell("train_irl", ("discriminator.updates_per_step=0",),
                               about="the default with the discriminator never updated: the reward is the "
                                     "warm start's log-likelihood"),
        "sft_continued": Cell("train_sft", ("training.max_steps=@sft_steps",),
                              about="SFT continued from the warm start, 560 steps"),
        "grpo_gold": Cell("train_grpo", ("training.max_steps=@grpo_steps",),
                          about="GRPO with gold-answer rewards from the warm start, 30 steps"),
        "grpo_gold_long": Cell("train_grpo", ("training.max_steps=@grpo_steps_long",),
                               about="GRPO with gold-answer rewards, 85 steps (meant as AIRL's wall time)"),
        "grpo_gold_matched": Cell("train_grpo", ("training.max_steps=@grpo_steps_matched",),
                                  about="GRPO with gold-answer rewards, 120 steps: the default AIRL's wall time"),
    },
    "grid": _grid(),
    "few_demos": {
        "few_warm_start": Cell("none", warm_start=FEW, about="SFT on 100 demonstrations"),
        "few_airl": Cell("train_irl", FEW, warm_start=FEW,
                         about="AIRL: 100 demonstrations, rollouts on all 10,000 prompts"),
        "few_airl_untrained": Cell("train_irl", FEW + ("discriminator.updates_per_step=0",), warm_start=FEW,
                                   about="as few_airl, the discriminator never updated (its reward at initialisation)"),
        "few_airl-log_ratio-gail": Cell("train_irl", FEW + ("reward.head=log_ratio", "discriminator.form=gail"),
                                        warm_start=FEW, about="as few_airl, with the former default reward"),
        "few_sft_continued": Cell("train_sft", FEW + ("training.max_steps=@sft_steps",), warm_start=FEW,
                                  about="SFT continued on the 100 demonstrations for AIRL's wall time"),
    },
}
#: Issue 19 item 3, where AIRL adds to imitation: the headline's warm start, AIRL, its untrained control and
#: continued SFT with fewer demonstrations (task.num_demonstrations; the rollouts still use all 10,000
#: prompts). 10,000 demonstrations are the headline cells themselves.
DEMONSTRATIONS = (300, 1000, 3000)
GROUPS["demonstrations"] = {
    name: cell
    for n in DEMONSTRATIONS
    for name, cell in {
        f"demos{n}_warm_start": Cell("none", warm_start=(f"task.num_demonstrations={n}",),
                                     about=f"SFT on {n} demonstrations"),
        f"demos{n}_airl": Cell("train_irl", (f"task.num_demonstrations={n}",),
                               warm_start=(f"task.num_demonstrations={n}",),
                               about=f"AIRL, the default, from the {n}-demonstration warm start"),
        f"demos{n}_airl_untrained": Cell("train_irl", (f"task.num_demonstrations={n}",
                                                       "discriminator.updates_per_step=0"),
                                         warm_start=(f"task.num_demonstrations={n}",),
                                         about=f"as demos{n}_airl, the discriminator never updated"),
        f"demos{n}_sft_continued": Cell("train_sft", (f"task.num_demonstrations={n}", "training.max_steps=@sft_steps"),
                                        warm_start=(f"task.num_demonstrations={n}",),
                                        about=f"SFT continued on the {n} demonstrations for AIRL's wall time"),
    }.items()
}

#: Issue 19: the feasibility run's critic protocol, as far as config keys reach it — a ``log_ratio`` critic
#: (β = 0.2, gail) trained alone (no policy update) for 300 updates of 32 experts + 32 fresh policy samples
#: + 32 perturbed experts at lr 3e-4. ``feas`` keeps the default perturbations; ``feas_carry_on`` only
#: those after which the computation carries on from the wrong value, as a policy's error does;
#: ``feas_natural`` adds the wrong operator and operand (as the feasibility run's perturbations did);
#: ``feas_log_prob`` trains the default head on that data.
FEASIBILITY = ("model.reward=from_policy", "reward=dense", "reward.head=log_ratio", "reward.beta=0.2",
               "discriminator.form=gail", "discriminator.learning_rate=3e-4", "discriminator.updates_per_step=1",
               "training.batch_prompts=32", "sampling.num_generations=1", "training.max_steps=0",
               "training.reward_warmup_steps=300", "training.eval_every=50")
FEAS_LOG_PROB = tuple(o for o in FEASIBILITY if not o.startswith(
    ("reward.head", "reward.beta", "discriminator.form", "model.reward"))) + (
    "discriminator.perturbations=[wrong_result,wrong_operator,wrong_operand,nearby_answer]",)
FEAS_100 = tuple(o for o in FEAS_LOG_PROB if not o.startswith("training.reward_warmup")) + (
    "training.reward_warmup_steps=100",)
GROUPS["feasibility"] = {
    "feas": Cell("train_irl", FEASIBILITY, about="the feasibility protocol, default perturbations"),
    "feas_carry_on": Cell("train_irl", FEASIBILITY + ("discriminator.perturbations=[wrong_result,nearby_answer]",),
                          about="the feasibility protocol, only perturbations the computation carries on from"),
    "feas_natural": Cell("train_irl", FEASIBILITY + (
        "discriminator.perturbations=[wrong_result,wrong_operator,wrong_operand,nearby_answer]",),
        about="the feasibility protocol, the policy's kinds of error: a wrong result, operator or operand, "
              "each carried on, and a wrong final answer"),
    "feas_natural_1k": Cell("train_irl", tuple(o for o in FEASIBILITY if not o.startswith("training.reward_warmup"))
                            + ("discriminator.perturbations=[wrong_result,wrong_operator,wrong_operand,nearby_answer]",
                               "training.reward_warmup_steps=1000"),
                            about="as feas_natural, 1,000 updates (the critic-budget curve's next point)"),
    "feas_natural_3k": Cell("train_irl", tuple(o for o in FEASIBILITY if not o.startswith("training.reward_warmup"))
                            + ("discriminator.perturbations=[wrong_result,wrong_operator,wrong_operand,nearby_answer]",
                               "training.reward_warmup_steps=3000"),
                            about="as feas_natural, 3,000 updates (the critic-budget curve's last point)"),
    "feas_natural_token": Cell("train_irl", FEASIBILITY + (
        "discriminator.perturbations=[wrong_result,wrong_operator,wrong_operand,nearby_answer]",
        "discriminator.position_weights=token"),
        about="as feas_natural, class-balanced over tokens (every labelled position counts once)"),
    # The same budget and data for the default head: its score keeps the policy's own log-probability,
    # which the log_ratio head divides out.
    "feas_log_prob": Cell("train_irl", FEAS_LOG_PROB,
                          about="as feas_natural with the default reward (log_prob head, airl form, β = 1)"),
    # Issue 19 item 2: the critic-budget curve's 0-update points (bench/critic_budget.py).
    "feas_natural_0": Cell("train_irl", tuple(o for o in FEASIBILITY if not o.startswith("training.reward_warmup"))
                           + ("discriminator.perturbations=[wrong_result,wrong_operator,wrong_operand,nearby_answer]",
                              "training.reward_warmup_steps=1", "discriminator.warmup_updates_per_step=0"),
                           about="as feas_natural with no critic update (the log_ratio reward at initialisation)"),
    "feas_log_prob_0": Cell("train_irl", tuple(o for o in FEAS_LOG_PROB if not o.startswith("training.reward_warmup"))
                            + ("training.reward_warmup_steps=1", "discriminator.warmup_updates_per_step=0"),
                            about="as feas_log_prob with no critic update (the log_prob reward at initialisation)"),
    # The critic keeps fitting the demonstrations while it discriminates: + λ·(the experts' NLL under π_ψ).
    # With the default head the reward is log π_ψ, whose AIRL optimum is the expert's log-policy; the
    # continued SFT of the warm start (cell sft_continued) shows how far from it the warm start still is.
    # These cells (and those of item 4 below) take 100 updates, a third of the others' budget, to fit the
    # session's machine time; bench/critic_budget.py measures feas_log_prob at 100 updates beside them.
    "feas_anchor": Cell("train_irl", FEAS_100 + ("discriminator.expert_nll_weight=1.0",),
                        about="as feas_log_prob, 100 updates, + 1 × the experts' NLL under π_ψ in the critic's loss"),
    # Issue 19 item 4: the reference's label switching (gold answers), and beside it an outcome reward
    # model on the same gold labels without demonstrations or perturbations (no adversarial part).
    "feas_relabel": Cell("train_irl", FEAS_100 + ("discriminator.relabel_correct_samples=true",),
                         about="as feas_log_prob, 100 updates, correct policy samples moved to the positives "
                               "(gold answers)"),
    "feas_orm": Cell("train_irl", FEAS_100 + (
        "discriminator.relabel_correct_samples=true", "discriminator.expert_weight=0",
        "discriminator.perturbations_per_expert=0"),
        about="an outcome reward model, 100 updates: the policy's samples graded by gold answers, no demonstrations"),
}
#: Issue 19 item 5: the default recipe on two arith variants whose operators do not overlap; each run's
#: reward then reranks the other's samples (bench/transfer.py).
TRANSFER_VARIANTS = {"add_sub": "+-", "mul_div": "*/"}
GROUPS["transfer"] = {
    f"transfer_{name}": Cell("train_irl", (f"task.arith_operators={ops}",), warm_start=(f"task.arith_operators={ops}",),
                             about=f"the default AIRL on arith with operators {ops} only (warm start too)")
    for name, ops in TRANSFER_VARIANTS.items()}
#: The issue's suggestion: at a lower temperature fewer errors are tokens the policy itself doubts.
GROUPS["low_temperature"] = dict(at_temperature({**GROUPS["headline"], **GROUPS["grid"]}, name, 0.7)
                                 for name in ("warm_start", "airl", "airl-step-log_ratio-gail"))
CELLS = {name: cell for group in GROUPS.values() for name, cell in group.items()}
#: Step budgets of the baselines. Set beforehand from one loaded run so that their wall time would match
#: AIRL's; measured (seed 0): AIRL 198 s, SFT 560 steps 306 s, GRPO 30 steps 70 s — hence GRPO 85 steps.
#: Session 3: the log_prob default's AIRL took 190 s (mean of 3 seeds), GRPO 85 steps 134 s — hence 120.
BUDGETS = {"@sft_steps": 560, "@grpo_steps": 30, "@grpo_steps_long": 85, "@grpo_steps_matched": 120}
