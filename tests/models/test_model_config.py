"""ModelConfig: validation, the configs/model/*.yaml files, and every field read by the code."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

import reasoning_irl
from reasoning_irl.config.model import ModelConfig

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"
EXPECTED = {
    "tiny": ("tiny", None),
    "qwen2.5-0.5b": ("Qwen/Qwen2.5-0.5B-Instruct", 32),
    "qwen2.5-3b": ("Qwen/Qwen2.5-3B-Instruct", 256),
    "qwen2.5-7b": ("Qwen/Qwen2.5-7B-Instruct", 256),
    "llama3.2-1b": ("meta-llama/Llama-3.2-1B-Instruct", 32),
    "llama3.2-3b": ("meta-llama/Llama-3.2-3B-Instruct", 256),
    "llama3.1-8b": ("meta-llama/Llama-3.1-8B-Instruct", 256),
    "qwen3-4b": ("Qwen/Qwen3-4B-Instruct-2507", 256),
}


@pytest.mark.parametrize(
    "overrides, key",
    [({"tiny_arch": "gpt2"}, "tiny_arch"), ({"dtype": "float16"}, "dtype"), ({"lora_rank": -1}, "lora_rank"),
     ({"tiny_num_heads": 3}, "tiny_num_heads"), ({"max_prompt_length": 0}, "max_prompt_length"),
     ({"lora_dropout": 1.0}, "lora_dropout"), ({"policy": ""}, "policy")],
)
def test_invalid_values_name_the_key(overrides, key):
    with pytest.raises(ValueError, match=rf"model\.{key}"):
        ModelConfig(**overrides)


def test_model_configs_compose_into_the_schema(tmp_path):
    from hydra import compose, initialize_config_dir
    from hydra.core.config_store import ConfigStore
    from omegaconf import OmegaConf

    @dataclasses.dataclass
    class Root:
        model: ModelConfig = dataclasses.field(default_factory=ModelConfig)

    ConfigStore.instance().store(name="models_test_schema", node=Root)
    (tmp_path / "model").symlink_to(CONFIG_DIR / "model")
    (tmp_path / "root.yaml").write_text("defaults:\n  - models_test_schema\n  - model: tiny\n  - _self_\n")
    assert {p.stem for p in (CONFIG_DIR / "model").glob("*.yaml")} == set(EXPECTED)
    with initialize_config_dir(str(tmp_path), version_base="1.3"):
        for name, (policy, rank) in EXPECTED.items():
            cfg = OmegaConf.to_object(compose("root", overrides=[f"model={name}"]).model)
            assert (cfg.policy, cfg.lora_rank, cfg.reward) == (policy, rank, "from_policy"), name
            assert cfg.dtype == ("float32" if name == "tiny" else "bfloat16")
            assert not (cfg.unsloth or cfg.load_in_4bit or cfg.trust_remote_code or cfg.allow_pickle)
        with pytest.raises(Exception, match="lora_rnk"):
            compose("root", overrides=["model=qwen2.5-3b", "model.lora_rnk=8"])


def test_every_field_is_read_by_the_code():
    package = Path(reasoning_irl.__file__).parent
    source = "".join(p.read_text() for p in [*(package / "models").glob("*.py"), package / "config" / "model.py"])
    unread = [f.name for f in dataclasses.fields(ModelConfig) if not re.search(rf"\b(cfg|self)\.{f.name}\b", source)]
    assert unread == []
