"""Evaluate a policy and a learned reward: pass@k, best-of-N reranking, calibration, localisation.

    python evaluate.py eval.run_dir=outputs/irl-arith-step-seed0
    python evaluate.py eval.mode=pregenerated_policy_and_reward eval.pregenerated_jsonl_path=samples.jsonl
    python evaluate.py eval.mode=localisation task=processbench
"""

import hydra
from omegaconf import DictConfig

from reasoning_irl.cli import not_implemented, to_schema
from reasoning_irl.config.schema import EvaluateConfig


@hydra.main(version_base="1.3", config_path="configs", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    to_schema(cfg, EvaluateConfig)
    not_implemented("evaluate.py", "issue 5")


if __name__ == "__main__":
    main()
