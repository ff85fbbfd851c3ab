"""The replay buffer: capacity in sequences per class, and every prompt of a step reaches the critic.

The reference buffer (docs/METHOD.md §5) holds buffer_size × batch × grad_accum = 50 × 16 × 8 = 6,400
sequences per class and draws 8 + 8 per update. A capacity of 50 *sequences* with 128 rollouts pushed
prompt-major (and the perturbed copies after them) would keep only the negatives of the last few
prompts of a step.
"""

import pytest

from reasoning_irl.rewards import DiscriminatorSample
from reasoning_irl.rewards.replay import ReplayBuffer

PROMPTS, GENERATIONS = 16, 8


def _step():
    """One paper-sized step: 16 experts; 16 × 8 rollouts prompt-major, then 16 perturbed copies."""
    prompt = [{"role": "user", "content": "q"}]
    positives = [DiscriminatorSample(prompt, f"expert {p}", "expert", problem_id=f"p{p}") for p in range(PROMPTS)]
    negatives = [DiscriminatorSample(prompt, f"rollout {p}.{g}", "policy", problem_id=f"p{p}")
                 for p in range(PROMPTS) for g in range(GENERATIONS)]
    negatives += [DiscriminatorSample(prompt, f"perturbed {p}", "perturbed", problem_id=f"p{p}", first_changed_char=0)
                  for p in range(PROMPTS)]
    return positives, negatives


def test_every_prompt_of_a_step_can_reach_the_critic():
    buffer = ReplayBuffer(50 * 16 * 8, seed=0)  # the reference's capacity, in sequences per class
    positives, negatives = _step()
    buffer.push(positives, negatives)
    assert {s.problem_id for s in buffer.negatives} == {f"p{p}" for p in range(PROMPTS)}
    assert {s.kind for s in buffer.negatives} == {"policy", "perturbed"}
    drawn = set()
    for _ in range(200):  # 8 + 8 per update, uniform over everything in the buffer
        pos, neg = buffer.sample(8)
        assert len(pos) == 8 and len(neg) == 8
        drawn |= {s.problem_id for s in neg}
    assert drawn == {f"p{p}" for p in range(PROMPTS)}


def test_a_capacity_smaller_than_one_step_is_refused():
    positives, negatives = _step()  # 144 negatives: a capacity of 50 would keep the last ~5 prompts only
    with pytest.raises(ValueError, match=r"replay_buffer_size=50 .*144 negatives"):
        ReplayBuffer(50, seed=0).push(positives, negatives)


def test_fifo_drops_the_oldest_step_first():
    buffer = ReplayBuffer(160, seed=0)
    first, second = _step(), _step()
    buffer.push(*first)
    buffer.push(*second)
    assert list(buffer.negatives)[-144:] == second[1] and len(buffer.negatives) == 160
