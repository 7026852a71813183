"""95% bootstrap confidence intervals for held-out metrics: a few hundred rows leave real doubt."""

import numpy as np
import pandas as pd

# Clipped like scikit-learn's log loss, so a probability of 0 or 1 costs a large finite amount.
EPSILON = float(np.finfo(np.float64).eps)


def auroc(y: np.ndarray, p: np.ndarray) -> float:
    """AUROC as the Mann-Whitney statistic: ties count half, as in roc_auc_score."""
    positives = int(y.sum())
    negatives = len(y) - positives
    ranks = pd.Series(p).rank().to_numpy()
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def average_precision(y: np.ndarray, p: np.ndarray) -> float:
    """Precision at each distinct threshold, weighted by the recall it adds (as scikit-learn)."""
    order = np.argsort(-p, kind="mergesort")
    ranked, hits = p[order], y[order]
    last_of_each_score = np.r_[np.flatnonzero(np.diff(ranked)), len(ranked) - 1]
    true_positives = np.cumsum(hits)[last_of_each_score]
    precision = true_positives / (last_of_each_score + 1)
    recall = true_positives / true_positives[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def fast_score(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, float]:
    """The metrics of `metrics.score`, in plain NumPy: thousands of resamples take a second."""
    predicted = p >= threshold
    true_positives = float(np.sum(predicted & (y == 1)))
    f1_denominator = float(predicted.sum() + y.sum())
    clipped = np.clip(p, EPSILON, 1.0 - EPSILON)
    return {
        "auroc": auroc(y, p),
        "auprc": average_precision(y, p),
        "f1": 2 * true_positives / f1_denominator if f1_denominator else 0.0,
        "brier": float(np.mean((p - y) ** 2)),
        "log_loss": float(-np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))),
        "accuracy": float(np.mean(predicted == (y == 1))),
    }


def intervals(
    y: np.ndarray, p: np.ndarray, threshold: float, resamples: int, seed: int
) -> dict[str, tuple[float, float]]:
    """Percentile intervals (2.5% to 97.5%) over resamples of the rows, drawn with replacement."""
    rng = np.random.default_rng(seed)
    scores: dict[str, list[float]] = {}
    for _ in range(resamples):
        rows = rng.integers(0, len(y), len(y))
        # A resample with one class has no AUROC: draw another.
        if 0 < y[rows].sum() < len(rows):
            for name, value in fast_score(y[rows], p[rows], threshold).items():
                scores.setdefault(name, []).append(value)
    return {
        name: (float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5)))
        for name, values in scores.items()
    }
