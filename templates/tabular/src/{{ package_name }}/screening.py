"""The data check: columns that cannot help (identifiers, constants) or may hurt (leaks)."""

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.tree import DecisionTreeClassifier

from . import ENV_PREFIX
from .config import DataConfig
from .data import ColumnFinding

SETTING = f"{ENV_PREFIX}DATA__"
# Fewer distinct values than this never make an identifier, whatever their share of the rows.
MIN_IDENTIFIER_VALUES = 20
LEAK_FOLDS = 5


def is_whole_or_text(column: pd.Series) -> bool:
    """Text, or numbers that are all whole: the kinds of values an identifier is written in."""
    values = column.dropna()
    if not pd.api.types.is_numeric_dtype(values):
        return True
    return bool((values % 1 == 0).all())


def single_column_auroc(column: pd.Series, target: np.ndarray, seed: int) -> float:
    """Cross-validated AUROC of a small model that sees only this column (either direction)."""
    folds = StratifiedKFold(LEAK_FOLDS, shuffle=True, random_state=seed)
    if pd.api.types.is_numeric_dtype(column):
        values = column.to_numpy(dtype="float64")
        # Missing cells get their own value below the rest: missingness can leak too.
        fill = np.nanmin(values) - 1.0 if np.isfinite(values).any() else 0.0
        inputs = np.nan_to_num(values, nan=fill).reshape(-1, 1)
        # Small enough that only a column with a strong signal of its own scores high.
        tree = DecisionTreeClassifier(max_leaf_nodes=8, min_samples_leaf=5, random_state=seed)
        score = cross_val_predict(tree, inputs, target, cv=folds, method="predict_proba")[:, 1]
    else:
        # Each row scores its category's positive rate among the other folds' rows.
        labels = column.astype(str).where(column.notna(), "(missing)").to_numpy()
        score = np.empty(len(labels))
        for train_rows, test_rows in folds.split(labels, target):
            rates = pd.Series(target[train_rows]).groupby(labels[train_rows]).mean()
            prior = float(target[train_rows].mean())
            score[test_rows] = pd.Series(labels[test_rows]).map(rates).fillna(prior).to_numpy()
    auroc = float(roc_auc_score(target, score))
    return max(auroc, 1.0 - auroc)


def check_column(column: pd.Series, config: DataConfig) -> ColumnFinding | None:
    """An identifier, constant, near-constant or high-cardinality column; None if it is none."""
    name = str(column.name)
    keep = f"keep it with {SETTING}KEEP_COLUMNS='[\"{name}\"]'"
    values = column.dropna()
    distinct = int(values.nunique())
    if distinct <= 1:
        shown = f"'{values.iloc[0]}'" if distinct else "nothing"
        return ColumnFinding(
            column=name,
            kind="constant",
            action="dropped",
            reason=f"holds {shown} in every filled row, so it cannot tell the classes apart",
            setting=keep,
        )
    if (
        distinct >= MIN_IDENTIFIER_VALUES
        and distinct >= config.identifier_share * len(values)
        and is_whole_or_text(column)
    ):
        return ColumnFinding(
            column=name,
            kind="identifier",
            action="dropped",
            reason=(
                f"{distinct} distinct values in {len(values)} rows: it names rows, and a model "
                "that learns names cannot score new ones"
            ),
            setting=f"{keep}, or change {SETTING}IDENTIFIER_SHARE ({config.identifier_share})",
        )
    top_share = float(values.value_counts(normalize=True).iloc[0])
    if top_share >= config.near_constant_share:
        return ColumnFinding(
            column=name,
            kind="near-constant",
            action="dropped",
            reason=f"one value fills {top_share:.1%} of the rows: too few others to learn from",
            setting=(
                f"{keep}, or change {SETTING}NEAR_CONSTANT_SHARE ({config.near_constant_share})"
            ),
        )
    if not pd.api.types.is_numeric_dtype(values) and distinct > config.max_categories:
        return ColumnFinding(
            column=name,
            kind="high cardinality",
            action="flagged",
            reason=(
                f"{distinct} categories: one-hot encoding makes a column for each, most seen in "
                "a handful of rows"
            ),
            setting=(
                f"leave it out with {SETTING}DROP_COLUMNS='[\"{name}\"]', or change "
                f"{SETTING}MAX_CATEGORIES ({config.max_categories})"
            ),
        )
    return None


def screen(frame: pd.DataFrame, target: str, config: DataConfig, seed: int) -> list[ColumnFinding]:
    """Every column to drop or flag, with why; only the rows given (the training rows) are seen."""
    findings = [
        ColumnFinding(
            column=name,
            kind="chosen",
            action="dropped",
            reason="named in the settings",
            setting=f"remove it from {SETTING}DROP_COLUMNS",
        )
        for name in config.drop_columns
        if name in frame.columns and name != target
    ]
    outcome = frame[target].to_numpy()
    for name in frame.columns.drop([target, *config.drop_columns], errors="ignore"):
        finding = check_column(frame[name], config)
        if finding and name in config.keep_columns:
            continue
        if finding is None or finding.action == "flagged":
            auroc = single_column_auroc(frame[name], outcome, seed)
            if auroc >= config.leak_auroc:
                finding = ColumnFinding(
                    column=str(name),
                    kind="likely leak",
                    action="flagged",
                    reason=(
                        f"alone predicts '{target}' with a cross-validated AUROC of {auroc:.3f}: "
                        "check it is known before the outcome, not recorded because of it"
                    ),
                    setting=(
                        f"leave it out with {SETTING}DROP_COLUMNS='[\"{name}\"]', or change "
                        f"{SETTING}LEAK_AUROC ({config.leak_auroc})"
                    ),
                )
        if finding:
            findings.append(finding)
    return findings


def dropped(findings: list[ColumnFinding]) -> list[str]:
    """The columns the findings take out of the features."""
    return [finding.column for finding in findings if finding.action == "dropped"]
