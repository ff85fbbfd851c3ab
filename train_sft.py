"""Supervised fine-tuning on the expert traces (the SFT baseline and the AIRL warm start).

    python train_sft.py                                   # arith, tiny model, CPU
    python train_sft.py task=gsm8k model=qwen2.5-3b
"""

import hydra
from omegaconf import DictConfig

from reasoning_irl.cli import not_implemented, to_schema
from reasoning_irl.config.schema import TrainSFTConfig


@hydra.main(version_base="1.3", config_path="configs", config_name="train_sft")
def main(cfg: DictConfig) -> None:
    to_schema(cfg, TrainSFTConfig)
    not_implemented("train_sft.py", "issue 4")


if __name__ == "__main__":
    main()
