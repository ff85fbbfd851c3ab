"""Train a reasoning reward model (discriminator) and a policy by adversarial IRL.

    python train_irl.py                                   # embedded default: arith, tiny model, CPU
    python train_irl.py reward=dense algo=discounted seed=1
    python train_irl.py --multirun reward=sparse,step,interval,dense seed=0,1,2
    accelerate launch --config_file configs/accelerate/ddp.yaml train_irl.py model=qwen2.5-3b task=gsm8k

With ``model.policy=tiny`` (the default) it first runs a short SFT warm start into
``<run>/warm_start/``; pass ``model.policy=<sft run>/best/policy`` to start from an SFT run instead.
"""

import hydra
from omegaconf import DictConfig

from reasoning_irl.cli import report_errors, to_schema
from reasoning_irl.config.schema import TrainIRLConfig


@hydra.main(version_base="1.3", config_path="configs", config_name="train_irl")
@report_errors
def main(cfg: DictConfig) -> None:
    from reasoning_irl.trainers.airl import train_irl

    train_irl(to_schema(cfg, TrainIRLConfig))


if __name__ == "__main__":
    main()
