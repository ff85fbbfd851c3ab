"""Policy micro-batches are trimmed to their own widest row, and the update is unchanged by it.

``policy_batch`` pads every row to the whole batch's longest prompt and completion; a micro-batch of
short rows must not run the model on the long rows' padding (at 3B and ~1,100 tokens that padding is
most of the activation memory).
"""

from __future__ import annotations

import copy

import pytest
import torch

from reasoning_irl.config.algo import AlgoConfig
from reasoning_irl.rl.rollout import Rollouts, policy_batch

# (prompt length, completion length) per row: micro-batches of 2 → [(3,2),(2,1)] [(6,9),(1,4)] [(2,2),(4,3)]
SHAPES = [(3, 2), (2, 1), (6, 9), (1, 4), (2, 2), (4, 3)]


def _rollouts() -> Rollouts:
    g = torch.Generator().manual_seed(0)
    prompts = [torch.randint(5, 400, (p,), generator=g).tolist() for p, _ in SHAPES]
    completions = [torch.randint(5, 400, (c,), generator=g).tolist() for _, c in SHAPES]
    return Rollouts(prompt_ids=prompts, prompt_index=list(range(len(SHAPES))), completion_ids=completions,
                    completion_text=[""] * len(SHAPES), finished=[True] * len(SHAPES), num_generations=1)


def test_trimmed_keeps_only_the_micro_batch_own_columns():
    batch = policy_batch(_rollouts(), pad_token_id=0)
    assert batch.input_ids.shape == (6, 6 + 9) and batch.prompt_width == 6
    for rows, (p, c) in zip([slice(0, 2), slice(2, 4), slice(4, 6)], [(3, 2), (6, 9), (4, 3)]):
        full = batch.select(rows)
        micro, width = full.trimmed()
        assert micro.input_ids.shape == (2, p + c) and micro.prompt_width == p and width == c
        # Same tokens, masks and completion block (its first c columns), nothing but padding removed.
        assert torch.equal(micro.completion_block(micro.input_ids), full.completion_block(full.input_ids)[:, :c])
        assert torch.equal(micro.completion_block(micro.completion_mask),
                           full.completion_block(full.completion_mask)[:, :c])
        assert int(micro.attention_mask.sum()) == int(full.attention_mask.sum())


@pytest.mark.parametrize("iterations", [1, 2])
def test_policy_update_runs_the_model_on_trimmed_micro_batches_with_the_same_result(tiny, monkeypatch, iterations):
    from reasoning_irl.rl import logprobs as logprobs_module
    from reasoning_irl.rl import policy_update as update_module

    model, _ = tiny
    batch = policy_batch(_rollouts(), pad_token_id=0)
    advantages = torch.randn(6, batch.input_ids.shape[1] - batch.prompt_width,
                             generator=torch.Generator().manual_seed(1))
    algo = AlgoConfig(kl_beta=0.05, loss_aggregation="grpo")
    widths: list[int] = []
    real = logprobs_module.completion_logprobs

    def spy(policy, input_ids, *args):
        widths.append(input_ids.shape[1])
        return real(policy, input_ids, *args)

    results = {}
    for micro_batch_size in (2, 6):  # 6: one micro-batch, the whole (untrimmed) batch
        policy = copy.deepcopy(model)
        reference = copy.deepcopy(model).requires_grad_(False)
        optimizer = torch.optim.SGD(policy.parameters(), lr=0.1)
        widths.clear()
        monkeypatch.setattr(update_module, "completion_logprobs", spy)
        stats = update_module.policy_update(policy, reference, optimizer, batch, advantages, algo,
                                         micro_batch_size=micro_batch_size, max_completion_length=16,
                                         iterations=iterations, max_grad_norm=1e9, bf16=False)
        results[micro_batch_size] = (stats, torch.cat([p.detach().flatten() for p in policy.parameters()]),
                                     list(widths))
    assert set(results[2][2]) == {3 + 2, 6 + 9, 4 + 3}  # each micro-batch at its own width
    assert set(results[6][2]) == {6 + 9}
    torch.testing.assert_close(results[2][1], results[6][1], atol=1e-6, rtol=1e-5)
    for key in ("loss", "kl", "clip_fraction"):
        assert results[2][0][key] == pytest.approx(results[6][0][key], rel=1e-5, abs=1e-7)
