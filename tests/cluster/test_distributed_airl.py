"""AIRL with two CPU processes (gloo, one thread per rank; ``torchrun --nproc_per_node 2``).

1. On a fixed pre-generated batch (sampling differs by rank, so only the updates are compared): 4
   prompts × G = 4 completions; each rank takes 2 whole prompts (:func:`reasoning_irl.distributed.shard`
   — groups are never split, so group-normalised advantages are computed locally); the policy loss
   normalisers are summed over ranks and the gradients summed before clipping. After each of 3 steps the
   parameters are identical on both ranks and equal to one process updating on the whole batch within
   ATOL, for the ``dapo`` and ``grpo`` aggregations with the KL penalty on, with SGD and AdamW. (``bnpo``
   is a mean per micro-batch by definition, so it depends on how the batch is split — as in TRL.)
2. The discriminator update on a fixed batch with the same label mix on each rank: gradient and
   parameters vs one process.
3. ``train_irl`` itself (warm-up + AIRL steps): policy and reward model identical on both ranks after
   every update; both ranks resolve the same run folder, which only rank 0 writes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from reasoning_irl.testing import free_port

ROOT = Path(__file__).resolve().parents[2]

STEPS = 3
#: Two vs one process, max |Δ| of any parameter. SGD (lr 0.5) measured ≤ 1.2e-7: the gradients agree to
#: float32 summation order. AdamW (lr 1e-3) measured 1.3e-5–3.8e-5 from the first step on: Adam divides
#: by √v + ε, so a parameter whose gradient is ~1e-9 moves by up to lr in either run depending on
#: float noise — a few % of one learning-rate step; it does not grow with the steps.
ATOL = {"sgd": 1e-6, "adamw": 1e-4}
PROMPTS, G = 4, 4


CASES = [(aggregation, optim) for aggregation in ("dapo", "grpo") for optim in ("sgd", "adamw")]


def _worker(out: Path) -> None:
    """One process: for each case, 3 policy updates on its shard of the fixed batch; saves the parameters."""
    from reasoning_irl import distributed
    from reasoning_irl.config.model import ModelConfig
    from reasoning_irl.models import load_tokenizer

    torch.set_num_threads(1)
    distributed.init()
    rank, world = distributed.rank(), distributed.world_size()
    batch = json.loads((out / "batch.json").read_text())
    model_cfg = ModelConfig(max_completion_length=64)
    tokenizer = load_tokenizer("tiny", model_cfg)
    for aggregation, optim in CASES:
        _updates(out, batch, tokenizer, model_cfg, aggregation, optim, rank, world)
    _disc_worker(out)  # same processes: one launch less


def _updates(out, batch, tokenizer, model_cfg, aggregation, optim, rank, world) -> None:
    from reasoning_irl import distributed
    from reasoning_irl.config.algo import AlgoConfig
    from reasoning_irl.models import encode_prompt, load_causal_lm
    from reasoning_irl.rl.advantages import compute_advantages
    from reasoning_irl.rl.policy_loss import make_reference
    from reasoning_irl.rl.policy_update import policy_update
    from reasoning_irl.rl.rollout import Rollouts, policy_batch

    torch.manual_seed(0)
    policy = load_causal_lm("tiny", model_cfg)
    algo = AlgoConfig(advantage="group", loss_aggregation=aggregation, kl_beta=0.05)
    reference = make_reference(policy, algo.kl_beta)
    optimizer = (torch.optim.SGD(policy.parameters(), lr=0.5) if optim == "sgd"
                 else torch.optim.AdamW(policy.parameters(), lr=1e-3))

    prompts = distributed.shard(list(range(PROMPTS)), rank_=rank, world=world)  # whole prompts
    rows = [p * G + g for p in prompts for g in range(G)]
    rollouts = Rollouts(
        prompt_ids=[encode_prompt(tokenizer, batch["prompts"][p]) for p in prompts],
        prompt_index=[i // G for i in range(len(rows))],
        completion_ids=[batch["completions"][r] for r in rows],
        completion_text=[tokenizer.decode(batch["completions"][r], skip_special_tokens=True) for r in rows],
        finished=[True] * len(rows),
        num_generations=G,
    )
    layout = policy_batch(rollouts, tokenizer.pad_token_id)
    mask = layout.completion_block(layout.completion_mask)
    width = mask.shape[1]
    rewards = torch.zeros(len(rows), width)
    scored = torch.zeros(len(rows), width, dtype=torch.bool)
    for i, r in enumerate(rows):  # a sequence reward at each completion's last token
        last = int(mask[i].sum()) - 1
        rewards[i, last], scored[i, last] = batch["rewards"][r], True
    advantages = compute_advantages(rewards, mask, scored, algo, G, None)
    for step in range(1, STEPS + 1):
        policy_update(policy, reference, optimizer, layout, advantages, algo, micro_batch_size=3,
                      max_completion_length=32, iterations=1, max_grad_norm=1.0, bf16=False)
        flat = torch.cat([p.detach().reshape(-1) for p in policy.parameters()])
        torch.save(flat, out / f"{aggregation}_{optim}_w{world}_rank{rank}_step{step}.pt")


def _fixed_batch(out: Path) -> None:
    """4 arith prompts × 4 completions (prefixes of the expert trace of varying length) and rewards."""
    from reasoning_irl.config.model import ModelConfig
    from reasoning_irl.config.task import TaskConfig
    from reasoning_irl.models import load_tokenizer
    from reasoning_irl.tasks import get_task

    tokenizer = load_tokenizer("tiny", ModelConfig())
    records = get_task(TaskConfig(arith_num_train=PROMPTS, arith_num_validation=0, arith_num_test=0)).load("train")
    generator = torch.Generator().manual_seed(0)
    completions, rewards = [], []
    for record in records[:PROMPTS]:
        ids = tokenizer(record.target, add_special_tokens=False)["input_ids"]
        for _ in range(G):
            cut = int(torch.randint(4, max(5, len(ids)), (1,), generator=generator))
            completions.append(ids[:cut] + [tokenizer.eos_token_id])
            rewards.append(float(torch.randn(1, generator=generator)))
    prompts = [r.prompt for r in records[:PROMPTS]]
    (out / "batch.json").write_text(json.dumps({"prompts": prompts, "completions": completions, "rewards": rewards}))


@pytest.fixture(scope="module")
def launched(tmp_path_factory):
    """One two-process launch runs the fixed-batch updates (into ``out``) and then the AIRL loop (into
    ``loop``); the one-process reference of the updates runs at the same time (it writes other files)."""
    out, loop = tmp_path_factory.mktemp("dist_airl"), tmp_path_factory.mktemp("dist_airl_loop")
    _fixed_batch(out)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    with (out / "two.log").open("w") as two_log, (out / "one.log").open("w") as one_log:
        two = subprocess.Popen([str(Path(sys.executable).parent / "torchrun"), "--nproc_per_node", "2",
                                "--master_port", str(free_port()), __file__, str(out), str(loop)],
                               env=env, stdout=two_log, stderr=subprocess.STDOUT)
        one = subprocess.Popen([sys.executable, __file__, str(out)], env=env, stdout=one_log,
                               stderr=subprocess.STDOUT)
    try:
        for name, proc in (("two", two), ("one", one)):
            assert proc.wait(timeout=300) == 0, (out / f"{name}.log").read_text()[-3000:]
    finally:
        for proc in (two, one):
            if proc.poll() is None:
                proc.kill()
    return {"updates": out, "loop": loop}


@pytest.fixture(scope="module")
def updates(launched):
    return launched["updates"]


@pytest.mark.parametrize("aggregation,optim", CASES)
def test_policy_update_identical_across_ranks_and_equal_to_one_process(updates, aggregation, optim):
    start = None
    for step in range(1, STEPS + 1):
        rank0 = torch.load(updates / f"{aggregation}_{optim}_w2_rank0_step{step}.pt")
        rank1 = torch.load(updates / f"{aggregation}_{optim}_w2_rank1_step{step}.pt")
        one = torch.load(updates / f"{aggregation}_{optim}_w1_rank0_step{step}.pt")
        start = one if start is None else start
        diff = float((rank0 - one).abs().max())
        print(f"{aggregation} {optim} step {step}: max|two - one| = {diff:.2e}")
        assert torch.equal(rank0, rank1), f"step {step}: ranks differ by {(rank0 - rank1).abs().max()}"
        assert diff <= ATOL[optim], f"step {step}: |two − one| = {diff}"
    assert (one - start).abs().max() > 10 * ATOL[optim]  # the updates moved the parameters


def test_shard_keeps_whole_prompts_and_refuses_uneven_batches():
    from reasoning_irl import distributed

    assert distributed.shard([0, 1, 2, 3], rank_=1, world=2) == [2, 3]
    with pytest.raises(ValueError, match="batch_prompts"):
        distributed.shard([0, 1, 2], rank_=0, world=2)


# --------------------------------------------------------------------------------------------------
# The discriminator update on a fixed batch


def _disc_worker(out: Path) -> None:
    """3 discriminator updates on this rank's shard of 4 experts (positives) + 4 negatives (each problem's
    negative is the next problem's expert trace: a wrong answer). Each shard holds 2 + 2 sequences: with
    the same label mix per shard, the mean of the per-shard class-balanced losses is the global one."""
    from reasoning_irl import distributed
    from reasoning_irl.config.model import ModelConfig
    from reasoning_irl.config.reward import DiscriminatorConfig, RewardConfig
    from reasoning_irl.config.task import TaskConfig
    from reasoning_irl.rewards import build_reward_model
    from reasoning_irl.rewards.discriminator import Discriminator
    from reasoning_irl.rewards.labels import DiscriminatorSample
    from reasoning_irl.tasks import get_task

    torch.set_num_threads(1)
    distributed.init()
    rank, world = distributed.rank(), distributed.world_size()
    records = get_task(TaskConfig(arith_num_train=PROMPTS, arith_num_validation=0, arith_num_test=0)).load("train")
    records = records[:PROMPTS]
    torch.manual_seed(0)
    model = build_reward_model(RewardConfig(head="linear", head_init_std=0.02, granularity="step"),
                               ModelConfig(reward="tiny"), form="gail")
    disc = Discriminator(model, DiscriminatorConfig(form="gail", updates_per_step=1, learning_rate=1e-3,
                                                    max_grad_norm=1.0))
    optimizer_step = disc.optimizer.step

    def step_and_save_gradients(*args, **kwargs):  # the (clipped, averaged) gradient of the first update
        if not (out / f"disc_w{world}_rank{rank}_grad.pt").exists():
            grads = [torch.zeros(p.numel()) if p.grad is None else p.grad.reshape(-1)
                     for group in disc.optimizer.param_groups for p in group["params"]]
            torch.save(torch.cat(grads), out / f"disc_w{world}_rank{rank}_grad.pt")
        return optimizer_step(*args, **kwargs)

    disc.optimizer.step = step_and_save_gradients
    mine = distributed.shard(list(range(PROMPTS)), rank_=rank, world=world)
    positives = [DiscriminatorSample(records[i].prompt, records[i].target, "expert", problem_id=str(i)) for i in mine]
    negatives = [DiscriminatorSample(records[i].prompt, records[(i + 1) % PROMPTS].target, "policy",
                                     problem_id=str(i)) for i in mine]
    for step in range(1, STEPS + 1):
        disc.update(positives, negatives)
        torch.save(_flat(disc.reward_model), out / f"disc_w{world}_rank{rank}_step{step}.pt")


@pytest.fixture(scope="module")
def disc_updates(updates):
    return updates  # written by the same worker processes as the policy updates


def test_discriminator_update_identical_across_ranks_and_equal_to_one_process(disc_updates):
    grad_two = torch.load(disc_updates / "disc_w2_rank0_grad.pt")
    grad_one = torch.load(disc_updates / "disc_w1_rank0_grad.pt")
    scale = float(grad_one.abs().max())
    print(f"discriminator gradient: max|two - one| = {(grad_two - grad_one).abs().max():.2e} (max |g| {scale:.2e})")
    assert (grad_two - grad_one).abs().max() <= 1e-5 * scale
    for step in range(1, STEPS + 1):
        rank0 = torch.load(disc_updates / f"disc_w2_rank0_step{step}.pt")
        rank1 = torch.load(disc_updates / f"disc_w2_rank1_step{step}.pt")
        one = torch.load(disc_updates / f"disc_w1_rank0_step{step}.pt")
        diff = float((rank0 - one).abs().max())
        print(f"discriminator adamw step {step}: max|two - one| = {diff:.2e}")
        assert torch.equal(rank0, rank1), f"step {step}: ranks differ by {(rank0 - rank1).abs().max()}"
        assert diff <= ATOL["adamw"], f"step {step}: |two − one| = {diff}"


# --------------------------------------------------------------------------------------------------
# The whole AIRL loop under two processes


def _flat(model) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in model.parameters() if p.requires_grad])


def _loop_worker(out: Path) -> None:
    """``train_irl`` with 1 discriminator warm-up step + 2 AIRL steps; after every discriminator update
    and every policy update this rank saves the trainable parameters (wrappers, the trainer unpatched)."""
    from reasoning_irl.config.schema import TrainIRLConfig
    from reasoning_irl.rewards.discriminator import Discriminator
    from reasoning_irl.trainers import airl

    torch.set_num_threads(1)
    rank = int(os.environ.get("RANK", "0"))
    counts = {"policy": 0, "discriminator": 0}
    policy_update, discriminator_update = airl.policy_update, Discriminator.update

    def wrapped_policy_update(policy, *args, **kwargs):
        result = policy_update(policy, *args, **kwargs)
        counts["policy"] += 1
        torch.save(_flat(policy), out / f"loop_policy_rank{rank}_{counts['policy']}.pt")
        return result

    def wrapped_discriminator_update(self, *args, **kwargs):
        result = discriminator_update(self, *args, **kwargs)
        counts["discriminator"] += 1
        torch.save(_flat(self.reward_model), out / f"loop_discriminator_rank{rank}_{counts['discriminator']}.pt")
        return result

    airl.policy_update, Discriminator.update = wrapped_policy_update, wrapped_discriminator_update
    cfg = TrainIRLConfig(run_name="irl-dist", output_root=str(out / "runs"), seed=0, device="cpu")
    cfg.task.arith_num_train, cfg.task.arith_num_validation, cfg.task.arith_num_test = 32, 4, 4
    cfg.model.max_completion_length = 64
    cfg.logging.wandb_mode, cfg.logging.progress_bar, cfg.logging.logging_steps = "disabled", False, 1
    cfg.sampling.num_generations, cfg.sampling.max_new_tokens = 2, 16
    t = cfg.training
    t.max_steps, t.reward_warmup_steps, t.warm_start_steps, t.batch_prompts = 2, 1, 0, 2
    t.eval_problems, t.eval_generate, t.eval_every, t.checkpoint_every = 4, False, 0, 2
    run_dir = airl.train_irl(cfg)
    (out / f"loop_rundir_rank{rank}.txt").write_text(str(run_dir))


@pytest.fixture(scope="module")
def loop(launched):
    return launched["loop"]  # run by the processes of the fixed-batch updates, after them: one launch less


def test_airl_loop_replicas_stay_identical(loop):
    """3 steps × 3 discriminator updates and 2 policy updates: both ranks hold the same parameters after
    each (each rank sampled its own prompts, so the updates themselves are not compared here)."""
    for kind, n in (("discriminator", 3), ("policy", 2)):
        for i in range(1, n + 1):
            rank0 = torch.load(loop / f"loop_{kind}_rank0_{i}.pt")
            rank1 = torch.load(loop / f"loop_{kind}_rank1_{i}.pt")
            assert torch.equal(rank0, rank1), f"{kind} update {i}: max |Δ| = {(rank0 - rank1).abs().max()}"
        assert not (loop / f"loop_{kind}_rank0_{n + 1}.pt").exists()


def test_airl_loop_one_run_folder_written_once(loop):
    folders = {(loop / f"loop_rundir_rank{r}.txt").read_text() for r in (0, 1)}
    assert folders == {str(loop / "runs" / "irl-dist")}
    run = loop / "runs" / "irl-dist"
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [0, 1, 2, 3]  # rank 1 logged nothing
    assert (run / "final" / "policy").is_dir() and (run / "final" / "reward_model").is_dir()
    assert (run / "checkpoints" / "step-2" / "COMPLETE").is_file()


if __name__ == "__main__":  # OUT [LOOP_OUT]: the fixed-batch updates, then (given LOOP_OUT) the AIRL loop
    _worker(Path(sys.argv[1]))
    if len(sys.argv) > 2:
        _loop_worker(Path(sys.argv[2]))
