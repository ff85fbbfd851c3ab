"""Primary configs of the four entry points, registered in Hydra's ConfigStore.

``configs/<entry>.yaml`` lists ``<entry>_schema`` first in its defaults, so every group option and
command-line override is merged onto these dataclasses: an unknown or misspelt key is an error that
names it, and a value of the wrong type is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hydra.core.config_store import ConfigStore

from reasoning_irl.config import check_finite
from reasoning_irl.config.algo import AlgoConfig
from reasoning_irl.config.eval import EvalConfig
from reasoning_irl.config.model import ModelConfig
from reasoning_irl.config.reward import DiscriminatorConfig, RewardConfig
from reasoning_irl.config.sampling import SamplingConfig
from reasoning_irl.config.task import TaskConfig
from reasoning_irl.config.tracking import LoggingConfig
from reasoning_irl.config.training import GRPOTrainingConfig, IRLTrainingConfig, SFTTrainingConfig


@dataclass
class RunConfig:
    #: Seed of everything random in the run (data order, sampling, initialisation).
    seed: int = 0
    #: Name of the run; the run folder is ``<output_root>/<run_name>`` (not the clock, so that the
    #: processes of one distributed run agree on it).
    run_name: str = "run"
    #: Root folder of the runs (relative paths resolve against the working directory).
    output_root: str = "outputs"
    #: Device: ``auto`` (CUDA when present, else CPU), ``cpu`` or ``cuda`` (resolved by
    #: :func:`reasoning_irl.distributed.resolve_device`).
    device: str = "auto"
    task: TaskConfig = field(default_factory=TaskConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)

    def __post_init__(self) -> None:
        # Every setting is checked here, when the config is built: before any model is loaded or any
        # sample generated (numpy refuses a negative seed only when the bootstrap draws, at the very end).
        if not 0 <= self.seed < 2**32:
            raise ValueError(f"seed={self.seed} must be in [0, 2**32); give a non-negative seed")
        check_finite(self)


@dataclass
class TrainIRLConfig(RunConfig):
    reward: RewardConfig = field(default_factory=RewardConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    algo: AlgoConfig = field(default_factory=AlgoConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    training: IRLTrainingConfig = field(default_factory=IRLTrainingConfig)


@dataclass
class TrainSFTConfig(RunConfig):
    training: SFTTrainingConfig = field(default_factory=SFTTrainingConfig)


@dataclass
class TrainGRPOConfig(RunConfig):
    algo: AlgoConfig = field(default_factory=AlgoConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    training: GRPOTrainingConfig = field(default_factory=GRPOTrainingConfig)


@dataclass
class EvaluateConfig(RunConfig):
    reward: RewardConfig = field(default_factory=RewardConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)


SCHEMAS = {
    "train_irl": TrainIRLConfig,
    "train_sft": TrainSFTConfig,
    "train_grpo": TrainGRPOConfig,
    "evaluate": EvaluateConfig,
}


def register() -> None:
    """Register ``<entry>_schema`` for each entry point (idempotent)."""
    store = ConfigStore.instance()
    for name, schema in SCHEMAS.items():
        store.store(name=f"{name}_schema", node=schema)


register()
