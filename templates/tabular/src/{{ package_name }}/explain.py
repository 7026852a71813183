"""Which inputs drive the predictions: permutation importance, and SHAP when enabled."""

import importlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance

from . import ENV_PREFIX, plotting
from .errors import UserError

# SHAP values of a two-column probability: rows x features x classes.
PER_CLASS_NDIM = 3

SHAP_ROWS = 200


def permutation_table(
    model: Any, features: pd.DataFrame, target: np.ndarray, repeats: int, seed: int
) -> pd.DataFrame:
    """AUROC lost when each input column is shuffled, on held-out rows, largest first."""
    result = permutation_importance(
        model, features, target, scoring="roc_auc", n_repeats=repeats, random_state=seed
    )
    table = pd.DataFrame(
        {
            "feature": features.columns.astype(str),
            "importance_mean": result.importances_mean,
            "importance_std": result.importances_std,
        }
    )
    return table.sort_values("importance_mean", ascending=False, ignore_index=True)


def shap_summary(model: Any, features: pd.DataFrame, path: Path, seed: int) -> Path:
    """A SHAP beeswarm plot of the model underneath the calibration.

    Calibration maps scores through a monotone function, so the uncalibrated model ranks feature
    effects the same way and lets SHAP use its fast tree and linear explainers.
    """
    try:
        shap = importlib.import_module("shap")
        pyplot = importlib.import_module("matplotlib.pyplot")
    except ImportError as error:
        raise UserError(
            "SHAP plots need the shap package: install it (`uv add shap`) or turn them off with "
            f"the {ENV_PREFIX}EVALUATE__SHAP=false setting."
        ) from error
    pipeline = model.calibrated_classifiers_[0].estimator
    preprocess, classifier = pipeline[:-1], pipeline[-1]
    rows = features.sample(min(SHAP_ROWS, len(features)), random_state=seed)
    transformed = pd.DataFrame(
        preprocess.transform(rows), columns=preprocess.get_feature_names_out()
    )
    explainer = shap.Explainer(classifier, transformed)
    # Forests sum their trees in float32, which can miss SHAP's exact additivity check by
    # rounding alone.
    exact = {"check_additivity": False} if isinstance(explainer, shap.TreeExplainer) else {}
    explanation = explainer(transformed, **exact)
    # `.values` here is a shap Explanation's array, not a pandas one.
    if explanation.values.ndim == PER_CLASS_NDIM:  # noqa: PD011
        # Explainers of two-column probabilities return both classes; keep the positive one.
        explanation = explanation[..., 1]
    # The one use of pyplot (see plotting.py): shap draws on its current figure. The Agg
    # backend needs no display.
    pyplot.switch_backend("Agg")
    shap.plots.beeswarm(explanation, max_display=15, show=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    pyplot.savefig(path, dpi=plotting.DPI, bbox_inches="tight")
    pyplot.close("all")
    return path
