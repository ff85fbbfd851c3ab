"""The policy's selection metric: the experts' NLL per completion token, as a plain forward computes it."""

from __future__ import annotations

import pytest
import torch

from reasoning_irl.config.model import ModelConfig
from reasoning_irl.config.task import TaskConfig
from reasoning_irl.models import load_causal_lm, load_tokenizer, resolve_model_path
from reasoning_irl.models.encoding import encode
from reasoning_irl.tasks import get_task
from reasoning_irl.trainers.policy_selection import expert_nll


def _direct_nll(model, tokenizer, records) -> float:
    """One record at a time, unpadded: the full logits, log-softmax, the completion tokens' NLL."""
    total, count = 0.0, 0
    with torch.no_grad():
        for r in records:
            e = encode(tokenizer, r.prompt, r.target)
            ids = torch.tensor([e.input_ids])
            logp = torch.log_softmax(model(input_ids=ids).logits[0, :-1].float(), -1)
            targets = ids[0, 1:]
            chosen = logp.gather(-1, targets[:, None])[:, 0][e.prompt_length - 1 :]
            total, count = total - float(chosen.sum()), count + len(e.completion_ids)
    return total / count


def test_expert_nll_is_the_mean_completion_token_nll():
    model_cfg = ModelConfig()
    path = resolve_model_path("tiny", model_cfg)
    model, tokenizer = load_causal_lm(path, model_cfg, trainable=False), load_tokenizer(path, model_cfg)
    records = get_task(TaskConfig(arith_num_validation=12)).load("validation")
    direct = _direct_nll(model, tokenizer, records)
    for batch_size in (1, 5, 12):  # right padding and micro-batching change nothing
        assert expert_nll(model, tokenizer, records, batch_size=batch_size) == pytest.approx(direct, rel=1e-5)
