"""Primary configs of the four entry points, registered in Hydra's ConfigStore.

``configs/<entry>.yaml`` lists ``<entry>_schema`` first in its defaults, so every group option and
command-line override is merged onto these dataclasses: an unknown or misspelt key is an error that
names it, and a value of the wrong type is refused. A field of a shared section that an entry does not
read is listed in its ``UNREAD`` and refused when set to anything but its default, so no key is accepted
and then ignored (``tests/cluster/test_keys_consumed.py`` checks both lists against what the code reads).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

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

    #: The entry point's script name, for messages.
    ENTRY: ClassVar[str] = "run"
    #: Fields of shared sections this entry does not read → why; refused unless left at their default.
    UNREAD: ClassVar[dict[str, str]] = {}

    def __post_init__(self) -> None:
        # Every setting is checked here, when the config is built: before any model is loaded or any
        # sample generated (numpy refuses a negative seed only when the bootstrap draws, at the very end).
        if not 0 <= self.seed < 2**32:
            raise ValueError(f"seed={self.seed} must be in [0, 2**32); give a non-negative seed")
        check_finite(self)
        refuse_unread(self)


def refuse_unread(config: RunConfig) -> None:
    """Refuse a field of ``config.UNREAD`` set to anything but its default, naming the key and why."""
    for key, why in config.UNREAD.items():
        section_name, name = key.split(".")
        section = getattr(config, section_name)
        value: Any = getattr(section, name)
        if value != getattr(type(section)(), name):
            raise ValueError(f"{key}={value!r} is not read by {config.ENTRY}.py ({why}); remove it")


@dataclass
class TrainRunConfig(RunConfig):
    logging: LoggingConfig = field(default_factory=LoggingConfig)


@dataclass
class TrainIRLConfig(TrainRunConfig):
    reward: RewardConfig = field(default_factory=RewardConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    algo: AlgoConfig = field(default_factory=AlgoConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    training: IRLTrainingConfig = field(default_factory=IRLTrainingConfig)

    ENTRY: ClassVar[str] = "train_irl"
    UNREAD: ClassVar[dict[str, str]] = {
        "sampling.n_samples": "samples per test problem: an evaluate.py setting",
    }


@dataclass
class TrainSFTConfig(TrainRunConfig):
    training: SFTTrainingConfig = field(default_factory=SFTTrainingConfig)

    ENTRY: ClassVar[str] = "train_sft"
    UNREAD: ClassVar[dict[str, str]] = {
        "model.reward": "the reward model's backbone: SFT trains no reward model",
    }


@dataclass
class TrainGRPOConfig(TrainRunConfig):
    algo: AlgoConfig = field(default_factory=AlgoConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    training: GRPOTrainingConfig = field(default_factory=GRPOTrainingConfig)

    ENTRY: ClassVar[str] = "train_grpo"
    UNREAD: ClassVar[dict[str, str]] = {
        "model.reward": "the reward model's backbone: the GRPO baseline's rewards are verifiable",
        "algo.gamma": "read only by algo.advantage=discounted, which GRPO does not have",
        "algo.use_outcome_rewards": "GRPO's rewards are training.reward_functions, correctness among them",
        "algo.outcome_weight": "GRPO's rewards are training.reward_functions, each weight 1",
        "sampling.n_samples": "samples per test problem: an evaluate.py setting",
    }


@dataclass
class EvaluateConfig(RunConfig):
    reward: RewardConfig = field(default_factory=RewardConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    ENTRY: ClassVar[str] = "evaluate"
    UNREAD: ClassVar[dict[str, str]] = {
        "sampling.num_generations": "completions per training prompt; evaluation draws sampling.n_samples",
    }


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
