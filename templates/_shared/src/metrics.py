"""The metrics every stage reports, computed the same way for cross-validation and held-out rows."""

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    f1_score,
    log_loss,
    precision_recall_curve,
    roc_auc_score,
)

# Display names, in the order tables show them.
METRICS = {
    "auroc": "AUROC",
    "auprc": "AUPRC",
    "f1": "F1",
    "brier": "Brier",
    "log_loss": "Log loss",
    "accuracy": "Accuracy",
}


def score(y_true: np.ndarray, probability: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """Ranking, threshold and probability-quality metrics for one set of predictions."""
    predicted = (probability >= threshold).astype(int)
    return {
        "auroc": float(roc_auc_score(y_true, probability)),
        "auprc": float(average_precision_score(y_true, probability)),
        "f1": float(f1_score(y_true, predicted, zero_division=0.0)),
        "brier": float(brier_score_loss(y_true, probability)),
        "log_loss": float(log_loss(y_true, probability, labels=[0, 1])),
        "accuracy": float(accuracy_score(y_true, predicted)),
    }


def best_f1_threshold(y_true: np.ndarray, probability: np.ndarray) -> float:
    """The probability cut-off with the highest F1 on these predictions."""
    precision, recall, thresholds = precision_recall_curve(y_true, probability)
    # The last precision/recall pair has no threshold: it is the "predict nothing" end point.
    denominator = precision[:-1] + recall[:-1]
    f1 = np.divide(
        2 * precision[:-1] * recall[:-1],
        denominator,
        out=np.zeros_like(denominator),
        where=denominator > 0,
    )
    return float(thresholds[int(np.argmax(f1))])
