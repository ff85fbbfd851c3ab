"""GRPO with verifiable rewards (format + correctness): the outcome-supervised baseline.

    python train_grpo.py                                  # arith, tiny model, CPU
    python train_grpo.py task=gsm8k model=qwen2.5-3b
"""

import hydra
from omegaconf import DictConfig

from reasoning_irl.cli import not_implemented, to_schema
from reasoning_irl.config.schema import TrainGRPOConfig


@hydra.main(version_base="1.3", config_path="configs", config_name="train_grpo")
def main(cfg: DictConfig) -> None:
    to_schema(cfg, TrainGRPOConfig)
    not_implemented("train_grpo.py", "issue 4")


if __name__ == "__main__":
    main()
