"""The tiny local model: offline round trip, caching, determinism, atomic builds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import reasoning_irl
from reasoning_irl.config.model import ModelConfig
from reasoning_irl.models import tiny
from reasoning_irl.models.tiny import (
    BUILD_INFO,
    CHAT_TEMPLATE,
    build_tiny_model,
    build_tiny_tokenizer,
    tiny_model_path,
)
from reasoning_irl.text import DEFAULT_SYSTEM_PROMPT, build_messages, format_completion

TEXT = (
    "Start with 7. Add 5. Multiply by 3. What is the final number?\n<think>\n7 + 5 = 12\n12 * 3 = 36\n</think>\n"
    "<answer>\n36\n</answer> Natalia sold 48/2 = 24 clips in May, café naïve 中文 😀 "
    + DEFAULT_SYSTEM_PROMPT
)


def test_folder_is_a_safetensors_hf_model_of_about_a_million_parameters(tiny_paths, arch):
    folder = Path(tiny_paths[arch])
    names = {p.name for p in folder.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", BUILD_INFO} <= names
    assert not any(n.endswith((".bin", ".pt")) for n in names)
    info = json.loads((folder / BUILD_INFO).read_text())
    # Per layer: attention 4 × 128² (+ q/k/v biases for qwen2), MLP 3 × 128 × 512, 2 norms; plus
    # untied embeddings and head 2 × 512 × 128 and the final norm.
    per_layer = 4 * 128 * 128 + 3 * 128 * 512 + 2 * 128 + (3 * 128 if arch == "qwen2" else 0)
    assert info["num_parameters"] == 4 * per_layer + 2 * 512 * 128 + 128
    assert info["vocab_size"] == 512
    assert info["build_seconds"] < 10


def test_reload_gives_identical_ids_and_logits(tiny_paths, arch):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cfg = ModelConfig(tiny_arch=arch)
    built_tok = build_tiny_tokenizer(cfg.tiny_vocab_size)
    built_model = build_tiny_model(cfg, built_tok).eval()
    tok = AutoTokenizer.from_pretrained(tiny_paths[arch])
    model = AutoModelForCausalLM.from_pretrained(tiny_paths[arch]).eval()

    # qwen2: the pitfall of docs/ARCHITECTURE.md (Environment notes): transformers rebuilds the pre-tokenizer
    if arch == "qwen2":
        assert type(tok).__name__ == "Qwen2Tokenizer"
    ids = built_tok(TEXT, add_special_tokens=False)["input_ids"]
    assert tok(TEXT, add_special_tokens=False)["input_ids"] == ids
    assert tok(TEXT)["input_ids"] == ids  # no automatic special tokens
    assert tok.decode(ids) == TEXT
    assert tok.convert_ids_to_tokens(tok("2026", add_special_tokens=False)["input_ids"]) == ["2", "0", "2", "6"]
    assert len(tok) == len(built_tok) == 512
    assert (tok.pad_token, tok.eos_token, tok.bos_token) == ("<|pad|>", "<|im_end|>", "<|bos|>")
    assert [tok.convert_tokens_to_ids(t) for t in ("<|pad|>", "<|bos|>", "<|im_start|>", "<|im_end|>")] == [0, 1, 2, 3]
    assert tok.padding_side == "left"
    assert tok.chat_template == CHAT_TEMPLATE
    assert model.config.eos_token_id == 3 and model.config.pad_token_id == 0

    x = torch.tensor([ids[:64]])
    with torch.no_grad():
        assert torch.equal(model(x).logits, built_model(x).logits)


def test_chat_template_is_chatml_with_generation_prompt(tiny_tokenizers, arch):
    text = tiny_tokenizers[arch].apply_chat_template(
        build_messages("Start with 2. Add 3. What is the final number?", system_prompt="Be brief."),
        tokenize=False, add_generation_prompt=True,
    )
    assert text == (
        "<|im_start|>system\nBe brief.<|im_end|>\n"
        "<|im_start|>user\nStart with 2. Add 3. What is the final number?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def test_tokenizer_compresses_the_task_text(tiny_tokenizers):
    tok = tiny_tokenizers["qwen2"]
    completion = format_completion(["7 + 5 = 12", "12 * 3 = 36"], "36")
    assert len(tok(DEFAULT_SYSTEM_PROMPT)["input_ids"]) < 100  # 368 characters
    assert len(tok(completion)["input_ids"]) <= 35  # 51 characters, digits one per token


def test_build_is_cached(tiny_cache, tiny_paths, arch):
    folder = Path(tiny_paths[arch])
    stamp = (folder / BUILD_INFO).stat().st_mtime_ns
    start = time.perf_counter()
    again = tiny_model_path(ModelConfig(tiny_arch=arch, cache_dir=tiny_cache))
    assert time.perf_counter() - start < 0.5
    assert again == folder
    assert (folder / BUILD_INFO).stat().st_mtime_ns == stamp
    # A different setting is a different folder.
    assert tiny.tiny_settings(ModelConfig(tiny_num_layers=2)) != tiny.tiny_settings(ModelConfig())


def test_two_builds_in_different_processes_are_identical(tiny_paths, tmp_path):
    """Determinism: a fresh build in another process and cache folder gives the same vocab and weights."""
    src = str(Path(reasoning_irl.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    code = (
        "from reasoning_irl.config.model import ModelConfig; from reasoning_irl.models.tiny import tiny_model_path;"
        f"print(tiny_model_path(ModelConfig(tiny_arch='qwen2', cache_dir={str(tmp_path)!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, timeout=120)
    other = Path(out.stdout.strip().splitlines()[-1])
    ours = Path(tiny_paths["qwen2"])
    assert other.name == ours.name and other != ours
    assert (other / "tokenizer.json").read_text() == (ours / "tokenizer.json").read_text()
    theirs, mine = load_file(other / "model.safetensors"), load_file(ours / "model.safetensors")
    assert theirs.keys() == mine.keys()
    assert all(torch.equal(theirs[k], mine[k]) for k in mine)


def test_losing_a_build_race_uses_the_winner_and_leaves_no_temp_folder(tmp_path, monkeypatch):
    cfg = ModelConfig(tiny_arch="llama", cache_dir=str(tmp_path), tiny_num_layers=1)
    real_build = tiny.build_tiny
    winner = {}

    def build_while_another_process_finishes_first(out_dir, cfg_, settings):
        info = real_build(out_dir, cfg_, settings)
        final = Path(out_dir).parent / Path(out_dir).name.split(".")[1]  # temp name: .<final>.<random>.tmp
        real_build(final, cfg_, settings)  # the other process renames its complete build into place
        (final / "winner").write_text("yes")
        winner["path"] = final
        return info

    monkeypatch.setattr(tiny, "build_tiny", build_while_another_process_finishes_first)
    path = tiny_model_path(cfg)
    assert path == winner["path"] and (path / "winner").is_file()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # our temp build was removed


def test_incomplete_cache_folder_is_reported(tmp_path):
    cfg = ModelConfig(cache_dir=str(tmp_path))
    path = tiny_model_path(cfg)
    (path / BUILD_INFO).unlink()
    with pytest.raises(RuntimeError, match="incomplete.*delete it"):
        tiny_model_path(cfg)


def test_cache_dir_defaults_to_environment_variable(monkeypatch, tmp_path):
    monkeypatch.setenv(tiny.CACHE_ENV, str(tmp_path))
    assert tiny.cache_root(ModelConfig()) == tmp_path
    monkeypatch.delenv(tiny.CACHE_ENV)
    assert tiny.cache_root(ModelConfig()) == Path("~/.cache/reasoning_irl").expanduser()
    assert tiny.cache_root(ModelConfig(cache_dir="/x/y")) == Path("/x/y")
