"""Group fairness: how the model's decisions and errors differ across a sensitive attribute."""

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

GAP_METRICS = ("selection_rate", "tpr", "fpr", "auroc")


def _rate(events: np.ndarray) -> float:
    return float(events.mean()) if len(events) else float("nan")


def group_table(
    groups: pd.Series, target: np.ndarray, probability: np.ndarray, predicted: np.ndarray
) -> pd.DataFrame:
    """Per group: support, selection rate, true and false positive rates, and AUROC."""
    labels = groups.astype(str).where(groups.notna(), "(missing)").to_numpy()
    rows = []
    for group in sorted(set(labels)):
        rows_in = labels == group
        y, p, decided = target[rows_in], probability[rows_in], predicted[rows_in]
        rows.append(
            {
                "group": group,
                "support": int(rows_in.sum()),
                "selection_rate": _rate(decided),
                "tpr": _rate(decided[y == 1]),
                "fpr": _rate(decided[y == 0]),
                "auroc": float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def gaps(table: pd.DataFrame) -> dict[str, float]:
    """The largest difference between any two groups, per metric."""
    return {metric: float(table[metric].max() - table[metric].min()) for metric in GAP_METRICS}
