"""The discriminator update as a unit: K steps, replay, losses wired in, refusals with clear errors."""

import pytest
import torch

from reasoning_irl.config.reward import DiscriminatorConfig
from reasoning_irl.rewards import Discriminator, DiscriminatorSample
from reasoning_irl.rewards.positions import segment_ids

PROMPT = [{"role": "user", "content": "Start with 3. Add 4. Multiply by 2."}]
EXPERT = "<think>\n3 + 4 = 7\n7 * 2 = 14\n</think>\n<answer>\n14\n</answer>"
WRONG = "<think>\n3 + 4 = 7\n7 * 2 = 15\n</think>\n<answer>\n15\n</answer>"


def _batch():
    expert = DiscriminatorSample(PROMPT, EXPERT, "expert", problem_id="p0")
    perturbed = DiscriminatorSample(PROMPT, WRONG, "perturbed", problem_id="p0", first_changed_char=EXPERT.index("14"))
    policy = DiscriminatorSample(PROMPT, "<think>\n3 * 4 = 12\n</think>\n<answer>\n12\n</answer>", "policy",
                                 problem_id="p0", correct=False)
    return [expert], [perturbed, policy]


def test_update_takes_k_steps_and_reports_metrics(make_reward_model):
    disc = Discriminator(make_reward_model(head="linear", head_init_std=0.02),
                         DiscriminatorConfig(form="gail", updates_per_step=2, learning_rate=1e-3))
    metrics = disc.update(*_batch())
    assert disc.steps_done == 2
    for key in ("loss", "acc_pos", "acc_neg", "logit_pos_mean", "logit_neg_mean", "grad_norm", "num_pos", "num_neg"):
        assert key in metrics
    assert metrics["num_pos"] == 2 and metrics["num_neg"] == 2  # the perturbed trace has both labels


def test_bce_training_separates_a_pair(make_reward_model):
    torch.manual_seed(0)
    disc = Discriminator(make_reward_model(head="linear", granularity="sparse", head_init_std=0.02),
                         DiscriminatorConfig(form="gail", updates_per_step=15, learning_rate=3e-3, max_grad_norm=None))
    positives, negatives = _batch()
    disc.update(positives, negatives)
    expert, wrong, policy = disc.reward_model.score([PROMPT] * 3, [EXPERT, WRONG, negatives[1].completion])
    assert expert.sequence_score > max(wrong.sequence_score, policy.sequence_score)


def test_replay_buffer_is_used(make_reward_model):
    disc = Discriminator(make_reward_model(head="linear"),
                         DiscriminatorConfig(form="gail", updates_per_step=1, replay_buffer_size=3,
                                             replay_batch_size=1))
    for _ in range(3):
        disc.update(*_batch())
    assert len(disc.replay.positives) == 3 and len(disc.replay.negatives) == 3  # capacity per class


def test_policy_weight_scales_the_policy_samples_share_of_the_negatives(make_reward_model):
    def head_grad(weight, negatives):
        torch.manual_seed(0)
        model = make_reward_model(head="linear", head_init_std=0.05)
        disc = Discriminator(model, DiscriminatorConfig(form="gail", updates_per_step=1, max_grad_norm=None,
                                                        policy_weight=weight))
        disc.update(positives, negatives)
        return torch.cat([p.grad.flatten() for p in model.head_parameters()])

    positives, (perturbed, policy) = _batch()
    # Weight 0: the policy sample adds nothing — the same gradient as a batch without it.
    assert torch.allclose(head_grad(0.0, [perturbed, policy]), head_grad(1.0, [perturbed]), atol=1e-7)
    assert not torch.allclose(head_grad(1.0, [perturbed, policy]), head_grad(1.0, [perturbed]), atol=1e-7)
    assert not torch.allclose(head_grad(0.5, [perturbed, policy]), head_grad(1.0, [perturbed, policy]), atol=1e-7)
    with pytest.raises(ValueError, match="policy_weight=-1"):
        DiscriminatorConfig(policy_weight=-1)


def _head_grads(make_reward_model, penalty):
    torch.manual_seed(0)
    model = make_reward_model(head="linear", head_init_std=0.05)
    disc = Discriminator(model, DiscriminatorConfig(form="gail", loss="wgan", gradient_penalty=penalty,
                                                    updates_per_step=1, max_grad_norm=None))
    torch.manual_seed(1)
    metrics = disc.update(*_batch())
    return [p.grad.clone() for p in model.head_parameters()], metrics


def test_wgan_gradient_penalty_is_really_applied(make_reward_model):
    without, _ = _head_grads(make_reward_model, 0.0)
    with_penalty, metrics = _head_grads(make_reward_model, 10.0)
    assert metrics["gradient_penalty"] > 0
    assert any(not torch.allclose(a, b) for a, b in zip(without, with_penalty))


def test_bradley_terry_pairs_negatives_with_the_expert_of_their_problem(make_reward_model):
    disc = Discriminator(make_reward_model(head="linear", head_init_std=0.02),
                         DiscriminatorConfig(form="gail", loss="bradley_terry", updates_per_step=1,
                                             pairwise_margin=0.5))
    metrics = disc.update(*_batch())
    assert metrics["num_neg"] == 2 and metrics["loss"] > 0
    orphan = DiscriminatorSample(PROMPT, WRONG, "policy", problem_id="other")
    with pytest.raises(ValueError, match="pair"):
        disc.update([], [orphan])


def test_gold_answers_are_used_only_with_the_flag(make_reward_model):
    positives, negatives = _batch()
    negatives[1].correct = True
    model = make_reward_model(head="linear")
    assert (Discriminator(model, DiscriminatorConfig(form="gail", updates_per_step=1))
            .update(positives, negatives)["num_pos"] == 2)
    flagged = DiscriminatorConfig(form="gail", updates_per_step=1, relabel_correct_samples=True)
    assert Discriminator(model, flagged).update(positives, negatives)["num_pos"] == 3


def test_expert_nll_weight_adds_lambda_times_the_experts_nll_gradient(make_reward_model):
    from reasoning_irl.models.encoding import encode
    from reasoning_irl.rewards.heads import token_logprobs

    def grads(weight, model):
        disc = Discriminator(model, DiscriminatorConfig(form="gail", updates_per_step=1, max_grad_norm=None,
                                                        learning_rate=0.0, expert_nll_weight=weight))
        stats = disc.update(*_batch())
        return torch.cat([p.grad.flatten() for p in model.backbone_parameters()]), stats

    model = make_reward_model(head="log_prob", granularity="step")
    plain, _ = grads(0.0, model)
    anchored, stats = grads(2.0, model)
    # the anchor's own gradient, by hand: 2 × mean over the expert's completion tokens of −log π_ψ
    model.zero_grad(set_to_none=True)
    encoded = encode(model.tokenizer, PROMPT, EXPERT)
    ids = torch.tensor([encoded.input_ids])
    start = encoded.prompt_length
    nll = -token_logprobs(model.backbone(input_ids=ids).logits[0, start - 1:-1], ids[0, start:]).mean()
    (2.0 * nll).backward()
    by_hand = torch.cat([p.grad.flatten() for p in model.backbone_parameters()])
    assert torch.allclose(anchored - plain, by_hand, atol=1e-5)
    assert stats["expert_nll"] == pytest.approx(float(nll), rel=1e-4)
    pairwise = Discriminator(model, DiscriminatorConfig(form="gail", loss="bradley_terry", updates_per_step=1,
                                                        learning_rate=0.0, expert_nll_weight=2.0))
    assert pairwise.update(*_batch())["expert_nll"] == pytest.approx(float(nll), rel=1e-4)  # every loss anchors
    with pytest.raises(ValueError, match="expert_nll_weight=1.0 needs a likelihood head"):
        Discriminator(make_reward_model(head="linear"), DiscriminatorConfig(form="gail", expert_nll_weight=1.0))
    with pytest.raises(ValueError, match="expert_nll_weight=-1"):
        DiscriminatorConfig(expert_nll_weight=-1)


def test_refusals(make_reward_model, tmp_path):
    for head in ("log_ratio", "log_prob"):
        with pytest.raises(ValueError, match=f"wgan needs reward.head=linear: a {head} score"):
            Discriminator(make_reward_model(head=head), DiscriminatorConfig(form="gail", loss="wgan"))
    with pytest.raises(ValueError, match="built with form 'gail'"):
        Discriminator(make_reward_model(head="linear"), DiscriminatorConfig(form="airl"))
    airl_model = make_reward_model(head="linear", form="airl")
    with pytest.raises(ValueError, match="tokenizer hash"):
        Discriminator(airl_model, DiscriminatorConfig(form="airl"))
    with pytest.raises(ValueError, match="share a tokenizer"):
        Discriminator(airl_model, DiscriminatorConfig(form="airl"), policy_tokenizer_hash="0" * 64)


def test_airl_uses_the_policy_logprobs_of_the_same_tokens(make_reward_model):
    model = make_reward_model(head="linear", form="airl", head_init_std=0.02)
    seen = []

    def policy_logprobs(encoded):
        seen.extend(e.completion for e in encoded)
        return [[-1.0] * 200 for _ in encoded]

    disc = Discriminator(model, DiscriminatorConfig(form="airl", updates_per_step=1),
                         policy_tokenizer_hash=model.tokenizer_hash, policy_logprobs=policy_logprobs)
    metrics = disc.update(*_batch())
    assert len(seen) == 3 and metrics["grad_norm"] > 0
    short = Discriminator(model, DiscriminatorConfig(form="airl", updates_per_step=1),
                          policy_tokenizer_hash=model.tokenizer_hash,
                          policy_logprobs=lambda encoded: [[-1.0] * 3 for _ in encoded])
    with pytest.raises(ValueError, match="tokenizations differ"):
        short.update(*_batch())
    rewards = disc.policy_rewards([PROMPT], [EXPERT])[0]
    assert len(rewards.rewards) == len(rewards.scores)


def test_an_unfinished_policy_sample_is_scored_without_eos_and_without_terminal_potential(make_reward_model):
    """The critic sees a rollout cut by max_new_tokens as the prefix it is: no EOS token, h_K kept."""
    model = make_reward_model(head="linear", form="airl", head_init_std=0.02)
    with torch.no_grad():
        model.head.potential.weight.normal_(std=0.3)
    prepared, logits = [], []
    prepare, sample_logits = model.prepare, Discriminator._sample_logits

    def spy_prepare(*args, **kwargs):
        prepared.append(prepare(*args, **kwargs))
        return prepared[-1]

    def spy_logits(self, prep, output, logprobs):
        logits.append((prep, output, logprobs, sample_logits(self, prep, output, logprobs)))
        return logits[-1][-1]

    model.prepare = spy_prepare
    disc = Discriminator(model, DiscriminatorConfig(form="airl", updates_per_step=1),
                         policy_tokenizer_hash=model.tokenizer_hash,
                         policy_logprobs=lambda encoded: [[-1.0] * 200 for _ in encoded])
    expert = DiscriminatorSample(PROMPT, EXPERT, "expert", problem_id="p0")
    cut = DiscriminatorSample(PROMPT, EXPERT[:20], "policy", problem_id="p0", finished=False)
    Discriminator._sample_logits = spy_logits
    try:
        disc.step([expert, cut])
    finally:
        Discriminator._sample_logits = sample_logits
    assert prepared[0].encoded.has_eos and prepared[0].terminal
    assert not prepared[1].encoded.has_eos and not prepared[1].terminal
    prep, output, logprobs, got = next(entry for entry in logits if not entry[0].terminal)  # the cut one
    assert len(logprobs) == prep.encoded.completion_length  # log π of the sampled tokens only
    segments = torch.zeros(len(prep.positions)).index_add_(
        0, torch.tensor(segment_ids(prep.positions, len(logprobs))), logprobs)
    assert torch.allclose(got, model.form.logits(output.scores, output.potentials, segments, terminal=False))


@pytest.mark.parametrize("form", ["gail", "airl"])
@pytest.mark.parametrize("head", ["linear", "linear_sum"])
def test_wgan_penalty_differentiates_the_critic_the_loss_uses(make_reward_model, monkeypatch, form, head):
    """At α = 1 the interpolate is the expert itself, so the penalised critic value must be the loss's
    own critic there: the weighted mean of the per-position logits (with the potentials and −log π
    under airl; completion tokens only for linear_sum), under the expert's and the negative's layouts."""
    import reasoning_irl.rewards.discriminator as module

    model = make_reward_model(head=head, form=form, head_init_std=0.3)
    if form == "airl":
        with torch.no_grad():
            model.head.potential.weight.normal_(std=0.3)
    extra = {} if form == "gail" else {"policy_tokenizer_hash": model.tokenizer_hash,
                                       "policy_logprobs": lambda encoded: [[-0.7] * 200 for _ in encoded]}
    disc = Discriminator(model, DiscriminatorConfig(form=form, loss="wgan", gradient_penalty=1.0, updates_per_step=1),
                         **extra)
    seen = []
    penalty = module.gradient_penalty
    monkeypatch.setattr(module, "gradient_penalty",
                        lambda values, x, c: seen.append(values.detach()) or penalty(values, x, c))
    monkeypatch.setattr(torch, "rand", lambda *shape, **kwargs: torch.ones(*shape))
    expert = DiscriminatorSample(PROMPT, EXPERT, "expert", problem_id="p0")
    negative = DiscriminatorSample(PROMPT, WRONG, "policy", problem_id="p0", correct=False)
    prepared = [model.prepare(s.prompt, s.completion) for s in (expert, negative)]
    assert prepared[0].positions == prepared[1].positions  # one token changed: the layouts agree
    with torch.no_grad():  # before the step changes the weights
        (out,) = model.forward_prepared(prepared[:1])
        logprobs = torch.full((prepared[0].encoded.completion_length,), -0.7) if form == "airl" else None
        logits = disc._sample_logits(prepared[0], out, logprobs)
    disc.step([expert, negative])
    assert float(seen[0][0]) == pytest.approx(float(logits.mean()), abs=1e-4)


def test_wgan_penalty_sees_the_airl_potentials(make_reward_model):
    """With a zero score head the airl critic is the shaping alone: its gradient is not zero."""
    model = make_reward_model(head="linear", form="airl")
    with torch.no_grad():
        model.head.potential.weight.normal_(std=0.3)
    disc = Discriminator(model, DiscriminatorConfig(form="airl", loss="wgan", gradient_penalty=1.0, updates_per_step=1),
                         policy_tokenizer_hash=model.tokenizer_hash,
                         policy_logprobs=lambda encoded: [[-0.7] * 200 for _ in encoded])
    metrics = disc.update(*_batch())
    assert metrics["gradient_penalty"] != pytest.approx(1.0)  # (‖∇‖ − 1)² = 1 would mean ∇ = 0


def test_a_perturbation_cut_off_by_max_length_adds_no_label(make_reward_model):
    model = make_reward_model(head="linear", head_init_std=0.02)
    prompt_length = model.prepare(PROMPT, EXPERT).encoded.prompt_length
    model.max_length = prompt_length + 6  # keeps "<think>\n3 + 4" or so: the change at "14" is cut off
    expert, (perturbed, policy) = _batch()
    disc = Discriminator(model, DiscriminatorConfig(form="gail", updates_per_step=1))
    metrics = disc.step([expert[0], perturbed, policy])
    assert metrics["num_pos"] == 1 and metrics["num_neg"] == 1  # before the fix the perturbed trace was a positive


def test_micro_batches_are_length_sorted(make_reward_model, monkeypatch):
    # Long and short sequences interleaved: each micro-batch of 2 must hold similar lengths (it is padded
    # to its widest row), and the loss must not depend on the order the samples came in.
    def sample(kind, steps):
        lines = "\n".join(f"{3 + i} + 1 = {4 + i}" for i in range(steps))
        return DiscriminatorSample(PROMPT, f"<think>\n{lines}\n</think>\n<answer>\n{3 + steps}\n</answer>", kind,
                                   problem_id="p0", correct=False)

    experts = [sample("expert", 1), sample("expert", 8)]
    negatives = [sample("policy", 8), sample("policy", 1)]
    losses, model = [], make_reward_model(head="linear", head_init_std=0.02)
    forward = model.forward_prepared
    for batch in ((experts, negatives), (experts[::-1], negatives[::-1])):
        widths = []
        monkeypatch.setattr(model, "forward_prepared",
                            lambda prepared, forward=forward, widths=widths, **kwargs: widths.append(
                                [len(p.encoded.input_ids) for p in prepared]) or forward(prepared, **kwargs))
        disc = Discriminator(model, DiscriminatorConfig(form="gail", micro_batch_size=2, learning_rate=0.0))
        losses.append(disc.step(batch[0] + batch[1])["loss"])
        assert [len(set(w)) for w in widths] == [1, 1] and widths[0][0] < widths[1][0]
    assert losses[0] == pytest.approx(losses[1], abs=1e-6)


def test_position_weights_reach_the_loss(make_reward_model):
    # Sequences of different lengths in each class: weighting per token or per sequence gives other losses.
    long = "<think>\n" + "\n".join(f"{3 + i} + 1 = {4 + i}" for i in range(8)) + "\n</think>\n<answer>\n11\n</answer>"
    expert = DiscriminatorSample(PROMPT, long, "expert", problem_id="p0")
    policy = DiscriminatorSample(PROMPT, "<think>\n3 * 4 = 12\n</think>\n<answer>\n12\n</answer>", "policy",
                                 problem_id="p0", correct=False)
    model = make_reward_model(head="linear", head_init_std=0.5, granularity="dense")
    losses = {w: Discriminator(model, DiscriminatorConfig(form="gail", learning_rate=0.0, position_weights=w))
              .step([expert, policy, DiscriminatorSample(PROMPT, EXPERT, "expert", problem_id="p1"),
                     DiscriminatorSample(PROMPT, long.replace("11", "12"), "policy", problem_id="p1",
                                         correct=False)])["loss"]
              for w in ("sequence", "token")}
    assert losses["sequence"] != pytest.approx(losses["token"], abs=1e-6)


def test_expert_weight_zero_is_an_outcome_reward_model_on_graded_samples(make_reward_model):
    """expert_weight=0: the experts leave the loss (the same gradient as a batch without them); the
    relabelled correct policy samples are then the only positives."""
    def head_grad(weight, positives, negatives):
        torch.manual_seed(0)
        model = make_reward_model(head="linear", head_init_std=0.05)
        cfg = DiscriminatorConfig(form="gail", updates_per_step=1, max_grad_norm=None, expert_weight=weight,
                                  relabel_correct_samples=True)
        metrics = Discriminator(model, cfg).update(positives, negatives)
        return torch.cat([p.grad.flatten() for p in model.head_parameters()]), metrics

    positives, (_, policy) = _batch()
    correct = DiscriminatorSample(PROMPT, EXPERT.replace("7 * 2", "2 * 7"), "policy", problem_id="p0", correct=True)
    orm, metrics = head_grad(0.0, positives, [policy, correct])
    assert metrics["num_pos"] == 1 and metrics["num_neg"] == 1
    assert torch.allclose(orm, head_grad(1.0, [], [policy, correct])[0], atol=1e-7)
    assert not torch.allclose(orm, head_grad(1.0, positives, [policy, correct])[0], atol=1e-7)
    assert not torch.allclose(head_grad(0.5, positives, [policy, correct])[0],
                              head_grad(1.0, positives, [policy, correct])[0], atol=1e-7)


def test_expert_weight_refusals():
    with pytest.raises(ValueError, match="expert_weight=-1"):
        DiscriminatorConfig(expert_weight=-1)
    with pytest.raises(ValueError, match="relabel_correct_samples=true"):
        DiscriminatorConfig(expert_weight=0)
    with pytest.raises(ValueError, match="bradley_terry"):
        DiscriminatorConfig(expert_weight=0.5, loss="bradley_terry")


@pytest.mark.parametrize("head, form", [("linear", "airl"), ("log_ratio", "gail")])
def test_an_update_encodes_its_batch_once_and_equals_k_single_steps(make_reward_model, head, form):
    """Without replay the K steps of an update share one encoding, one policy log-prob pass (π_θ does not
    change during an update) and one π_ref pass per micro-batch (π_ref is frozen), and reach exactly what
    K separate steps on the same batch reach; with replay every step draws, encodes and asks for the
    log-probs of its own batch."""
    import copy

    torch.manual_seed(0)
    model = make_reward_model(head=head, form=form, head_init_std=0.02)
    twin = copy.deepcopy(model)
    calls, reference_passes = [], []

    def policy_logprobs(encoded):  # deterministic, token-dependent values
        calls.append(len(encoded))
        return [[-0.01 * (t % 7 + 1) for t in e.completion_ids] for e in encoded]

    for rm in (model, twin):
        reference = rm._reference_logprobs
        rm._reference_logprobs = lambda *args, reference=reference: reference_passes.append(1) or reference(*args)
    airl = {"policy_tokenizer_hash": model.tokenizer_hash, "policy_logprobs": policy_logprobs} if form == "airl" else {}
    config = DiscriminatorConfig(form=form, updates_per_step=3, micro_batch_size=2)
    disc = Discriminator(model, config, **airl)
    metrics = disc.update(*_batch())
    assert calls == ([3] if form == "airl" else [])
    assert len(reference_passes) == (2 if head == "log_ratio" else 0)  # 3 samples: 2 micro-batches, once
    other = Discriminator(twin, config, **airl)
    positives, negatives = _batch()
    history = [other.step(positives + negatives) for _ in range(3)]
    assert calls == ([3, 3, 3, 3] if form == "airl" else [])
    assert metrics == {key: sum(h[key] for h in history) / 3 for key in history[0]}
    for got, expected in zip(model.parameters(), twin.parameters(), strict=True):
        assert torch.equal(got, expected)

    if form == "airl":
        calls.clear()
        replayed = Discriminator(make_reward_model(head="linear", form="airl"),
                                 DiscriminatorConfig(form="airl", updates_per_step=2, replay_buffer_size=8,
                                                     replay_batch_size=1), **airl)
        replayed.update(*_batch())
        assert calls == [2, 2]
