"""What the thin entry scripts share: turning a composed Hydra config into its typed schema."""

from __future__ import annotations

from typing import TypeVar

from omegaconf import DictConfig, OmegaConf

T = TypeVar("T")


def to_schema(cfg: DictConfig, schema: type[T]) -> T:
    """The composed config as a schema dataclass instance (interpolations resolved).

    Hydra already validated keys and types against the schema at composition time; merging again here
    also catches configs built in code (tests, notebooks) that skipped Hydra.
    """
    merged = OmegaConf.merge(OmegaConf.structured(schema), cfg)
    return OmegaConf.to_object(merged)  # type: ignore[return-value]


def not_implemented(entry: str, issue: str) -> None:
    """Say clearly that an entry point has no body yet, instead of pretending to run."""
    raise SystemExit(f"{entry}: not implemented yet ({issue}); `python {entry} --cfg job` prints the composed config")
