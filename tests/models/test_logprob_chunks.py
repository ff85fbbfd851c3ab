"""The likelihood heads (``log_prob``, ``log_ratio``) compute log π only at completion positions, chunked.

The scores, potentials, token log-probs and gradients equal the previous computation — full (B, L, V)
logits from the backbone's forward — to float tolerance, for any chunk size; and the tensors autograd
keeps for the backward pass (measured with ``saved_tensors_hooks``) are smaller than with full logits.
"""

from __future__ import annotations

import pytest
import torch

from reasoning_irl.config.model import ModelConfig
from reasoning_irl.config.reward import RewardConfig
from reasoning_irl.models.encoding import collate
from reasoning_irl.rewards import heads
from reasoning_irl.rewards.heads import beta_of, likelihood_scores, token_logprobs

PROMPT = [{"role": "user", "content": "Start with 3. Add 4. What is the result?"}]
COMPLETIONS = ["<think>\n3 + 4 = 7\n</think>\n<answer>\n7\n</answer>", "<think>3+4=8</think><answer>8</answer>",
               "<answer>7</answer>"]


def _full_logits_scores(model, prepared):
    """The previous computation: the backbone's (B, L, V) logits, then log-softmax at completion tokens."""
    batch = collate([p.encoded for p in prepared], model.tokenizer.pad_token_id, model.padding_side)
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "position_ids")}
    out = model.backbone(**inputs, output_hidden_states=True, use_cache=False)
    if model.config.head == "log_ratio":
        with torch.no_grad():
            if model.reference is not None:
                ref_logits = model.reference(**inputs, use_cache=False).logits
            else:
                with model.backbone.disable_adapter():
                    ref_logits = model.backbone(**inputs, use_cache=False).logits
    result = []
    for row, sample in enumerate(prepared):
        start = int(batch["completion_start"][row])
        index = torch.arange(start, start + sample.encoded.completion_length)
        targets = inputs["input_ids"][row, index]
        trained = token_logprobs(out.logits[row, index - 1], targets)
        reference = None if model.config.head == "log_prob" else token_logprobs(ref_logits[row, index - 1], targets)
        scores = likelihood_scores(trained, reference, beta_of(model.config), model.head("bias"))
        states = torch.cat([out.hidden_states[-1][row, start - 1 : start],
                            out.hidden_states[-1][row, index[torch.tensor(sample.positions)]]])
        result.append((scores, trained, model.head("potential", states)))
    return result


def _grads(model, loss):
    model.zero_grad(set_to_none=True)
    loss.backward()
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("lora_rank", [None, 4])
@pytest.mark.parametrize("head", ["log_prob", "log_ratio"])
@pytest.mark.parametrize("chunk", [3, 1024])
def test_chunked_logprobs_equal_full_logits(head, lora_rank, chunk, monkeypatch):
    from reasoning_irl.rewards import build_reward_model

    monkeypatch.setattr(heads, "LOGPROB_CHUNK", chunk)
    monkeypatch.setattr(heads.chunked_token_logprobs, "__defaults__", (chunk,))
    torch.manual_seed(0)
    model = build_reward_model(RewardConfig(head=head, granularity="step"),
                               ModelConfig(policy="tiny", reward="tiny", lora_rank=lora_rank), form="airl")
    with torch.no_grad():
        for p in model.head_parameters():
            p.normal_(0, 0.1)
        if lora_rank:
            for n, p in model.backbone.named_parameters():
                if "lora_B" in n:
                    p.normal_(0, 0.05)
    prepared = [model.prepare(PROMPT, c) for c in COMPLETIONS]
    new = model.forward_prepared(prepared)
    old = _full_logits_scores(model, prepared)
    for out, (scores, trained, potentials) in zip(new, old):
        torch.testing.assert_close(out.token_scores, scores, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(out.token_logprobs, trained, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(out.potentials, potentials, atol=1e-5, rtol=1e-5)
    new_grads = _grads(model, sum(o.scores.sum() + o.potentials.sum() for o in new))
    old_grads = _grads(model, sum(s.sum() + p.sum() for s, _, p in
                                  [(sc[torch.tensor(pr.positions)], t, pot)
                                   for (sc, t, pot), pr in zip(old, prepared)]))
    assert new_grads.keys() == old_grads.keys() and new_grads
    for name in new_grads:  # float32 sums in another order: the tolerance scales with the gradient's size
        scale = float(old_grads[name].abs().max())
        torch.testing.assert_close(new_grads[name], old_grads[name], atol=1e-5 * max(1.0, scale), rtol=1e-4)


def _saved_bytes(fn) -> int:
    total = 0

    def pack(t):
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return total


def test_less_is_kept_for_the_backward_pass_than_with_full_logits():
    """Measured at small scale. The LM-head step alone (N = 1,024 completion tokens, H = 64, V = 8,192):
    full logits keep O(N·V) floats, the chunks only their O(N·H) inputs. The whole tiny reward model
    (vocabulary 512 ≪ its activations) keeps less too."""
    from reasoning_irl.rewards import build_reward_model

    torch.manual_seed(0)
    lm_head = torch.nn.Linear(64, 8192, bias=False)
    hidden = torch.randn(1024, 64, requires_grad=True)
    targets = torch.randint(0, 8192, (1024,))
    chunked = _saved_bytes(lambda: heads.chunked_token_logprobs(lm_head, hidden, targets, 64).sum().backward())
    full = _saved_bytes(lambda: token_logprobs(lm_head(hidden), targets).sum().backward())
    assert full >= 1024 * 8192 * 4  # at least the float logits
    assert chunked < full / 20, (chunked, full)

    model = build_reward_model(RewardConfig(head="log_prob", granularity="step"),
                               ModelConfig(policy="tiny", reward="tiny"), form="airl")
    prepared = [model.prepare(PROMPT, c) for c in COMPLETIONS]
    assert _saved_bytes(lambda: model.forward_prepared(prepared)) < _saved_bytes(
        lambda: _full_logits_scores(model, prepared))
