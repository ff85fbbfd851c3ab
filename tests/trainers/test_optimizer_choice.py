"""``training.optimizer``: torch AdamW by default; bitsandbytes' 8-bit AdamW (plain, paged) import-guarded.

bitsandbytes needs CUDA and is not installed here: without it the 8-bit choices fail with one clear
line; with a stand-in module the right class gets the configured hyper-parameters, and TRL's
``optim`` follows the key.
"""

from __future__ import annotations

import importlib.util
import sys
import types

import pytest
import torch

from reasoning_irl.config.training import GRPOTrainingConfig, IRLTrainingConfig, SFTTrainingConfig
from reasoning_irl.rl.policy_update import make_optimizer

PARAMS = [torch.nn.Parameter(torch.zeros(3))]


def test_unknown_optimizer_is_refused():
    for schema in (IRLTrainingConfig, SFTTrainingConfig, GRPOTrainingConfig):
        with pytest.raises(ValueError, match="training.optimizer='sgd'"):
            schema(optimizer="sgd")


def test_default_is_torch_adamw_with_the_configured_values():
    optimizer = make_optimizer(PARAMS, IRLTrainingConfig(learning_rate=2e-5, weight_decay=0.1))
    assert type(optimizer) is torch.optim.AdamW
    group = optimizer.param_groups[0]
    assert group["lr"] == 2e-5 and group["betas"] == (0.9, 0.99) and group["weight_decay"] == 0.1


@pytest.mark.skipif(importlib.util.find_spec("bitsandbytes") is not None, reason="bitsandbytes is installed")
@pytest.mark.parametrize("name", ["adamw_8bit", "paged_adamw_8bit"])
def test_8bit_without_bitsandbytes_is_a_clear_error(name, tmp_path):
    from reasoning_irl.config.schema import TrainSFTConfig
    from reasoning_irl.trainers.trl_run import trainer_arguments

    with pytest.raises(ValueError, match=f"training.optimizer={name} needs the 'bitsandbytes' package"):
        make_optimizer(PARAMS, IRLTrainingConfig(optimizer=name))
    cfg = TrainSFTConfig()
    cfg.training.optimizer = name
    with pytest.raises(ValueError, match="bitsandbytes"):
        trainer_arguments(cfg, tmp_path)


@pytest.mark.parametrize(("name", "cls", "trl"), [("adamw_8bit", "AdamW8bit", "adamw_bnb_8bit"),
                                                  ("paged_adamw_8bit", "PagedAdamW8bit", "paged_adamw_8bit")])
def test_8bit_uses_bitsandbytes(name, cls, trl, monkeypatch, tmp_path):
    from reasoning_irl.config.schema import TrainSFTConfig
    from reasoning_irl.trainers.trl_run import trainer_arguments

    made = {}

    class Stand(torch.optim.AdamW):
        def __init__(self, params, **kwargs):
            made[cls] = kwargs
            super().__init__(params, **kwargs)

    module = types.ModuleType("bitsandbytes")
    module.optim = types.SimpleNamespace(**{cls: Stand})
    monkeypatch.setitem(sys.modules, "bitsandbytes", module)
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: object() if n == "bitsandbytes" else None)
    optimizer = make_optimizer(PARAMS, IRLTrainingConfig(optimizer=name, learning_rate=1e-6))
    assert isinstance(optimizer, Stand) and made[cls]["lr"] == 1e-6 and made[cls]["betas"] == (0.9, 0.99)
    cfg = TrainSFTConfig()
    cfg.training.optimizer = name
    assert trainer_arguments(cfg, tmp_path)["optim"] == trl
    cfg.training.optimizer = "adamw"
    assert trainer_arguments(cfg, tmp_path)["optim"] == "adamw_torch_fused"
