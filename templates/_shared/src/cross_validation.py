"""Cross-validation: out-of-fold predictions and their per-fold metrics, summarised per model."""

from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold

from .features import FeatureSchema, align
from .metrics import METRICS, score


def features_and_target(
    frame: pd.DataFrame, target: str, schema: FeatureSchema
) -> tuple[pd.DataFrame, np.ndarray]:
    """The model's input columns and the 0/1 target as an array."""
    features, _ = align(frame.drop(columns=target), schema)
    return features, frame[target].to_numpy()


def out_of_fold(
    estimator: object,
    features: pd.DataFrame,
    target: np.ndarray,
    folds: StratifiedKFold,
    on_fold: Callable[[], None] = lambda: None,
) -> tuple[np.ndarray, list[dict[str, float]]]:
    """Fit a fresh copy per fold; return every row's prediction from the fold that held it out."""
    probability = np.zeros(len(target))
    fold_scores = []
    for train_rows, validation_rows in folds.split(features, target):
        model = clone(estimator).fit(features.iloc[train_rows], target[train_rows])
        probability[validation_rows] = model.predict_proba(features.iloc[validation_rows])[:, 1]
        fold_scores.append(score(target[validation_rows], probability[validation_rows]))
        on_fold()
    return probability, fold_scores


def summarise_folds(scores: dict[str, list[dict[str, float]]]) -> pd.DataFrame:
    """One row per model: each metric's mean and standard deviation across folds, best first."""
    rows = []
    for name, fold_scores in scores.items():
        frame = pd.DataFrame(fold_scores)
        row: dict[str, object] = {"model": name}
        for metric in METRICS:
            row[f"{metric}_mean"] = float(frame[metric].mean())
            row[f"{metric}_std"] = float(frame[metric].std(ddof=1))
        rows.append(row)
    table = pd.DataFrame(rows).sort_values("auroc_mean", ascending=False)
    return table.set_index("model", drop=False)


def cv_metrics(cv_table: pd.DataFrame) -> dict[str, dict[str, float]]:
    """The summary as plain numbers per model, as the model's metadata keeps them."""
    return {
        str(name): {column: float(row[column]) for column in cv_table.columns[1:]}
        for name, row in cv_table.iterrows()
    }
