"""The baseline for the training benchmark: the tabular project's CV, in plain scikit-learn.

Run inside a rendered tabular project with its environment's Python. It does the same work as
`<project> train` on the same data (same split, preprocessing, model basket, 5-fold CV metrics,
calibration of the best model with out-of-fold threshold, final fit) and nothing else: no
validation, progress bars, reports, model files or MLflow. It applies the bundled data's
missing-value rules (a zero chol or trestbps is missing) as `data` does, since the model
trains longer on those rows. `nox -s bench` reports the ratio.
"""

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    f1_score,
    log_loss,
    precision_recall_curve,
    roc_auc_score,
)
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

SEED, TARGET = 42, "heart_disease"


def scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    label = (p >= 0.5).astype(int)
    return {
        "auroc": roc_auc_score(y, p),
        "auprc": average_precision_score(y, p),
        "f1": f1_score(y, label, zero_division=0.0),
        "brier": brier_score_loss(y, p),
        "log_loss": log_loss(y, p, labels=[0, 1]),
        "accuracy": accuracy_score(y, label),
    }


def out_of_fold(model: object, x: pd.DataFrame, y: np.ndarray, folds: StratifiedKFold) -> tuple:
    p, per_fold = np.zeros(len(y)), []
    for train, valid in folds.split(x, y):
        fitted = clone(model).fit(x.iloc[train], y[train])
        p[valid] = fitted.predict_proba(x.iloc[valid])[:, 1]
        per_fold.append(scores(y[valid], p[valid]))
    return p, per_fold


def main() -> None:
    csv = next(Path("src").glob("*/sample_data/heart_disease.csv"))
    frame = pd.read_csv(csv)
    # The project's missing-value rules for the bundled data: a zero chol or trestbps is missing.
    frame[["chol", "trestbps"]] = frame[["chol", "trestbps"]].replace(0, np.nan)
    train, _ = train_test_split(frame, test_size=0.2, stratify=frame[TARGET], random_state=SEED)
    x, y = train.drop(columns=TARGET), train[TARGET].to_numpy()
    numeric = [c for c in x.columns if pd.api.types.is_numeric_dtype(x[c])]
    categorical = [c for c in x.columns if c not in numeric]
    x[categorical] = x[categorical].astype(str).where(x[categorical].notna())
    preprocess = ColumnTransformer(
        [
            (
                "num",
                Pipeline([("i", SimpleImputer(strategy="median")), ("s", StandardScaler())]),
                numeric,
            ),
            (
                "cat",
                Pipeline(
                    [
                        ("i", SimpleImputer(strategy="most_frequent")),
                        ("o", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
                    ]
                ),
                categorical,
            ),
        ]
    )
    basket = {
        "dummy": DummyClassifier(strategy="prior"),
        "logistic_regression": LogisticRegression(max_iter=1000, class_weight="balanced"),
        "random_forest": RandomForestClassifier(
            n_estimators=200,
            min_samples_leaf=3,
            class_weight="balanced",
            n_jobs=-1,
            random_state=SEED,
        ),
        "hist_gradient_boosting": HistGradientBoostingClassifier(
            max_iter=200,
            learning_rate=0.05,
            max_leaf_nodes=15,
            early_stopping=True,
            class_weight="balanced",
            random_state=SEED,
        ),
    }
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=SEED)
    results = {}
    for name, classifier in basket.items():
        pipeline = Pipeline([("preprocess", clone(preprocess)), ("classifier", classifier)])
        _, per_fold = out_of_fold(pipeline, x, y, folds)
        results[name] = (pipeline, pd.DataFrame(per_fold).agg(["mean", "std"]))
    best = max(results, key=lambda name: results[name][1].loc["mean", "auroc"])
    calibrated = CalibratedClassifierCV(
        results[best][0],
        method="sigmoid",
        cv=StratifiedKFold(3, shuffle=True, random_state=SEED),
        ensemble=False,
    )
    p, _ = out_of_fold(calibrated, x, y, folds)
    precision, recall, thresholds = precision_recall_curve(y, p)
    f1 = 2 * precision[:-1] * recall[:-1] / np.maximum(precision[:-1] + recall[:-1], 1e-12)
    threshold = thresholds[int(np.argmax(f1))]
    calibrated.fit(x, y)
    print(
        f"best={best} auroc={results[best][1].loc['mean', 'auroc']:.3f} threshold={threshold:.3f}"
    )


if __name__ == "__main__":
    main()
