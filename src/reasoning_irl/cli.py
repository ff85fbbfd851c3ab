"""What the thin entry scripts share: turning a composed Hydra config into its typed schema."""

from __future__ import annotations

from typing import TypeVar

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

T = TypeVar("T")


def eval_log_dir(output_dir: str | None, default: str) -> str:
    """Hydra's folder of an evaluation: ``<eval.output_dir>/.hydra_eval`` when set, beside what it describes."""
    return f"{output_dir}/.hydra_eval" if output_dir else default


if not OmegaConf.has_resolver("eval_log_dir"):  # configs/evaluate.yaml: hydra.run.dir
    OmegaConf.register_new_resolver("eval_log_dir", eval_log_dir)


def to_schema(cfg: DictConfig, schema: type[T]) -> T:
    """The composed config as a schema dataclass instance (interpolations resolved).

    Hydra already validated keys and types against the schema at composition time; merging again here
    also catches configs built in code (tests, notebooks) that skipped Hydra.
    """
    # As plain data first: a node composed by Hydra keeps keys force-added with `+key=value`, and
    # merging plain data onto the schema refuses them by name.
    data = OmegaConf.to_container(cfg, resolve=True)
    data.pop("hydra", None)
    try:
        merged = OmegaConf.merge(OmegaConf.structured(schema), data)
        return OmegaConf.to_object(merged)  # type: ignore[return-value]
    except OmegaConfBaseException as err:
        where = f" (key: {err.full_key})" if getattr(err, "full_key", None) else ""
        reason = str(err).splitlines()[0]
        raise SystemExit(f"config error{where}: {reason}; `--cfg job` prints the valid keys") from None

