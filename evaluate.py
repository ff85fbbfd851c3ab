"""Evaluate a policy and a learned reward: pass@k, best-of-N reranking, calibration, localisation.

    python evaluate.py eval.run_dir=outputs/irl-arith-step-seed0
    python evaluate.py eval.mode=pregenerated_policy_and_reward eval.pregenerated_jsonl_path=samples.jsonl
    python evaluate.py eval.mode=localisation task=processbench model.reward=outputs/<run>/best/reward_model

Every mode, key and output field: docs/EVALUATION_GUIDE.md.
"""

import hydra
from omegaconf import DictConfig

from reasoning_irl.cli import report_errors, to_schema
from reasoning_irl.config.schema import EvaluateConfig
from reasoning_irl.eval.modes import run_evaluation
from reasoning_irl.eval.summary import summarise


@hydra.main(version_base="1.3", config_path="configs", config_name="evaluate")
@report_errors
def main(cfg: DictConfig) -> None:
    print(summarise(run_evaluation(to_schema(cfg, EvaluateConfig))))


if __name__ == "__main__":
    main()
