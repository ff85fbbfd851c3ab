"""A tiny random causal LM and its tokenizer for the RL-core tests (built once, cached)."""

import pytest
import torch

from reasoning_irl.config.model import ModelConfig
from reasoning_irl.models import load_causal_lm, load_tokenizer


@pytest.fixture(scope="module")
def tiny():
    cfg = ModelConfig()
    torch.manual_seed(0)
    return load_causal_lm("tiny", cfg), load_tokenizer("tiny", cfg)
