"""Supervised fine-tuning on the expert traces (the SFT baseline and the AIRL warm start).

    python train_sft.py                                   # arith, tiny model, CPU (about two minutes)
    python train_sft.py task=gsm8k model=qwen2.5-3b training.max_steps=400
    accelerate launch --config_file configs/accelerate/ddp.yaml train_sft.py model=qwen2.5-3b task=gsm8k

Writes outputs/<run_name>/ (config.yaml, metrics.jsonl, run_info.json, checkpoints/step-N, best/, final/);
rerunning the same command continues from the last complete checkpoint (training.resume=auto).
"""

import hydra
from omegaconf import DictConfig

from reasoning_irl.cli import report_errors, to_schema
from reasoning_irl.config.schema import TrainSFTConfig


@hydra.main(version_base="1.3", config_path="configs", config_name="train_sft")
@report_errors
def main(cfg: DictConfig) -> None:
    from reasoning_irl.trainers.sft import train_sft

    train_sft(to_schema(cfg, TrainSFTConfig))


if __name__ == "__main__":
    main()
