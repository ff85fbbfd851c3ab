"""The discriminator update as one reusable unit (imitation-style): given experts and negatives, K steps.

:class:`Discriminator` owns the reward model's optimiser, the optional replay buffer and the
loss/form/label choices of :class:`~reasoning_irl.config.reward.DiscriminatorConfig`; the adversarial
trainer only hands it batches and asks it for rewards. One :meth:`Discriminator.update`:

1. (replay) push the batch into the buffer;
2. K = ``updates_per_step`` times: draw the batch (the current one, or ``replay_batch_size`` per class
   from the buffer), label its scored positions (:mod:`.labels`), form the logits (:mod:`.forms`),
   compute the loss (:mod:`.losses`) over micro-batches with batch-exact normalisation, clip the
   gradient norm and take one AdamW step (the current batch is encoded once for all K:
   :mod:`.encoded_batch`);
3. return metrics averaged over the K steps: ``loss``, ``acc_pos`` / ``acc_neg`` (weighted fraction of
   positive / negative labelled positions on the right side of 0), ``logit_pos_mean`` /
   ``logit_neg_mean``, ``grad_norm`` (before clipping), ``num_pos`` / ``num_neg`` (sequences with a
   positive / negative label) and ``gradient_penalty`` (``wgan``).

Which quantity goes where (formulas in :mod:`.forms`): the loss sees the unclipped logits; the policy
receives :meth:`policy_rewards` (increments of clip(q/T) for ``gail``, clip(f/T) for ``airl``); reranking,
localisation and calibration use the unclipped scores q of :meth:`RewardModel.score`.

``bradley_terry`` compares sequence logits (``gail``: q_K; ``airl``: Σ_k logit_k) of every negative with
the expert of the same ``problem_id``. ``wgan`` adds the gradient penalty on embeddings interpolated
between expert i and negative i (prompts right-aligned to one width, completions after it; attention
over the union of their tokens); the critic value is the one the loss trains, the weighted mean of the
per-position logits at the labelled positions (:meth:`Discriminator._gradient_penalty`) — ``linear``
heads only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from reasoning_irl import distributed
from reasoning_irl.config.reward import DiscriminatorConfig
from reasoning_irl.faults import fault_point
from reasoning_irl.models.encoding import EncodedSample
from reasoning_irl.rewards.encoded_batch import EncodedBatch
from reasoning_irl.rewards.heads import LIKELIHOOD_HEADS
from reasoning_irl.rewards.labels import DiscriminatorSample, position_labels
from reasoning_irl.rewards.losses import (
    balanced_coefficients,
    bradley_terry,
    class_balanced_bce,
    gradient_penalty,
    position_accuracy,
    wgan_critic_loss,
)
from reasoning_irl.rewards.perturbations import check_perturbations, default_perturbations, perturb_traces
from reasoning_irl.rewards.positions import segment_ids
from reasoning_irl.rewards.replay import ReplayBuffer
from reasoning_irl.rewards.reward_model import Prepared, RewardModel, SampleOutput, ScoredSample

#: The reward model's encoded samples → per sample, the policy's log-prob of each of its completion tokens
#: (the ids are the policy's own: ``airl`` requires one tokenizer), the appended EOS included.
PolicyLogprobs = Callable[[Sequence[EncodedSample]], Sequence[Sequence[float]]]


class Discriminator:
    """Trains a :class:`RewardModel` as the adversarial discriminator (see the module docstring)."""

    def __init__(self, reward_model: RewardModel, config: DiscriminatorConfig, *,
                 policy_tokenizer_hash: str | None = None, policy_logprobs: PolicyLogprobs | None = None,
                 seed: int = 0, task_kind: str = "math") -> None:
        if config.loss == "wgan" and reward_model.config.head in LIKELIHOOD_HEADS:
            head = reward_model.config.head
            raise ValueError(
                f"discriminator.loss=wgan needs reward.head=linear: a {head} score is a (log-)likelihood, "
                "not a free critic, and its gradient penalty would pull π_ψ off a distribution; "
                f"use discriminator=bce or bradley_terry with {head}"
            )
        if config.expert_nll_weight > 0 and reward_model.config.head not in LIKELIHOOD_HEADS:
            raise ValueError(
                f"discriminator.expert_nll_weight={config.expert_nll_weight} needs a likelihood head "
                f"(reward.head=log_prob or log_ratio); reward.head={reward_model.config.head!r} has no "
                "likelihood to anchor: set it to 0"
            )
        if config.form != reward_model.form.name:
            raise ValueError(f"discriminator.form={config.form!r} but the reward model was built with form "
                             f"{reward_model.form.name!r}; build it with form={config.form!r}")
        if reward_model.form.needs_policy_logprobs:
            if config.gamma != reward_model.form.gamma:
                raise ValueError(f"discriminator.gamma={config.gamma} but the reward model's airl form has "
                                 f"γ={reward_model.form.gamma}; build it with gamma={config.gamma}")
            if policy_tokenizer_hash is None:
                raise ValueError("discriminator.form=airl needs the policy's tokenizer hash "
                                 "(models.loading.tokenizer_hash) to check that token positions agree")
            if policy_tokenizer_hash != reward_model.tokenizer_hash:
                raise ValueError(
                    "discriminator.form=airl needs the policy and the reward model to share a tokenizer "
                    f"(log π must cover the same tokens as the segments), but their hashes differ "
                    f"({policy_tokenizer_hash[:12]} ≠ {reward_model.tokenizer_hash[:12]}); use "
                    "model.reward=from_policy or discriminator.form=gail"
                )
        #: The perturbations used: ``discriminator.perturbations``, or the list of the task's
        #: ``answer_kind`` (``task_kind``) when it is null.
        self.perturbations = (list(config.perturbations) if config.perturbations is not None
                              else default_perturbations(task_kind))
        check_perturbations(self.perturbations, task_kind)
        self.reward_model = reward_model
        self.config = config
        self.policy_logprobs = policy_logprobs
        self.seed = seed
        head_lr = config.head_learning_rate or config.learning_rate
        groups = [{"params": reward_model.backbone_parameters(), "lr": config.learning_rate,
                   "weight_decay": config.weight_decay},
                  {"params": reward_model.head_parameters(), "lr": head_lr, "weight_decay": config.head_weight_decay}]
        groups = [g for g in groups if g["params"]]
        if not groups:
            raise ValueError("the reward model has no trainable parameter")
        self.optimizer = torch.optim.AdamW(groups, betas=(0.9, 0.99))
        self._base_lrs = [g["lr"] for g in self.optimizer.param_groups]
        self._schedule: tuple[int, int] | None = None  # (warm-up steps, total steps) of lr_scheduler=cosine
        self.replay = ReplayBuffer(config.replay_buffer_size, seed) if config.replay_buffer_size > 0 else None
        self.steps_done = 0

    def set_schedule(self, warmup_steps: int, total_steps: int) -> None:
        """Lengths, in discriminator optimiser steps, of ``lr_scheduler=cosine`` (no effect when constant)."""
        if warmup_steps < 0 or total_steps < warmup_steps:
            raise ValueError(
                f"discriminator schedule: total_steps={total_steps} must be >= warmup_steps={warmup_steps} >= 0"
            )
        self._schedule = (warmup_steps, total_steps)

    def lr_factor(self, step: int) -> float:
        """Multiplier of the lr at optimiser step ``step`` (0-based): 1, or the reference's cosine with warm-up
        from 0 — step/W for step < W, then ½(1 + cos(π·(step − W)/(total − W))), 0 past the end."""
        if self.config.lr_scheduler == "constant":
            return 1.0
        if self._schedule is None:
            raise ValueError("discriminator.lr_scheduler=cosine needs its lengths: call set_schedule(warmup_steps, "
                             "total_steps) first (the AIRL trainer does)")
        warmup, total = self._schedule
        if step < warmup:
            return step / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    # --- negatives ----------------------------------------------------------------------------------
    def perturbed_negatives(self, experts: Sequence[DiscriminatorSample], seed: int,
                            metas: Sequence[dict | None] | None = None,
                            copies: int | None = None) -> list[DiscriminatorSample]:
        """``copies`` (default ``perturbations_per_expert``) perturbed copies of each expert, unchanged ones
        dropped."""
        copies = self.config.perturbations_per_expert if copies is None else copies
        if copies == 0 or not experts:
            return []
        results = perturb_traces([e.completion for e in experts], self.perturbations, seed, metas, copies=copies)
        return [
            DiscriminatorSample(experts[i].prompt, p.text, "perturbed", problem_id=experts[i].problem_id,
                                first_changed_char=p.first_changed_char)
            for i, p in results
        ]

    # --- rewards ------------------------------------------------------------------------------------
    def policy_rewards(self, prompts: Sequence[Any], completions: Sequence[str],
                       steps: Sequence[Sequence[str] | None] | None = None, *,
                       finished: Sequence[bool] | None = None) -> list[ScoredSample]:
        """Scores and policy rewards (with ``reward_temperature`` and ``reward_clip``) of completions;
        ``finished[i]`` False for a rollout that did not stop (:meth:`RewardModel.score`)."""
        return self.reward_model.score(prompts, completions, steps, temperature=self.config.reward_temperature,
                                       clip=self.config.reward_clip, finished=finished)

    # --- the update ---------------------------------------------------------------------------------
    def update(self, positives: Sequence[DiscriminatorSample], negatives: Sequence[DiscriminatorSample],
               updates: int | None = None) -> dict[str, float]:
        """Push (replay) and take K optimiser steps (``updates``, default ``updates_per_step``); metrics
        averaged over the steps. Without replay the K steps train on the same batch, so it is encoded,
        labelled and given its policy log-probs (π_θ does not change during an update) once."""
        if self.replay is not None:
            self.replay.push(positives, negatives)
        history, batch = [], None
        for _ in range(self.config.updates_per_step if updates is None else updates):
            if self.replay is not None:
                batch_pos, batch_neg = self.replay.sample(self.config.replay_batch_size)
                history.append(self.step(batch_pos + batch_neg))
            else:
                if batch is None:
                    batch = self.encode_batch([*positives, *negatives])
                history.append(self._step(batch))
        if not history:
            return {}
        return {key: sum(h[key] for h in history) / len(history) for key in history[0]}

    def encode_batch(self, samples: Sequence[DiscriminatorSample]) -> EncodedBatch:
        """``samples`` encoded for a step: prepared, length-sorted, with their policy log-probs and labels."""
        model, cfg = self.reward_model, self.config
        prepared = [model.prepare(s.prompt, s.completion, s.steps, finished=s.finished) for s in samples]
        # Length-sorted, so that each micro-batch is padded to similar lengths (a sum over samples: the
        # order changes nothing but rounding).
        order = sorted(range(len(samples)), key=lambda i: len(prepared[i].encoded.input_ids))
        samples, prepared = [samples[i] for i in order], [prepared[i] for i in order]
        labelled = [position_labels(s, p.positions, p.encoded.completion_offsets, cfg.label_positions,
                                    cfg.relabel_correct_samples, cfg.policy_weight, cfg.position_weights,
                                    cfg.expert_weight)
                    for s, p in zip(samples, prepared)]
        return EncodedBatch(samples, prepared, self._policy_logprobs(samples, prepared), labelled)

    def step(self, samples: Sequence[DiscriminatorSample]) -> dict[str, float]:
        """One optimiser step on ``samples`` (experts, perturbed traces and policy samples mixed)."""
        return self._step(self.encode_batch(samples))

    def _step(self, batch: EncodedBatch) -> dict[str, float]:
        """One optimiser step on an :meth:`encode_batch` (K steps may share it: only its π_ref cache grows)."""
        cfg = self.config
        self.reward_model.train()
        self.optimizer.zero_grad(set_to_none=True)
        experts = [s.kind == "expert" for s in batch.samples]
        if cfg.loss == "bradley_terry":
            stats = self._bradley_terry(batch, experts)
        else:
            stats = self._position_loss(batch, experts)
        if cfg.loss == "wgan" and cfg.gradient_penalty > 0:
            stats["gradient_penalty"] = self._gradient_penalty(batch.samples, batch.prepared, batch.logprobs,
                                                               batch.labelled)
        params = [p for group in self.optimizer.param_groups for p in group["params"]]
        distributed.average_gradients(params)  # several processes: keep the replicas equal (no-op for one)
        grad_norm = torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm if cfg.max_grad_norm else math.inf)
        fault_point("disc_update")  # deterministic fault injection (reasoning_irl.faults); no-op when unset
        factor = self.lr_factor(self.steps_done)
        for group, base in zip(self.optimizer.param_groups, self._base_lrs):
            group["lr"] = base * factor
        self.optimizer.step()
        self.steps_done += 1
        stats["grad_norm"] = float(grad_norm)
        return stats

    def _policy_logprobs(self, samples, prepared: Sequence[Prepared]) -> list[torch.Tensor | None]:
        if not self.reward_model.form.needs_policy_logprobs:
            return [None] * len(samples)
        if self.policy_logprobs is not None:
            values = self.policy_logprobs([p.encoded for p in prepared])
        else:
            values = [s.policy_logprobs for s in samples]
        out = []
        for sample, prep, value in zip(samples, prepared, values):
            if value is None:
                raise ValueError("discriminator.form=airl needs the policy's log-probs of every sample: pass "
                                 "policy_logprobs= to the Discriminator or set DiscriminatorSample.policy_logprobs")
            length = prep.encoded.completion_length
            if len(value) < length:
                raise ValueError(f"got {len(value)} policy log-probs for a completion of {length} reward-model "
                                 f"tokens ({sample.completion[:40]!r}…); the tokenizations differ")
            out.append(torch.tensor(list(value[:length]), dtype=torch.float32))
        return out

    def _sample_logits(self, prep: Prepared, output, logprobs: torch.Tensor | None) -> torch.Tensor:
        segment_logprobs = None
        if logprobs is not None:
            segments = torch.tensor(segment_ids(prep.positions, len(logprobs)))
            segment_logprobs = torch.zeros(len(prep.positions)).index_add_(0, segments, logprobs)
            segment_logprobs = segment_logprobs.to(output.scores.device)
        return self.reward_model.form.logits(output.scores, output.potentials, segment_logprobs,
                                             terminal=prep.terminal)

    def _expert_nll(self, chunk, outputs, experts: Sequence[bool]) -> torch.Tensor | None:
        """This chunk's share of the anchor: its experts' mean token NLL under π_ψ, summed, divided by the
        batch's number of experts (``discriminator.expert_nll_weight``); None when off or none here."""
        count = sum(experts)
        if self.config.expert_nll_weight == 0 or count == 0:
            return None
        nll = [-out.token_logprobs.mean() for i, out in zip(chunk, outputs) if experts[i]]
        return torch.stack(nll).sum() / count if nll else None

    def _forward(self, batch: EncodedBatch, chunk: range) -> list[SampleOutput]:
        """:meth:`RewardModel.forward_prepared` of a micro-batch, π_ref's log-probs kept for the next steps."""
        cached = batch.reference.get(chunk.start)
        outputs = self.reward_model.forward_prepared([batch.prepared[i] for i in chunk], reference_logprobs=cached)
        if cached is None and outputs and outputs[0].reference_logprobs is not None:
            batch.reference[chunk.start] = [out.reference_logprobs for out in outputs]
        return outputs

    def _position_loss(self, batch: EncodedBatch, experts) -> dict[str, float]:
        cfg, prepared, logprobs, labelled = self.config, batch.prepared, batch.logprobs, batch.labelled
        anchor_total = None
        labels = torch.tensor([y for _, ys, _ in labelled for y in ys])
        weights = torch.tensor([w for _, _, ws in labelled for w in ws])
        coefficients = balanced_coefficients(labels, weights, halve=cfg.loss == "bce")
        total, cursor = 0.0, 0
        all_logits = []
        for begin in range(0, len(prepared), cfg.micro_batch_size):
            chunk = range(begin, min(begin + cfg.micro_batch_size, len(prepared)))
            outputs = self._forward(batch, chunk)
            chunk_logits = torch.cat([self._sample_logits(prepared[i], out, logprobs[i])[labelled[i][0]]
                                      for i, out in zip(chunk, outputs)])
            size = chunk_logits.shape[0]
            args = (chunk_logits, labels[cursor:cursor + size].to(chunk_logits.device),
                    weights[cursor:cursor + size].to(chunk_logits.device))
            coeff = coefficients[cursor:cursor + size].to(chunk_logits.device)
            loss = (class_balanced_bce(*args, cfg.label_smoothing, coeff) if cfg.loss == "bce"
                    else wgan_critic_loss(*args, coeff))
            anchor = self._expert_nll(chunk, outputs, experts)
            if anchor is not None:
                anchor_total = (anchor_total or 0.0) + float(anchor.detach())
                loss = loss + cfg.expert_nll_weight * anchor
            loss.backward()
            total += float(loss.detach())
            cursor += size
            all_logits.append(chunk_logits.detach().cpu())
        stats = {"loss": total, **position_accuracy(torch.cat(all_logits), labels, weights, labelled)}
        if anchor_total is not None:
            stats["expert_nll"] = anchor_total
        return stats

    def _bradley_terry(self, batch: EncodedBatch, experts) -> dict[str, float]:
        samples, prepared, logprobs = batch.samples, batch.prepared, batch.logprobs
        sequence_logits, anchors = [], []
        for begin in range(0, len(prepared), self.config.micro_batch_size):
            chunk = range(begin, min(begin + self.config.micro_batch_size, len(prepared)))
            outputs = self._forward(batch, chunk)
            anchor = self._expert_nll(chunk, outputs, experts)
            if anchor is not None:
                anchors.append(anchor)
            for i, out in zip(chunk, outputs):
                logits = self._sample_logits(prepared[i], out, logprobs[i])
                sequence_logits.append(self.reward_model.form.sequence_logit(logits))
        expert_of = {s.problem_id: i for i, s in enumerate(samples) if s.kind == "expert"}
        pairs = [(expert_of[s.problem_id], j) for j, s in enumerate(samples)
                 if s.kind != "expert" and s.problem_id in expert_of]
        expert_scores = torch.stack([sequence_logits[i] for i, _ in pairs]) if pairs else torch.zeros(0)
        negative_scores = torch.stack([sequence_logits[j] for _, j in pairs]) if pairs else torch.zeros(0)
        loss = bradley_terry(expert_scores, negative_scores, self.config.pairwise_margin)
        if anchors:
            anchor = torch.stack(anchors).sum()
            loss = loss + self.config.expert_nll_weight * anchor
        loss.backward()
        stats = {"loss": float(loss.detach()), "acc_pos": float((expert_scores > negative_scores).float().mean()),
                 "acc_neg": float((expert_scores > negative_scores).float().mean()),
                 "logit_pos_mean": float(expert_scores.detach().mean()),
                 "logit_neg_mean": float(negative_scores.detach().mean()),
                 "num_pos": float(len(expert_of)), "num_neg": float(len(pairs))}
        if anchors:
            stats["expert_nll"] = float(anchor.detach())
        return stats

    def _gradient_penalty(self, samples, prepared, logprobs, labelled) -> float:
        """λ·mean (‖∇_x̂ C(x̂)‖ − 1)² over pairs (expert i, negative i), C the critic the loss trains.

        Both members are laid out with their prompts right-aligned to one width P and their completions
        from P on, so either one's scored positions index the interpolate's completion tokens. C(x̂) is
        ½·Σ_k w_k z_k under the expert's layout + ½·Σ_k w_k z_k under the negative's: the weighted mean
        of the per-position logits z at the labelled positions, exactly as the loss forms them
        (:meth:`RewardModel.sample_output` then the form's logits: completion tokens only, the potentials
        and −log π under ``airl``).
        """
        model = self.reward_model
        expert = [i for i, s in enumerate(samples) if s.kind == "expert"]
        negative = [i for i, s in enumerate(samples) if s.kind != "expert"]
        pairs = list(zip(expert, negative))
        if not pairs:
            return 0.0
        device = next(model.backbone.parameters()).device
        embed = model.base_model().get_input_embeddings()
        encoded = [prepared[i].encoded for pair in pairs for i in pair]
        width_p = max(e.prompt_length for e in encoded)
        width = width_p + max(e.completion_length for e in encoded)
        pad = model.tokenizer.pad_token_id

        def laid_out(member: int):
            ids = torch.full((len(pairs), width), pad, dtype=torch.long)
            mask = torch.zeros((len(pairs), width), dtype=torch.long)
            for row, pair in enumerate(pairs):
                e = prepared[pair[member]].encoded
                span = slice(width_p - e.prompt_length, width_p + e.completion_length)
                ids[row, span] = torch.tensor(e.input_ids)
                mask[row, span] = 1
            return ids.to(device), mask.to(device)

        (ids_e, mask_e), (ids_n, mask_n) = laid_out(0), laid_out(1)
        alpha = torch.rand(len(pairs), 1, 1, device=device)
        mixed = (alpha * embed(ids_e) + (1 - alpha) * embed(ids_n)).detach().requires_grad_(True)
        mask = torch.maximum(mask_e, mask_n)
        positions = (mask.cumsum(1) - 1).clamp(min=0)
        # The penalty differentiates a gradient: SDPA's fused CPU kernels have no double backward.
        with sdpa_kernel(SDPBackend.MATH):
            hidden = model._decoder()(inputs_embeds=mixed, attention_mask=mask, position_ids=positions,
                                      use_cache=False).last_hidden_state
        critic = []
        for row, pair in enumerate(pairs):
            value = hidden.new_zeros(())
            for i in pair:
                prep = prepared[i]
                states = (hidden[row, width_p - 1], hidden[row, width_p : width_p + prep.encoded.completion_length])
                logits = self._sample_logits(prep, model.sample_output(prep, None, None, states), logprobs[i])
                indices, _, weights = labelled[i]
                value = value + 0.5 * (logits[indices] * torch.tensor(weights, device=logits.device)).sum()
            critic.append(value)
        penalty = gradient_penalty(torch.stack(critic), mixed, self.config.gradient_penalty)
        penalty.backward()
        return float(penalty.detach())

