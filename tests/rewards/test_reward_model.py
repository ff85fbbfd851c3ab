"""The reward model on the tiny backbone: positions, scores vs rewards, batching, save/load, bad input."""

import json

import pytest
import torch

from reasoning_irl.config.reward import DiscriminatorConfig
from reasoning_irl.models.encoding import encode
from reasoning_irl.rewards import Discriminator, DiscriminatorSample, load_reward_model
from reasoning_irl.rewards.heads import beta_of, token_logprobs

COMPLETION = "<think>\n3 + 4 = 7\n7 * 2 = 14\n</think>\n<answer>\n14\n</answer>"
PROMPT = [{"role": "user", "content": "Start with 3. Add 4. Multiply by 2. What is the result?"}]


def _indices(scored) -> list[int]:
    """The completion token of each scored position p_k."""
    return [p.token_index for p in scored.positions]


def _perturb_weights(model, scale=0.05, seed=0):
    """Move every trainable weight (π_ψ, LoRA, head) so the model differs from its initialisation."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.backbone.parameters():
            if p.requires_grad:
                p.add_(scale * torch.randn(p.shape, generator=generator))


@pytest.fixture(scope="module")
def log_ratio_model(make_reward_model):
    model = make_reward_model(head="log_ratio", granularity="step", beta=0.5)
    _perturb_weights(model)
    return model


def test_log_ratio_scores_are_beta_times_cumulative_log_ratio_over_completion_tokens(log_ratio_model):
    model = log_ratio_model
    scored = model.score([PROMPT], [COMPLETION])[0]
    encoded = encode(model.tokenizer, PROMPT, COMPLETION)
    ids = torch.tensor([encoded.input_ids])
    with torch.no_grad():
        trained = model.backbone(input_ids=ids).logits[0]
        reference = model.reference(input_ids=ids).logits[0]
    p = encoded.prompt_length
    targets = ids[0, p:]
    ratio = token_logprobs(trained[p - 1:-1], targets) - token_logprobs(reference[p - 1:-1], targets)
    b = float(model.head("bias"))
    q = 0.5 * torch.cumsum(ratio, 0) + b  # prompt tokens never enter
    assert _indices(scored)[-1] == encoded.completion_length - 1
    assert torch.allclose(torch.tensor(scored.scores), q[_indices(scored)], atol=1e-5)
    # rewards are increments: exactly β × the segment's log-ratio sum; they add up to the last score
    # (b belongs to the first segment)
    starts = [0] + [t + 1 for t in _indices(scored)[:-1]]
    for k, (reward, start, end) in enumerate(zip(scored.rewards, starts, _indices(scored))):
        assert reward == pytest.approx(0.5 * float(ratio[start:end + 1].sum()) + (b if k == 0 else 0.0), abs=1e-5)
    assert sum(scored.rewards) == pytest.approx(scored.sequence_score, abs=1e-5)
    assert scored.aggregation == "last"
    # steps: the think lines and the answer block, each closed by its own scored position
    assert [s.text for s in scored.steps] == ["3 + 4 = 7", "7 * 2 = 14", "<answer>\n14\n</answer>"]
    assert [s.score for s in scored.steps] == scored.scores[:3]
    assert scored.positions[-1].token == model.tokenizer.eos_token


def test_log_prob_scores_are_beta_times_cumulative_log_prob_of_the_trained_model(make_reward_model):
    model = make_reward_model(head="log_prob", granularity="step", beta=1.0, form="airl")
    assert model.reference is None  # no π_ref: the score is π_ψ's own log-likelihood
    _perturb_weights(model)
    scored = model.score([PROMPT], [COMPLETION])[0]
    encoded = encode(model.tokenizer, PROMPT, COMPLETION)
    ids = torch.tensor([encoded.input_ids])
    with torch.no_grad():
        logits = model.backbone(input_ids=ids).logits[0]
    p = encoded.prompt_length
    logp = token_logprobs(logits[p - 1:-1], ids[0, p:])
    q = torch.cumsum(logp, 0) + float(model.head("bias"))
    assert torch.allclose(torch.tensor(scored.scores), q[_indices(scored)], atol=1e-5)
    assert all(b <= a + 1e-6 for a, b in zip(scored.scores, scored.scores[1:]))  # a log-likelihood only falls


def test_padding_side_and_batching_do_not_change_scores(log_ratio_model):
    model = log_ratio_model
    completions = [COMPLETION, "<think>\n1 + 1 = 2\n</think>\n<answer>\n2\n</answer>", COMPLETION * 2]
    alone = [model.score([PROMPT], [c])[0].scores for c in completions]
    for side in ("left", "right"):
        model.padding_side = side
        batched = model.score([PROMPT] * 3, completions, micro_batch_size=3)
        for one, many in zip(alone, batched):
            assert torch.allclose(torch.tensor(one), torch.tensor(many.scores), atol=1e-5)
    model.padding_side = "left"


@pytest.mark.parametrize("granularity,expected", [("sparse", 1), ("step", 4), ("dense", None), ("interval", None)])
def test_each_granularity_scores_its_positions(make_reward_model, granularity, expected):
    model = make_reward_model(head="linear", granularity=granularity, interval_tokens=5)
    scored = model.score([PROMPT], [COMPLETION])[0]
    length = scored.num_completion_tokens
    indices = _indices(scored)
    if granularity == "dense":
        assert indices == list(range(length))
    elif granularity == "interval":
        assert indices == sorted(set(range(4, length, 5)) | {length - 1})
    else:
        assert len(indices) == expected and indices[-1] == length - 1
    assert scored.granularity == granularity


@pytest.mark.parametrize("head,lora_rank,form", [("linear", 4, "airl"), ("log_ratio", None, "gail"),
                                                 ("log_ratio", 4, "gail"), ("log_prob", None, "airl")])
def test_save_then_load_gives_identical_scores(make_reward_model, tmp_path, head, lora_rank, form):
    model = make_reward_model(head=head, lora_rank=lora_rank, head_init_std=0.02, form=form)
    cfg = DiscriminatorConfig(updates_per_step=2, learning_rate=1e-2, form=form)
    disc = Discriminator(model, cfg, policy_tokenizer_hash=model.tokenizer_hash,
                         policy_logprobs=lambda encoded: [[-0.5] * 100 for _ in encoded])
    expert = DiscriminatorSample(PROMPT, COMPLETION, "expert")
    negative = DiscriminatorSample(PROMPT, COMPLETION.replace("14\n</answer>", "15\n</answer>"), "policy")
    before = model.score([PROMPT], [negative.completion])[0].scores
    disc.update([expert], [negative])
    after = model.score([PROMPT, PROMPT], [COMPLETION, negative.completion])
    assert after[1].scores != before  # training moved the scores (the head included)
    model.save_pretrained(tmp_path / "rm")
    loaded = load_reward_model(tmp_path / "rm")
    again = loaded.score([PROMPT, PROMPT], [COMPLETION, negative.completion])
    for a, b in zip(after, again):
        assert a.scores == b.scores and a.rewards == b.rewards
    saved = (tmp_path / "rm" / "reward_config.json").read_text()
    for key in ('"head"', '"granularity"', '"beta"', '"tokenizer_hash"', '"form"'):
        assert key in saved
    # the β used, not null (a later change of the head's default must not change a saved model)
    assert json.loads(saved)["reward"]["beta"] == beta_of(model.config) == {"log_prob": 1.0}.get(head, 0.5)
    assert (tmp_path / "rm" / ("adapter_model.safetensors" if lora_rank else "model.safetensors")).is_file()


def test_awkward_inputs_have_documented_handling(log_ratio_model):
    model = log_ratio_model
    empty, untagged = model.score([PROMPT, PROMPT], ["", "3 + 4 = 7\n7 * 2 = 14"])
    assert _indices(empty) == [0] and empty.steps == [] and empty.num_completion_tokens == 1  # the EOS
    assert [s.text for s in untagged.steps] == ["3 + 4 = 7", "7 * 2 = 14"]
    assert len(untagged.positions) == 3 and all(s.score is not None for s in untagged.steps)
    full = model.score([PROMPT], [COMPLETION])[0]
    prompt_length = len(encode(model.tokenizer, PROMPT, COMPLETION).input_ids) - full.num_completion_tokens
    model.max_length = prompt_length + 8
    try:
        cut = model.score([PROMPT], [COMPLETION])[0]
    finally:
        model.max_length = None
    assert cut.truncated and not full.truncated
    assert cut.num_completion_tokens == 8 and _indices(cut)[-1] == 7
    assert cut.steps[-1].score is None  # the answer block was cut off


def test_no_token_and_wrong_granularity_are_errors(make_reward_model, tmp_path):
    model = make_reward_model(head="linear", granularity="step", append_eos=False)
    with pytest.raises(ValueError, match="no token to score"):
        model.score([PROMPT], [""])
    with pytest.raises(ValueError, match="trained with reward.granularity='step'"):
        model.score([PROMPT], [COMPLETION], granularity="dense")
    model.save_pretrained(tmp_path / "rm")
    with pytest.raises(ValueError, match="cannot score 'sparse'"):
        load_reward_model(tmp_path / "rm", granularity="sparse")


def test_linear_sum_scores_are_prefix_sums_of_the_linear_head(make_reward_model):
    torch.manual_seed(3)
    linear = make_reward_model(head="linear", granularity="dense", head_init_std=0.05)
    torch.manual_seed(3)
    summed = make_reward_model(head="linear_sum", granularity="dense", head_init_std=0.05)
    per_token = torch.tensor(linear.score([PROMPT], [COMPLETION])[0].scores)
    scored = summed.score([PROMPT], [COMPLETION])[0]
    assert torch.allclose(torch.tensor(scored.scores), torch.cumsum(per_token, 0), atol=1e-4)
    assert torch.allclose(torch.tensor(scored.rewards), per_token, atol=1e-4)  # rewards: the per-token terms


def test_an_unfinished_completion_gets_no_eos_and_keeps_its_last_potential(make_reward_model):
    """A rollout cut by max_new_tokens: no EOS is appended (log π(EOS | cut prefix) was never sampled)
    and the airl shaping keeps h_K (the cut is not a terminal state)."""
    rm = make_reward_model(head="linear", form="airl", granularity="step", head_init_std=0.3)
    with torch.no_grad():
        rm.head.potential.weight.normal_(std=0.3)
    done, cut = rm.score([PROMPT, PROMPT], [COMPLETION, COMPLETION], finished=[True, False])
    assert cut.num_completion_tokens == done.num_completion_tokens - 1  # no EOS
    assert cut.truncated and not done.truncated
    prepared = rm.prepare(PROMPT, COMPLETION, finished=False)
    assert not prepared.encoded.has_eos and not prepared.terminal
    (out,) = rm.forward_prepared([prepared])
    h = out.potentials
    assert sum(cut.rewards) == pytest.approx(float(out.scores[-1] + h[-1] - h[0]), abs=1e-5)  # γ = 1
    (out_done,) = rm.forward_prepared([rm.prepare(PROMPT, COMPLETION)])
    assert sum(done.rewards) == pytest.approx(float(out_done.scores[-1] - out_done.potentials[0]), abs=1e-5)
    (empty,) = rm.score([PROMPT], [""], finished=[False])  # nothing sampled but specials: scored at the EOS
    assert empty.num_completion_tokens == 1 and empty.truncated


def test_lora_saves_link_one_base(make_reward_model, tmp_path):
    """With a base store, a LoRA reward model's frozen base is written once and every saved folder's base/
    hard-links it: each folder loads on its own with the same scores, and a damaged store is rewritten."""
    model = make_reward_model(head="linear", lora_rank=4, head_init_std=0.02)
    model.base_store = tmp_path / ".reward_base"
    for name in ("a", "b"):
        model.save_pretrained(tmp_path / name)
    weights = "model.safetensors"
    inodes = {(tmp_path / d / weights).stat().st_ino for d in (".reward_base", "a/base", "b/base")}
    assert len(inodes) == 1 and (tmp_path / "a" / "base" / weights).stat().st_nlink == 3
    expected = model.score([PROMPT], [COMPLETION])[0].scores
    (tmp_path / ".reward_base" / weights).unlink()  # a damaged store: the next save writes it again
    model.save_pretrained(tmp_path / "c")
    assert (tmp_path / ".reward_base" / weights).stat().st_ino == (tmp_path / "c" / "base" / weights).stat().st_ino
    for name in ("a", "b", "c"):
        assert load_reward_model(tmp_path / name).score([PROMPT], [COMPLETION])[0].scores == expected
