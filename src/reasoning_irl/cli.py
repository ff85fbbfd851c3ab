"""What the thin entry scripts share: turning a composed Hydra config into its typed schema, and
reporting an error as the project's one line instead of Hydra's "Error executing job" and a traceback.

The project raises ``ValueError`` / ``OSError`` (and its own classes: ``DataFileError``, ``SpecError``,
``ModelLoadError``, …) whose message names the value and what to do. :func:`report_errors` (Hydra task
functions) and :func:`guarded` (the plot CLIs) print that message alone as ``error: …`` and exit 1; any
other exception is printed with its type. ``REASONING_IRL_DEBUG=1`` (or Hydra's ``HYDRA_FULL_ERROR=1``)
lets the exception through, traceback included.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

T = TypeVar("T")


def eval_log_dir(output_dir: str | None, default: str) -> str:
    """Hydra's folder of an evaluation: ``<eval.output_dir>/.hydra_eval`` when set, beside what it describes."""
    from reasoning_irl.io import HYDRA_LOG_DIR

    return f"{output_dir}/{HYDRA_LOG_DIR}" if output_dir else default


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



DEBUG_ENV = "REASONING_IRL_DEBUG"


def debug_mode() -> bool:
    """Whether errors should keep their traceback (``REASONING_IRL_DEBUG=1`` or ``HYDRA_FULL_ERROR=1``)."""
    return os.environ.get(DEBUG_ENV, "") not in ("", "0") or os.environ.get("HYDRA_FULL_ERROR", "") not in ("", "0")


def error_line(err: BaseException) -> str:
    """The one line printed for ``err``: the project's message alone, or the type of an unexpected error."""
    text = str(err).strip() or type(err).__name__
    if isinstance(err, (ValueError, OSError)) or type(err).__module__.startswith("reasoning_irl"):
        return f"error: {text}"
    return f"error: {type(err).__name__}: {text} (unexpected; {DEBUG_ENV}=1 shows the traceback)"


def report_errors(task: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a Hydra task function (under ``@hydra.main``) so that its errors end the run as one line."""

    @functools.wraps(task)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return task(*args, **kwargs)
        except Exception as err:
            if debug_mode():
                os.environ.setdefault("HYDRA_FULL_ERROR", "1")  # Hydra then shows the whole traceback
                raise
            raise SystemExit(error_line(err)) from None  # not an Exception: Hydra lets it through untouched

    return wrapper


def guarded(run: Callable[[], int], *, debug: bool = False) -> int:
    """Run a plain CLI's body; an error is printed as one line on stderr and gives exit status 1."""
    try:
        return run()
    except Exception as err:
        if debug or debug_mode():
            raise
        print(error_line(err), file=sys.stderr)
        return 1
