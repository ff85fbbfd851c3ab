"""Bootstrap confidence intervals over problems (percentile method).

Problems are the unit of resampling: samples of one problem are correlated, so a metric pooled over samples
(e.g. AUROC) is resampled by drawing problems with replacement and pooling their samples, through
``bootstrap_ci_indices``. Both functions draw the same index matrix for a given seed, so
``bootstrap_ci(v)`` equals ``bootstrap_ci_indices(len(v), lambda idx: np.mean(v[idx]))``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike


def bootstrap_ci_indices(
    n_problems: int,
    statistic: Callable[[np.ndarray], float],
    n_resamples: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Percentile bootstrap interval of ``statistic(problem_indices)`` over resampled problems.

    Resample b draws ``n_problems`` indices uniformly with replacement (``np.random.default_rng(seed)``, one
    row of n_problems at a time — the same numbers as one (n_resamples, n_problems) matrix, without holding
    it: 8 KB per problem at 1000 resamples), evaluates statistic on them, and the interval is the
    [alpha/2, 1 − alpha/2] percentiles of the finite values. "mean" is the statistic on all problems
    (``np.arange(n_problems)``), the point estimate. Resamples where the statistic is NaN (e.g. AUROC of a
    resample with one class) are left out and counted in "n_undefined".
    Example, pooled AUROC: ``bootstrap_ci_indices(P, lambda idx: auroc(np.concatenate([labels[i] for i in
    idx]), np.concatenate([scores[i] for i in idx])))``.
    Returns {"mean", "low", "high", "n_resamples", "seed", "alpha", "n_undefined"}.
    """
    if n_problems < 1:
        raise ValueError(f"n_problems={n_problems}: need at least one problem to bootstrap")
    if n_resamples < 1:
        raise ValueError(f"n_resamples={n_resamples} must be >= 1")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha={alpha} must lie in (0, 1), e.g. 0.05 for a 95% interval")
    rng = np.random.default_rng(seed)
    values = np.array([float(statistic(rng.integers(0, n_problems, size=n_problems))) for _ in range(n_resamples)])
    finite = values[np.isfinite(values)]
    if finite.size:
        low, high = np.percentile(finite, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    else:
        low = high = float("nan")
    return {
        "mean": float(statistic(np.arange(n_problems))),
        "low": float(low),
        "high": float(high),
        "n_resamples": n_resamples,
        "seed": seed,
        "alpha": alpha,
        "n_undefined": int(values.size - finite.size),
    }


def bootstrap_ci(
    per_problem_values: ArrayLike,
    stat: Callable[[np.ndarray], float] = np.mean,
    n_resamples: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Percentile bootstrap interval of ``stat`` over per-problem values (e.g. pass@k of each problem).

    The values must be finite: drop problems where a metric is undefined before calling. See
    ``bootstrap_ci_indices`` for the returned dict ("mean" is stat of all values).
    """
    values = np.asarray(per_problem_values, dtype=float)
    if values.ndim != 1:
        raise ValueError(f"per_problem_values must be 1-D (one value per problem), got shape {values.shape}")
    if not np.isfinite(values).all():
        index = int(np.flatnonzero(~np.isfinite(values))[0])
        raise ValueError(f"per-problem value {index} is {values[index]}; drop undefined problems first")
    return bootstrap_ci_indices(values.size, lambda idx: stat(values[idx]), n_resamples, seed, alpha)
