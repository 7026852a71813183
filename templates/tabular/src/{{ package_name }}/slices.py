"""Error analysis: the slices of held-out rows the model gets most wrong, and its worst mistakes."""

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from .features import FeatureSchema

MISSING = "(missing)"


def slice_labels(column: pd.Series, numeric: bool) -> pd.Series:
    """Each row's slice: its category, or its quartile for numbers; empty cells form their own."""
    values = pd.qcut(column, 4, duplicates="drop").astype(str) if numeric else column.astype(str)
    return pd.Series(np.where(column.isna(), MISSING, values), index=column.index)


def slice_table(
    features: pd.DataFrame,
    target: np.ndarray,
    probability: np.ndarray,
    predicted: np.ndarray,
    schema: FeatureSchema,
) -> pd.DataFrame:
    """Error rate and AUROC of every category and every numeric quartile, with support counts."""
    rows = []
    for feature in schema.features:
        labels = slice_labels(features[feature.name], feature.kind == "numeric")
        for value in labels.unique():
            rows_in = (labels == value).to_numpy()
            y, p = target[rows_in], probability[rows_in]
            rows.append(
                {
                    "column": feature.name,
                    "slice": str(value),
                    "support": int(rows_in.sum()),
                    "positives": int(y.sum()),
                    "error_rate": float(np.mean(predicted[rows_in] != y)),
                    # AUROC needs both classes in the slice.
                    "auroc": float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else float("nan"),
                }
            )
    return pd.DataFrame(rows)


def worst_slices(table: pd.DataFrame, min_support: int, count: int) -> pd.DataFrame:
    """The slices with the highest error rate among those large enough to trust."""
    large = table[table["support"] >= min_support]
    return large.sort_values(["error_rate", "support"], ascending=[False, False]).head(count)


def confident_mistakes(
    rows: pd.DataFrame,
    target: np.ndarray,
    probability: np.ndarray,
    predicted: np.ndarray,
    count: int,
) -> pd.DataFrame:
    """The wrongly predicted rows the model was surest about."""
    confidence = np.where(predicted == 1, probability, 1.0 - probability)
    table = rows.assign(probability=probability, prediction=predicted, confidence=confidence)
    wrong = table[predicted != target].sort_values("confidence", ascending=False)
    mistakes: pd.DataFrame = wrong.head(count).drop(columns="confidence")
    return mistakes
