"""Completion log-probs equal a full forward pass's log-softmax at the completion positions."""

import copy

import torch

from reasoning_irl.config.model import ModelConfig
from reasoning_irl.models import apply_lora, collate, encode
from reasoning_irl.rl.logprobs import completion_logprobs, encoded_token_logprobs
from reasoning_irl.rl.policy_loss import make_reference, reference_logprobs


def _full_logprobs(model, batch):
    logits = model(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], position_ids=batch["position_ids"]
    ).logits  # (B, L, V)
    token = logits[:, :-1].log_softmax(-1).gather(-1, batch["input_ids"][:, 1:, None]).squeeze(-1)
    out = torch.zeros(batch["input_ids"].shape)
    out[:, 1:] = token * batch["completion_mask"][:, 1:]
    return out


def test_matches_full_forward_with_left_padding(tiny):
    model, tokenizer = tiny
    samples = [
        encode(tokenizer, [{"role": "user", "content": "3 + 4"}], "<think>\n3 + 4 = 7\n</think>"),
        encode(tokenizer, [{"role": "user", "content": "12 * 3 - 1, then halve it"}], "<answer>\n7\n</answer>"),
    ]
    batch = collate(samples, tokenizer.pad_token_id, padding_side="left")
    got = completion_logprobs(model, batch["input_ids"], batch["attention_mask"], batch["completion_mask"])
    with torch.no_grad():
        expected = _full_logprobs(model, batch)
    assert torch.allclose(got, expected, atol=1e-5)
    assert (got[~batch["completion_mask"]] == 0).all()
    assert (got[batch["completion_mask"]] < 0).all()
    # A segment's log-prob is the sum over its own positions: the whole completion of row 0.
    assert torch.isclose(got[0].sum(), expected[0].sum(), atol=1e-4)


def test_padding_does_not_change_a_rows_logprobs(tiny):
    model, tokenizer = tiny
    short = encode(tokenizer, [{"role": "user", "content": "1 + 1"}], "<answer>\n2\n</answer>")
    long = encode(tokenizer, [{"role": "user", "content": "a much longer prompt 1 + 2 + 3 + 4"}], "x")
    alone = collate([short], tokenizer.pad_token_id)
    padded = collate([short, long], tokenizer.pad_token_id, padding_side="left")
    with torch.no_grad():
        a = completion_logprobs(model, alone["input_ids"], alone["attention_mask"], alone["completion_mask"])
        b = completion_logprobs(model, padded["input_ids"], padded["attention_mask"], padded["completion_mask"])
    assert torch.allclose(a[0][alone["completion_mask"][0]], b[0][padded["completion_mask"][0]], atol=1e-5)


def test_gradients_flow_to_the_parameters(tiny):
    model, tokenizer = tiny
    batch = collate([encode(tokenizer, [{"role": "user", "content": "2 + 2"}], "4")], tokenizer.pad_token_id)
    model.zero_grad()
    completion_logprobs(model, batch["input_ids"], batch["attention_mask"], batch["completion_mask"]).sum().backward()
    assert model.get_output_embeddings().weight.grad.abs().sum() > 0
    model.zero_grad()


def test_reference_is_the_lora_disabled_base_or_a_frozen_copy(tiny):
    model, tokenizer = tiny
    batch = collate([encode(tokenizer, [{"role": "user", "content": "2 + 5"}], "7")], tokenizer.pad_token_id)
    args = (batch["input_ids"], batch["attention_mask"], batch["completion_mask"])
    with torch.no_grad():
        base = completion_logprobs(model, *args)
    policy = apply_lora(copy.deepcopy(model), ModelConfig(lora_rank=4))
    assert make_reference(policy, kl_beta=0.1) is None  # peft: no copy kept
    with torch.no_grad():
        for name, param in policy.named_parameters():
            if "lora_B" in name:
                param.fill_(0.05)  # move the adapter away from the identity
        assert not torch.allclose(completion_logprobs(policy, *args), base)
    assert torch.allclose(reference_logprobs(policy, None, *args), base, atol=1e-6)
    assert make_reference(model, kl_beta=0.0) is None  # β = 0: no reference at all
    frozen = make_reference(model, kl_beta=0.1)
    assert not any(p.requires_grad for p in frozen.parameters())
    assert torch.allclose(reference_logprobs(model, frozen, *args), base, atol=1e-6)


def test_encoded_token_logprobs_of_shared_encodings_equal_the_policys_own_encoding(tiny):
    """The airl critic hands the policy the reward model's encodings (no second tokenisation): per token,
    the log-probs equal those of the policy's own encoding of each (prompt, completion) with the EOS
    appended, as before — for an unfinished rollout (no EOS) the prefix of those — in any micro-batching."""
    model, tokenizer = tiny
    rows = [([{"role": "user", "content": "3 + 4"}], "<think>\n3 + 4 = 7\n</think>", True),
            ([{"role": "user", "content": "12 * 3 - 1, then halve it"}], "<answer>\n7\n</answer>", False),
            ([{"role": "user", "content": "1 + 1"}], "<think>\n1 + 1 = 2\n</think>\n<answer>\n2", False),
            ([{"role": "user", "content": "2 * 5"}], "10", True)]
    shared = [encode(tokenizer, p, c, append_eos=finished) for p, c, finished in rows]  # RewardModel.prepare's
    for size in (1, 3, 4):
        got = encoded_token_logprobs(model, shared, tokenizer.pad_token_id, micro_batch_size=size)
        assert [len(g) for g in got] == [s.completion_length for s in shared]
        for (prompt, completion, _), values in zip(rows, got):
            own = collate([encode(tokenizer, prompt, completion, append_eos=True)], tokenizer.pad_token_id)
            with torch.no_grad():
                expected = completion_logprobs(model, own["input_ids"], own["attention_mask"],
                                               own["completion_mask"])[own["completion_mask"]]
            assert torch.allclose(torch.tensor(values), expected[: len(values)], atol=1e-5)
