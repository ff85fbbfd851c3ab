"""GRPO with verifiable rewards (format + correctness): the outcome-supervised baseline.

    python train_grpo.py                                  # arith, tiny model, CPU
    python train_grpo.py model.policy=outputs/sft-arith-seed0/best/policy    # warm start from SFT
    python train_grpo.py task=gsm8k model=qwen2.5-3b training.max_steps=400

Writes outputs/<run_name>/ like train_sft.py; rerunning continues from the last complete checkpoint.
"""

import hydra
from omegaconf import DictConfig

from reasoning_irl.cli import report_errors, to_schema
from reasoning_irl.config.schema import TrainGRPOConfig


@hydra.main(version_base="1.3", config_path="configs", config_name="train_grpo")
@report_errors
def main(cfg: DictConfig) -> None:
    from reasoning_irl.trainers.grpo import train_grpo

    train_grpo(to_schema(cfg, TrainGRPOConfig))


if __name__ == "__main__":
    main()
