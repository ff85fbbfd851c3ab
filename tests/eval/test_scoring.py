"""Prefix-shared scoring equals the plain forward pass; NaN scores are refused; generate mode end to end."""

import json

import numpy as np
import pytest
import torch

from reasoning_irl.config.model import ModelConfig
from reasoning_irl.config.reward import RewardConfig
from reasoning_irl.eval.modes import build_config, run_evaluation
from reasoning_irl.eval.scoring import PolicyScorer, RewardScorer, aggregates
from reasoning_irl.models import collate, encode, load_causal_lm, load_tokenizer, resolve_model_path
from reasoning_irl.rewards.saving import build_reward_model
from reasoning_irl.rl.logprobs import completion_logprobs
from reasoning_irl.text.prompts import build_messages

PROMPTS = [build_messages("2 + 3 then * 4", None), build_messages("7 - 2 then + 9 then * 2", None)]
COMPLETIONS = [
    "<think>\n2 + 3 = 5\n5 * 4 = 20\n</think>\n<answer>\n20\n</answer>",
    "<think>\n2 + 3 = 6\n</think>\n<answer>\n24\n</answer>",
    "",
    "no tags at all\nsecond line",
    "<think>\n7 - 2 = 5\n5 + 9 = 14\n14 * 2 = 28\n</think>\n<answer>\n28\n</answer>",
]


def _indices(scored) -> list[int]:
    """The completion token of each scored position p_k."""
    return [p.token_index for p in scored.positions]


def _perturb(module, seed):
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.05 * torch.randn_like(p))


@pytest.fixture(scope="module")
def data():
    prompts = [PROMPTS[0]] * 4 + [PROMPTS[1]] * 3
    completions = COMPLETIONS[:4] + [COMPLETIONS[4], COMPLETIONS[0], COMPLETIONS[3]]
    return prompts, completions


@pytest.mark.parametrize("head", ["log_ratio", "log_prob", "linear"])
def test_reward_scores_equal_the_plain_forward(data, head):
    rm = build_reward_model(
        RewardConfig(head=head, granularity="step"), ModelConfig(reward="tiny"), backbone="tiny"
    )
    _perturb(rm.backbone, 1)
    if head == "linear":
        torch.nn.init.normal_(rm.head.score.weight, std=0.3)
    prompts, completions = data
    expected = rm.score(prompts, completions)
    got = RewardScorer(rm, batch_size=3).score(prompts, completions)
    for a, b in zip(expected, got):
        assert _indices(a) == _indices(b) and [s.start for s in a.steps] == [s.start for s in b.steps]
        # log_prob scores of an untrained model reach −75: float32 sums agree to ~1e-7 relative
        np.testing.assert_allclose(a.scores, b.scores, rtol=1e-6, atol=1e-5)
        np.testing.assert_allclose(a.rewards, b.rewards, rtol=1e-5, atol=1e-5)
        assert a.sequence_score == pytest.approx(b.sequence_score, rel=1e-6, abs=1e-5)
    agg = aggregates(got[0], 0.5)
    q = got[0].scores
    assert agg["last"] == q[-1] and agg["mean"] == pytest.approx(np.mean(q))
    weights = 0.5 ** np.arange(len(q))[::-1]
    assert agg["discounted"] == pytest.approx(np.dot(weights, q) / weights.sum())


def test_policy_logprobs_equal_the_plain_forward(data):
    cfg = ModelConfig()
    path = resolve_model_path("tiny", cfg)
    tokenizer, model = load_tokenizer(path, cfg), load_causal_lm(path, cfg, trainable=False)
    _perturb(model, 2)
    prompts, completions = data
    got = PolicyScorer(model, tokenizer, batch_size=4).score(prompts, completions)
    encoded = [encode(tokenizer, p, c) for p, c in zip(prompts, completions)]
    batch = collate(encoded, tokenizer.pad_token_id, "right")
    with torch.no_grad():
        full = completion_logprobs(
            model, batch["input_ids"], batch["attention_mask"], batch["completion_mask"]
        )
    for row, (e, g) in enumerate(zip(encoded, got)):
        start = int(batch["completion_start"][row])
        np.testing.assert_allclose(
            g.logprobs, full[row, start : start + e.completion_length].numpy(), atol=1e-5
        )
        assert len(g.entropies) == e.completion_length and min(g.entropies) >= 0


def test_nan_reward_scores_are_an_error(data, monkeypatch):
    rm = build_reward_model(RewardConfig(head="linear"), ModelConfig(reward="tiny"), backbone="tiny")
    with torch.no_grad():
        rm.head.score.bias.fill_(float("nan"))
    with pytest.raises(FloatingPointError, match="non-finite"):
        RewardScorer(rm).score(*data)


def test_generate_mode_end_to_end(tmp_path, monkeypatch):
    seen = {}
    policy_score, reward_score = PolicyScorer.score, RewardScorer.score

    def policy_spy(self, prompts, completions, append_eos=True):
        seen["policy"] = list(append_eos)
        return policy_score(self, prompts, completions, append_eos)

    def reward_spy(self, *args, finished=None, **kwargs):
        seen["reward"] = list(finished)
        return reward_score(self, *args, finished=finished, **kwargs)

    monkeypatch.setattr(PolicyScorer, "score", policy_spy)
    monkeypatch.setattr(RewardScorer, "score", reward_spy)
    cfg = build_config(
        {
            "task.name": "arith",
            "task.system_prompt": "",
            "eval.max_problems": 2,
            "sampling.n_samples": 3,
            "sampling.max_new_tokens": 24,
            "model.reward": "tiny",
            "reward.head": "linear",
            "eval.compute_policy_log_probs": True,
            "eval.ks": [1, 2],
            "eval.output_dir": str(tmp_path / "out"),
            "eval.bootstrap_resamples": 20,
        }
    )
    metrics = run_evaluation(cfg)
    assert metrics["n_problems"] == 2 and metrics["n_samples"] == 6
    # both scorers read each sample's meta.finished: an unfinished rollout gets no EOS in either
    assert seen["reward"] == seen["policy"] and len(seen["reward"]) == 3
    rows = [json.loads(line) for line in (tmp_path / "out" / "samples.jsonl").read_text().splitlines()]
    assert [(r["problem_id"], r["sample_idx"]) for r in rows][:3] == [
        (rows[0]["problem_id"], i) for i in range(3)
    ]
    for r in rows:
        assert "first_error_step" in r and len(r["policy_logprobs"]) == len(r["policy_entropies"])
        assert r["reward"]["granularity"] == "step" and set(r["reward"]["aggregates"]) >= {"last", "mean"}
    selectors = metrics["best_of_n"]["selectors"]
    assert selectors["policy_mean_logprob"]["available"] and selectors["reward_min_step"]["available"]
    assert metrics["localisation"]["methods"]["policy_entropy_rise"]["available"]


def _randomise_head(rm, seed):
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in rm.head.parameters():
            p.copy_(0.3 * torch.randn_like(p))


@pytest.mark.parametrize("granularity", ["sparse", "step", "interval", "dense"])
@pytest.mark.parametrize("form", ["gail", "airl"])
@pytest.mark.parametrize("head", ["linear", "linear_sum", "log_ratio", "log_prob"])
def test_scorer_equals_the_training_path_for_every_head_form_and_granularity(data, head, form, granularity):
    """RewardScorer (evaluation) and RewardModel.score (training) give the same scores and rewards."""
    rm = build_reward_model(
        RewardConfig(head=head, granularity=granularity, interval_tokens=4),
        ModelConfig(reward="tiny"), backbone="tiny", form=form,
    )
    _perturb(rm.backbone, 3)
    _randomise_head(rm, 4)
    prompts, completions = data
    finished = [True, False, True, False, False, True, True]  # unfinished rollouts: no EOS, no terminal h_K
    expected = rm.score(prompts, completions, finished=finished)
    got = RewardScorer(rm, batch_size=3).score(prompts, completions, finished=finished)
    for a, b, done in zip(expected, got, finished):
        assert _indices(a) == _indices(b) and a.truncated == b.truncated == (not done)
        np.testing.assert_allclose(a.scores, b.scores, rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(a.rewards, b.rewards, rtol=1e-5, atol=1e-4)
