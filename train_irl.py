"""Train a reasoning reward model (discriminator) and a policy by adversarial IRL.

    python train_irl.py                                   # embedded default: arith, tiny model, CPU
    python train_irl.py reward=dense algo=discounted seed=1
    python train_irl.py --multirun reward=sparse,step,interval,dense seed=0,1,2
    accelerate launch --config_file configs/accelerate/ddp.yaml train_irl.py model=qwen2.5-3b task=gsm8k
"""

import hydra
from omegaconf import DictConfig

from reasoning_irl.cli import not_implemented, to_schema
from reasoning_irl.config.schema import TrainIRLConfig


@hydra.main(version_base="1.3", config_path="configs", config_name="train_irl")
def main(cfg: DictConfig) -> None:
    to_schema(cfg, TrainIRLConfig)
    not_implemented("train_irl.py", "issue 4")


if __name__ == "__main__":
    main()
