"""The model basket: every candidate is the same preprocessing followed by one classifier."""

import importlib
from typing import Any, get_args

import numpy as np
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from .config import ModelName, TrainConfig
from .errors import PipelineError
from .features import FeatureSchema, build_preprocessor


def build_classifier(name: ModelName, config: TrainConfig, positive_share: float, seed: int) -> Any:
    """One unfitted classifier; the imbalanced class gets more weight wherever the model allows."""
    if name == "dummy":
        # Predicts the class prior for every row: the score any real model has to beat.
        return DummyClassifier(strategy="prior")
    if name == "logistic_regression":
        return LogisticRegression(max_iter=1000, class_weight="balanced")
    if name == "random_forest":
        return RandomForestClassifier(
            n_estimators=config.n_estimators,
            min_samples_leaf=3,
            class_weight="balanced",
            n_jobs=-1,
            random_state=seed,
        )
    if name == "hist_gradient_boosting":
        return HistGradientBoostingClassifier(
            max_iter=config.n_estimators,
            learning_rate=0.05,
            max_leaf_nodes=15,
            # Stops adding trees once an internal validation split stops improving: on a few
            # hundred rows that is long before max_iter, and training takes a fraction of the time.
            early_stopping=True,
            class_weight="balanced",
            random_state=seed,
        )
    if name == "xgboost":
        xgboost = _import_optional("xgboost")
        return xgboost.XGBClassifier(
            n_estimators=config.n_estimators,
            learning_rate=0.05,
            max_depth=3,
            # XGBoost has no class_weight; this is its equivalent for a binary target.
            scale_pos_weight=(1.0 - positive_share) / positive_share,
            # One thread: on a few hundred rows, thread start-up costs more than it saves.
            n_jobs=1,
            random_state=seed,
        )
    if name == "lightgbm":
        lightgbm = _import_optional("lightgbm")
        return lightgbm.LGBMClassifier(
            n_estimators=config.n_estimators,
            learning_rate=0.05,
            num_leaves=15,
            class_weight="balanced",
            n_jobs=1,
            random_state=seed,
            verbose=-1,
        )
    raise PipelineError(f"Unknown model '{name}': choose one of {', '.join(get_args(ModelName))}.")


def build_pipeline(
    name: ModelName, schema: FeatureSchema, config: TrainConfig, positive_share: float, seed: int
) -> Pipeline:
    """Preprocessing and classifier in one estimator, so cross-validation refits both per fold."""
    classifier = build_classifier(name, config, positive_share, seed)
    return Pipeline([("preprocess", build_preprocessor(schema)), ("classifier", classifier)])


def build_basket(
    schema: FeatureSchema, config: TrainConfig, target: np.ndarray, seed: int
) -> dict[str, Pipeline]:
    """Every model named in the configuration, ready to cross-validate."""
    positive_share = float(np.mean(target))
    return {
        name: build_pipeline(name, schema, config, positive_share, seed) for name in config.models
    }


def _import_optional(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise PipelineError(
            f"The '{module}' model needs the {module} package: install it (`uv add {module}`) "
            "or remove it from the TRAIN__MODELS setting."
        ) from error
