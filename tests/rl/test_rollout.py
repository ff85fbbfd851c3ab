"""Rollouts: prompt-major layout, EOS handling, determinism for a seed, and the policy batch layout."""

import pytest
import torch

from reasoning_irl.config.sampling import SamplingConfig
from reasoning_irl.models import encode_prompt
from reasoning_irl.rl.logprobs import completion_logprobs
from reasoning_irl.rl.rollout import generate_rollouts, policy_batch


def _prompts(tokenizer):
    return [encode_prompt(tokenizer, [{"role": "user", "content": q}]) for q in ("3 + 4", "a longer one: 12 * 3 - 1")]


def test_rollouts_are_prompt_major_and_deterministic_for_a_seed(tiny):
    model, tokenizer = tiny
    sampling = SamplingConfig(num_generations=3, max_new_tokens=12)
    state = torch.random.get_rng_state()
    first = generate_rollouts(model, tokenizer, _prompts(tokenizer), sampling, seed=7)
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's RNG is untouched
    again = generate_rollouts(model, tokenizer, _prompts(tokenizer), sampling, seed=7)
    other = generate_rollouts(model, tokenizer, _prompts(tokenizer), sampling, seed=8)
    assert first.prompt_index == [0, 0, 0, 1, 1, 1]
    assert first.completion_ids == again.completion_ids
    assert first.completion_ids != other.completion_ids
    assert len(first.completion_text) == 6 and first.num_generations == 3
    for ids, done in zip(first.completion_ids, first.finished):
        assert 1 <= len(ids) <= 12
        assert done == (ids[-1] == tokenizer.eos_token_id)
        assert tokenizer.eos_token_id not in ids[:-1]  # cut at the first EOS, padding dropped
    assert model.training  # the train/eval mode is restored


def test_min_new_tokens_forces_equal_lengths(tiny):
    model, tokenizer = tiny
    sampling = SamplingConfig(num_generations=2, max_new_tokens=6, min_new_tokens=6)
    rollouts = generate_rollouts(model, tokenizer, _prompts(tokenizer), sampling, seed=0)
    assert [len(ids) for ids in rollouts.completion_ids] == [6] * 4


def test_greedy_gives_one_completion_per_prompt(tiny):
    model, tokenizer = tiny
    rollouts = generate_rollouts(model, tokenizer, _prompts(tokenizer), SamplingConfig(max_new_tokens=5),
                                 seed=0, greedy=True)
    again = generate_rollouts(model, tokenizer, _prompts(tokenizer), SamplingConfig(max_new_tokens=5),
                              seed=1, greedy=True)
    assert rollouts.prompt_index == [0, 1] and rollouts.completion_ids == again.completion_ids


def test_policy_batch_places_completions_after_a_common_prompt_width(tiny):
    model, tokenizer = tiny
    sampling = SamplingConfig(num_generations=2, max_new_tokens=8)
    rollouts = generate_rollouts(model, tokenizer, _prompts(tokenizer), sampling, seed=3)
    batch = policy_batch(rollouts, tokenizer.pad_token_id)
    width = max(len(p) for p in rollouts.prompt_ids)
    assert batch.prompt_width == width
    for row, ids in enumerate(rollouts.completion_ids):
        assert batch.completion_block(batch.input_ids)[row, : len(ids)].tolist() == ids
        assert batch.completion_block(batch.completion_mask)[row].sum().item() == len(ids)
    # The sampled tokens are likely under the model that sampled them (T = 1: log-probs are finite).
    with torch.no_grad():
        logprobs = completion_logprobs(model, batch.input_ids, batch.attention_mask, batch.completion_mask)
    assert torch.isfinite(logprobs).all()


def test_vllm_backend_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="sampling.backend=vllm is not supported.*use sampling.backend=hf"):
        SamplingConfig(backend="vllm")
