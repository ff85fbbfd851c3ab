"""Atomic checkpoints: exact round trips of our loop's state, crash leftovers ignored and cleaned."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch

from reasoning_irl.trainers import atomic_dirs, resume, selected
from reasoning_irl.trainers import checkpoint as ck


def _loop(steps: int, model: torch.nn.Module, optimizer, scheduler) -> list[float]:
    """A training loop that consumes every RNG ckecked: python, numpy, torch (data and dropout)."""
    losses = []
    for _ in range(steps):
        x = torch.randn(8, 4) + random.random() + float(np.random.rand())
        loss = model(x).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    return losses


def _setup(seed: int = 0):
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Dropout(0.3), torch.nn.Linear(8, 1))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, betas=(0.9, 0.99))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0 / (1 + s))
    return model, optimizer, scheduler


def test_round_trip_gives_bit_identical_continued_training(tmp_path):
    model, optimizer, scheduler = _setup()
    _loop(3, model, optimizer, scheduler)
    saved = ck.save_checkpoint(
        ck.step_dir(tmp_path, 3),
        step=3,
        optimizer=optimizer,
        scheduler=scheduler,
        state={"best": {"step": 2, "value": 0.5}, "note": "x", "weights": model.state_dict()},
    )
    uninterrupted = _loop(4, model, optimizer, scheduler)
    reference = [p.detach().clone() for p in model.parameters()]

    # A fresh process: different initial weights and RNG, then everything restored from disk.
    model2, optimizer2, scheduler2 = _setup(seed=123)
    loaded = ck.load_checkpoint(saved, optimizer=optimizer2, scheduler=scheduler2)
    model2.load_state_dict(loaded.state.pop("weights"))  # tensors inside state, as the trainers save them
    resumed = _loop(4, model2, optimizer2, scheduler2)

    assert loaded.step == 3 and loaded.state == {"best": {"step": 2, "value": 0.5}, "note": "x"}
    assert resumed == uninterrupted
    assert all(torch.equal(a, b) for a, b in zip(reference, model2.parameters()))
    # Nothing pickled: the state is JSON + safetensors only.
    assert sorted(p.name for p in saved.iterdir()) == [
        "COMPLETE",
        "loop_state.json",
        "loop_tensors.safetensors",
    ]
    state = json.loads((saved / "loop_state.json").read_text())
    assert state["optimizer"]["param_groups"][0]["betas"] == {"__tuple__": [0.9, 0.99]}


def test_unsupported_state_is_refused_not_pickled(tmp_path):
    with pytest.raises(TypeError, match="state.state.fn"):
        ck.save_checkpoint(tmp_path / "step-1", step=1, state={"fn": object()}, save_rng=False)
    assert not (tmp_path / "step-1").exists()


def test_hf_model_weights_round_trip(tmp_path):
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=32,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    saved = ck.save_checkpoint(tmp_path / "step-1", step=1, policy=model, save_rng=False)
    assert (saved / "policy" / "model.safetensors").is_file()
    torch.manual_seed(1)
    other = LlamaForCausalLM(config)
    ck.load_checkpoint(saved, policy=other)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), other.state_dict().values()))


def test_half_written_checkpoints_are_ignored_and_cleaned(tmp_path):
    ck.save_checkpoint(ck.step_dir(tmp_path, 5), step=5, state={}, save_rng=False)
    # A crash while writing step 9 (staging folder) and a step-7 folder without its marker.
    (tmp_path / "checkpoints" / ".tmp-step-9-4242" / "policy").mkdir(parents=True)
    (tmp_path / "checkpoints" / "step-7").mkdir()
    assert ck.latest_complete_checkpoint(tmp_path) == ck.step_dir(tmp_path, 5)
    with pytest.raises(FileNotFoundError, match="not a complete checkpoint"):
        ck.load_checkpoint(tmp_path / "checkpoints" / "step-7")
    removed = {p.name for p in ck.clean_incomplete(tmp_path)}
    assert removed == {".tmp-step-9-4242", "step-7"}
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["step-5"]


def test_a_failing_save_leaves_no_checkpoint(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(ck, "write_state", boom)
    with pytest.raises(OSError, match="disk full"):
        ck.save_checkpoint(ck.step_dir(tmp_path, 2), step=2)
    assert ck.latest_complete_checkpoint(tmp_path) is None
    assert [p.name.startswith(".tmp-step-2") for p in (tmp_path / "checkpoints").iterdir()] == [True]


def test_best_and_final_copies_and_interrupted_replace(tmp_path):
    from transformers import LlamaConfig, LlamaForCausalLM

    model = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=32,
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=2,
        )
    )
    selected.save_selected(tmp_path, "best", "policy", model, step=3, metric="validation_nll", value=1.5)
    selected.save_selected(tmp_path, "best", "policy", model, step=6, metric="validation_nll", value=1.2)
    assert selected.read_selection(tmp_path) == {"policy": {"step": 6, "metric": "validation_nll", "value": 1.2}}
    saved = ck.save_checkpoint(ck.step_dir(tmp_path, 8), step=8, policy=model, save_rng=False)
    selected.copy_selected(tmp_path, "final", saved)
    assert (tmp_path / "final" / "policy" / "model.safetensors").samefile(
        saved / "policy" / "model.safetensors"
    )
    assert selected.read_selection(tmp_path, "final")["policy"]["step"] == 8
    # A replace interrupted between its two renames: the old folder is moved back.
    (tmp_path / "best" / "policy").rename(tmp_path / "best" / ".old-policy-99")
    ck.clean_incomplete(tmp_path)
    assert (tmp_path / "best" / "policy" / "model.safetensors").is_file()


def test_resolve_resume(tmp_path):
    assert resume.resolve_resume("auto", tmp_path) is None
    assert resume.resolve_resume("never", tmp_path) is None
    saved = ck.save_checkpoint(ck.step_dir(tmp_path, 4), step=4, save_rng=False)
    assert resume.resolve_resume("auto", tmp_path) == saved
    assert resume.resolve_resume(str(saved), tmp_path) == saved
    with pytest.raises(FileExistsError, match="training.resume=never"):
        resume.resolve_resume("never", tmp_path)
    with pytest.raises(FileNotFoundError, match="not a complete checkpoint"):
        resume.resolve_resume(str(tmp_path / "nope"), tmp_path)


def test_adopt_trainer_checkpoint_layout(tmp_path):
    from reasoning_irl.trainers.trl_run import adopt_trainer_checkpoint, trainer_resume_view

    source = tmp_path / "staging" / "checkpoint-3"
    source.mkdir(parents=True)
    for name in (
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        "optimizer.pt",
        "scheduler.pt",
        "rng_state.pth",
        "trainer_state.json",
        "training_args.bin",
    ):
        (source / name).write_text(name)
    target = adopt_trainer_checkpoint(source, ck.step_dir(tmp_path, 3), step=3, state={"best": None})
    assert not source.exists() and atomic_dirs.is_complete(target)
    assert sorted(p.name for p in (target / "policy").iterdir()) == [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
    ]
    assert sorted(p.name for p in (target / "trainer").iterdir()) == [
        "optimizer.pt",
        "rng_state.pth",
        "scheduler.pt",
        "trainer_state.json",
    ]
    view = trainer_resume_view(target)
    assert (view / "optimizer.pt").read_text() == "optimizer.pt" and (view / "config.json").is_symlink()
    assert view in ck.clean_incomplete(tmp_path)


def test_best_from_an_abandoned_continuation_is_rolled_back(tmp_path):
    from transformers import LlamaConfig, LlamaForCausalLM

    model = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=32,
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=2,
        )
    )
    ck.save_checkpoint(ck.step_dir(tmp_path, 4), step=4, policy=model, save_rng=False)
    selected.save_selected(tmp_path, "best", "policy", model, step=6, metric="validation_nll", value=0.9)
    recorded = {"step": 4, "metric": "validation_nll", "value": 1.1}
    resume.restore_best_on_resume(tmp_path, 4, recorded)
    assert selected.read_selection(tmp_path)["policy"] == recorded
    resume.restore_best_on_resume(tmp_path, 4, recorded)  # already consistent: unchanged
    assert selected.read_selection(tmp_path)["policy"] == recorded
