"""Calibration of a sample-level score against correctness: AUROC, ECE, Brier, Platt scaling, reliability data.

Per sample: label = correct (bool), score = a selector's value (higher = more likely correct). The raw
probability is σ(score) with the score clipped at ±80. A discriminator's σ(score) is P(expert), not
P(correct), and depends on the reward clip and aggregation (docs/METHOD.md §10 item 14), so ECE is reported both raw
and after Platt scaling fitted on a validation split (docs/ARCHITECTURE.md (Runs and outputs)).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

LOGIT_CLIP = 80.0  # σ(±80) is 1 − 1.8e-35 / 1.8e-35: finite logs, no overflow in exp
PLATT_L2 = 1e-3  # penalty (λ/2)(a² + b²) added to the summed log-loss: keeps separable data finite


def _as_labels(labels: ArrayLike) -> np.ndarray:
    arr = np.asarray(labels)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"labels must be a non-empty 1-D array, got shape {arr.shape}")
    if arr.dtype != bool:
        if not np.isin(arr, (0, 1)).all():
            raise ValueError(f"labels must be booleans or 0/1, got values {np.unique(arr)[:5].tolist()}")
        arr = arr.astype(bool)
    return arr


def _as_values(values: ArrayLike, n: int, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.shape != (n,):
        raise ValueError(f"{name} has shape {arr.shape} but there are {n} labels; pass one value per label")
    if not np.isfinite(arr).all():
        index = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueError(f"{name}[{index}] = {arr[index]} is not finite; drop or recompute that sample")
    return arr


def _as_probs(labels: ArrayLike, probs: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    y = _as_labels(labels)
    p = _as_values(probs, y.size, "probs")
    if p.min() < 0.0 or p.max() > 1.0:
        raise ValueError(
            f"probs must lie in [0, 1], got range [{p.min()}, {p.max()}]; map scores with score_to_probability"
        )
    return y, p


def sigmoid(logits: ArrayLike) -> np.ndarray:
    """σ(x) = 1 / (1 + e^{−x}) with x clipped to [−80, 80]."""
    x = np.clip(np.asarray(logits, dtype=float), -LOGIT_CLIP, LOGIT_CLIP)
    return 1.0 / (1.0 + np.exp(-x))


def score_to_probability(scores: ArrayLike) -> np.ndarray:
    """Raw probability of a score: σ(clip(score, ±80)). For a discriminator this is P(expert), not P(correct)."""
    return sigmoid(scores)


def auroc(labels: ArrayLike, scores: ArrayLike) -> float:
    """Area under the ROC curve via the Mann–Whitney U statistic with average ranks for ties.

    AUROC = (R₊ − n₊(n₊+1)/2) / (n₊ n₋), R₊ = sum of the (1-based, tie-averaged) ranks of the positives,
    i.e. P(score₊ > score₋) + ½ P(score₊ = score₋). Constant scores give 0.5.
    Returns NaN when only one class is present: AUROC is undefined, and the caller must report it so.
    Example: labels [0, 1, 0, 1], scores [1, 2, 2, 3] → ranks 1, 2.5, 2.5, 4, R₊ = 6.5, AUROC = 3.5/4.
    """
    y = _as_labels(labels)
    s = _as_values(scores, y.size, "scores")
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    _, group, counts = np.unique(s, return_inverse=True, return_counts=True)
    first_rank = np.cumsum(counts) - counts + 1
    mean_rank = first_rank + (counts - 1) / 2.0  # average rank of each tie group
    rank_sum = float(mean_rank[group][y].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def brier(labels: ArrayLike, probs: ArrayLike) -> float:
    """Brier score = mean (p − y)²; 0 is perfect, 0.25 is a constant 0.5 forecast."""
    y, p = _as_probs(labels, probs)
    return float(np.mean((p - y) ** 2))


def reliability_diagram(labels: ArrayLike, probs: ArrayLike, n_bins: int = 10) -> dict[str, Any]:
    """Per-bin data for a reliability diagram over equal-width bins on [0, 1].

    Edges are ``np.linspace(0, 1, n_bins + 1)``; bin b holds p in (edge_b, edge_{b+1}], and the first bin also
    holds p = 0. Returns lists ``lower``, ``upper``, ``count``, ``accuracy`` (mean label) and ``confidence``
    (mean p); accuracy and confidence are NaN for an empty bin.
    """
    y, p = _as_probs(labels, probs)
    if n_bins < 1:
        raise ValueError(f"n_bins={n_bins} must be >= 1")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.clip(np.searchsorted(edges, p, side="left") - 1, 0, n_bins - 1)
    count = np.bincount(bins, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.bincount(bins, weights=y, minlength=n_bins) / count
        confidence = np.bincount(bins, weights=p, minlength=n_bins) / count
    return {
        "lower": edges[:-1].tolist(),
        "upper": edges[1:].tolist(),
        "count": count.tolist(),
        "accuracy": accuracy.tolist(),
        "confidence": confidence.tolist(),
    }


def ece(labels: ArrayLike, probs: ArrayLike, n_bins: int = 10) -> float:
    """Expected calibration error ECE = Σ_b (n_b/n) |acc_b − conf_b| over the bins of ``reliability_diagram``.

    Example: p = [0.25, 0.25, 0.75, 0.75], y = [0, 1, 1, 1] → bins (0.2,0.3]: acc 0.5 vs conf 0.25,
    (0.7,0.8]: acc 1 vs conf 0.75 → ECE = ½·0.25 + ½·0.25 = 0.25.
    """
    bins = reliability_diagram(labels, probs, n_bins)
    count = np.asarray(bins["count"], dtype=float)
    full = count > 0
    gap = np.abs(np.asarray(bins["accuracy"])[full] - np.asarray(bins["confidence"])[full])
    return float(np.sum(count[full] / count.sum() * gap))


def fit_platt(scores: ArrayLike, labels: ArrayLike, l2: float = PLATT_L2) -> tuple[float, float]:
    """Fit P(correct | s) = σ(a·s + b) by Newton's method (IRLS) on the L2-penalised log-loss.

    Minimises Σ_i [−y_i log σ(a s_i + b) − (1−y_i) log(1 − σ(a s_i + b))] + (l2/2)(a² + b²), starting from
    (0, 0) with step halving; strictly convex, so the result is unique and deterministic. The tiny penalty
    (default 1e-3, on the summed loss) only matters for (near-)separable data, where it keeps (a, b) finite.
    Fit on a validation split, apply with ``apply_platt`` on the test split. Both classes must be present.
    """
    y = _as_labels(labels).astype(float)
    s = _as_values(scores, y.size, "scores")
    if y.min() == y.max():
        raise ValueError(
            f"Platt scaling needs both correct and wrong samples; all {y.size} labels are {y[0]:.0f}"
        )
    x = np.stack([s, np.ones_like(s)], axis=1)  # (n, 2)

    def loss(theta: np.ndarray) -> float:
        z = np.clip(x @ theta, -LOGIT_CLIP, LOGIT_CLIP)
        return float(np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * l2 * theta @ theta)

    theta = np.zeros(2)
    current = loss(theta)
    for _ in range(100):
        p = sigmoid(x @ theta)
        grad = x.T @ (p - y) + l2 * theta
        hess = (x * (p * (1 - p))[:, None]).T @ x + l2 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        scale = 1.0
        while scale > 1e-10 and loss(theta - scale * step) > current:
            scale /= 2
        theta = theta - scale * step
        previous, current = current, loss(theta)
        if np.abs(scale * step).max() < 1e-10 or previous - current < 1e-14 * max(1.0, abs(current)):
            break
    return float(theta[0]), float(theta[1])


def apply_platt(scores: ArrayLike, a: float, b: float) -> np.ndarray:
    """Platt-scaled probability σ(a·s + b), logit clipped at ±80."""
    return sigmoid(a * np.asarray(scores, dtype=float) + b)
