"""SFT through TRL on arith with the tiny model: a few steps, our run layout, selection, exact resume."""

from __future__ import annotations

import json
import math
import shutil

import pytest
import torch
from safetensors.torch import load_file

from reasoning_irl.config.schema import TrainSFTConfig
from reasoning_irl.trainers.selected import read_selection

STEPS = 3


def sft_config(tmp_path, **training) -> TrainSFTConfig:
    """A 3-step SFT run on a small arith task: 64 train, 8 validation problems, batch 8."""
    cfg = TrainSFTConfig(run_name="sft-test", output_root=str(tmp_path), seed=0, device="cpu")
    cfg.task.arith_num_train, cfg.task.arith_num_validation, cfg.task.arith_num_test = 64, 8, 8
    cfg.model.max_completion_length = 64
    cfg.logging.wandb_mode, cfg.logging.progress_bar, cfg.logging.logging_steps = "disabled", False, 1
    t = cfg.training
    t.max_steps, t.batch_size, t.learning_rate = STEPS, 8, 3e-3
    t.checkpoint_every, t.eval_every, t.eval_problems, t.eval_generate = 2, 1, 8, False
    for key, value in training.items():
        setattr(t, key, value)
    return cfg


def _rows(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def sft_run(tmp_path_factory):
    from reasoning_irl.trainers.sft import train_sft

    cfg = sft_config(tmp_path_factory.mktemp("sft"))
    return cfg, train_sft(cfg)


def test_losses_finite_and_layout(sft_run):
    cfg, run_dir = sft_run
    rows = _rows(run_dir)
    losses = [r["loss"] for r in rows if "loss" in r]
    assert len(losses) == STEPS and all(math.isfinite(x) for x in losses)
    for step in (2, 3):
        ckpt = run_dir / "checkpoints" / f"step-{step}"
        assert (ckpt / "COMPLETE").is_file() and (ckpt / "policy" / "model.safetensors").is_file()
        assert (ckpt / "trainer" / "optimizer.pt").is_file() and not (
            ckpt / "trainer" / "training_args.bin"
        ).exists()
    assert (run_dir / "final" / "policy" / "model.safetensors").is_file()
    assert read_selection(run_dir, "final")["policy"]["step"] == STEPS
    assert (run_dir / "config.yaml").is_file() and (run_dir / "run_info.json").is_file()
    task = json.loads((run_dir / "run_info.json").read_text())["sessions"][-1]["task"]
    assert task["task"] == "arith" and task["sizes"]["train"] > 0  # Task.describe(): what data was used
    assert not any(p.name.startswith(".tmp") for p in (run_dir / "checkpoints").iterdir())


def test_best_is_the_lowest_validation_nll(sft_run):
    cfg, run_dir = sft_run
    nll = {r["step"]: r["validation_nll"] for r in _rows(run_dir) if "validation_nll" in r}
    assert sorted(nll) == [1, 2, 3]
    best_step = min(nll, key=lambda s: (nll[s], s))
    assert read_selection(run_dir)["policy"] == {
        "step": best_step,
        "metric": "validation_nll",
        "value": nll[best_step],
    }


def test_every_trainable_parameter_changed(sft_run):
    from reasoning_irl.models.loading import resolve_model_path

    cfg, run_dir = sft_run
    before = load_file(f"{resolve_model_path('tiny', cfg.model)}/model.safetensors")
    after = load_file(str(run_dir / "final" / "policy" / "model.safetensors"))
    assert before.keys() == after.keys()
    unchanged = [name for name in before if torch.equal(before[name], after[name])]
    assert unchanged == []


def test_resume_after_a_crash_equals_the_uninterrupted_run(sft_run, tmp_path):
    from reasoning_irl.trainers.sft import train_sft

    cfg, run_dir = sft_run
    crashed = tmp_path / "sft-test"
    shutil.copytree(run_dir, crashed)
    # The crash: after step 3 was logged and evaluated, while its checkpoint was being written.
    (crashed / "checkpoints" / "step-3").rename(crashed / "checkpoints" / ".tmp-step-3-999")
    (crashed / "checkpoints" / ".tmp-step-3-999" / "COMPLETE").unlink()
    shutil.rmtree(crashed / "final")

    train_sft(sft_config(tmp_path), crashed)

    assert _rows(crashed) == _rows(run_dir)
    assert not (crashed / "checkpoints" / ".tmp-step-3-999").exists()
    sessions = json.loads((crashed / "run_info.json").read_text())["sessions"]
    assert sessions[-1]["resumed_from_step"] == 2 and sessions[-1]["status"] == "finished"
    final = load_file(str(crashed / "final" / "policy" / "model.safetensors"))
    reference = load_file(str(run_dir / "final" / "policy" / "model.safetensors"))
    assert all(torch.equal(final[k], reference[k]) for k in reference)
    assert read_selection(crashed) == read_selection(run_dir)


def test_loss_is_on_the_completion_only(sft_run):
    from reasoning_irl.models import load_tokenizer
    from reasoning_irl.tasks import get_task
    from reasoning_irl.trainers.sft import sft_dataset

    cfg, _ = sft_run
    tokenizer = load_tokenizer("tiny", cfg.model)
    record = get_task(cfg.task).load("train")[0]
    row = sft_dataset(tokenizer, [record], cfg.model.max_length)[0]
    completion = [i for i, m in zip(row["input_ids"], row["completion_mask"]) if m]
    assert row["completion_mask"][0] == 0 and completion[-1] == tokenizer.eos_token_id
    assert tokenizer.decode(completion[:-1]) == record.target


def test_expert_nll_matches_a_hand_computation(sft_run):
    from reasoning_irl.models import load_causal_lm, load_tokenizer
    from reasoning_irl.models.encoding import encode
    from reasoning_irl.tasks import get_task
    from reasoning_irl.trainers.policy_selection import expert_nll

    cfg, _ = sft_run
    tokenizer, model = load_tokenizer("tiny", cfg.model), load_causal_lm("tiny", cfg.model)
    records = get_task(cfg.task).load("validation")[:3]
    total = count = 0.0
    with torch.no_grad():
        for record in records:  # one unpadded sequence at a time
            sample = encode(tokenizer, record.prompt, record.target)
            ids = torch.tensor([sample.input_ids])
            logp = torch.log_softmax(model(input_ids=ids).logits[0, :-1], -1)
            targets = ids[0, 1:]
            picked = logp[torch.arange(len(targets)), targets][sample.prompt_length - 1 :]
            total, count = total - float(picked.sum()), count + len(picked)
    assert expert_nll(model, tokenizer, records, batch_size=2) == pytest.approx(total / count, rel=1e-5)


def test_selection_directions():
    from reasoning_irl.trainers.policy_selection import PolicySelection

    for select_by, values, best in (("nll", [2.0, 1.0, 1.5], 1.0), ("correctness", [0.2, 0.5, 0.5], 0.5)):
        selection = PolicySelection(
            None, [object()], None, select_by=select_by, generate=False, max_length=8, max_new_tokens=8
        )
        for step, value in enumerate(values, start=1):
            if selection.is_better({selection.metric: value}):
                selection.record(step, value)
        assert selection.best_value == best and selection.best_step == 2


def test_resume_refuses_a_run_folder_of_another_model_or_task(sft_run, tmp_path):
    from reasoning_irl.trainers.sft import train_sft

    _, run_dir = sft_run
    shutil.copytree(run_dir, tmp_path / "sft-test")
    changed = sft_config(tmp_path)
    changed.task.arith_max_ops = 6
    with pytest.raises(ValueError, match="task.arith_max_ops"):
        train_sft(changed, tmp_path / "sft-test")
