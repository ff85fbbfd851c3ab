"""Shared fixtures: one tiny build per architecture per test session, in a temporary cache folder."""

from __future__ import annotations

import os

# The hub is unreachable here; offline mode makes a missing id fail in seconds instead of ~70 s of retries.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest  # noqa: E402

from reasoning_irl.config.model import ModelConfig  # noqa: E402

ARCHS = ("qwen2", "llama")


@pytest.fixture(scope="session")
def tiny_cache(tmp_path_factory) -> str:
    """A cache folder for this session only (never the user's ~/.cache)."""
    return str(tmp_path_factory.mktemp("reasoning_irl_cache"))


@pytest.fixture(scope="session")
def tiny_paths(tiny_cache) -> dict[str, str]:
    """The built tiny model folder of each architecture (built once per session)."""
    from reasoning_irl.models.loading import resolve_model_path

    return {arch: resolve_model_path("tiny", ModelConfig(tiny_arch=arch, cache_dir=tiny_cache)) for arch in ARCHS}


@pytest.fixture(scope="session")
def tiny_tokenizers(tiny_paths, tiny_cache) -> dict:
    """Each architecture's tokenizer as loaded by ``load_tokenizer`` (Qwen2Tokenizer for qwen2)."""
    from reasoning_irl.models.loading import load_tokenizer

    return {arch: load_tokenizer("tiny", ModelConfig(tiny_arch=arch, cache_dir=tiny_cache)) for arch in ARCHS}


@pytest.fixture(params=ARCHS)
def arch(request) -> str:
    return request.param


@pytest.fixture
def tiny_cfg(arch, tiny_cache, tiny_paths) -> ModelConfig:
    """A config for the tiny model of ``arch`` whose build is already cached."""
    return ModelConfig(tiny_arch=arch, cache_dir=tiny_cache)
