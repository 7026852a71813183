"""Every figure the pipeline draws, each written to a PNG file (see plotting.py for how)."""

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.metrics import auc, confusion_matrix, precision_recall_curve, roc_curve

from .plotting import COLOURS, save


def target_balance(target: pd.Series, path: Path) -> Path:
    """Bar chart of rows per class."""
    counts = target.value_counts().sort_index()
    figure = Figure(figsize=(4, 3))
    ax = figure.subplots()
    ax.bar([str(label) for label in counts.index], counts.to_numpy(), color=COLOURS)
    ax.set(title=f"Rows per class of {target.name}", xlabel=str(target.name), ylabel="rows")
    return save(figure, path)


def missingness(frame: pd.DataFrame, path: Path) -> Path:
    """Share of empty cells per column, largest first."""
    share = frame.isna().mean().sort_values()
    figure = Figure(figsize=(6, 0.3 * len(share) + 1))
    ax = figure.subplots()
    ax.barh(share.index.astype(str), 100 * share.to_numpy(), color=COLOURS[0])
    ax.set(title="Missing values", xlabel="% of rows empty", xlim=(0, 100))
    return save(figure, path)


def numeric_distributions(frame: pd.DataFrame, columns: list[str], target: str, path: Path) -> Path:
    """One histogram per numeric column, the classes overlaid."""
    n_cols = 3
    n_rows = max(1, -(-len(columns) // n_cols))
    figure = Figure(figsize=(4 * n_cols, 2.8 * n_rows), layout="constrained")
    axes = np.atleast_1d(figure.subplots(n_rows, n_cols)).ravel()
    for ax, column in zip(axes, columns, strict=False):
        for colour, (label, group) in zip(COLOURS, frame.groupby(target), strict=False):
            ax.hist(group[column].dropna(), bins=20, alpha=0.6, color=colour, label=str(label))
        ax.set_title(column)
    for ax in axes[len(columns) :]:
        ax.set_visible(False)
    axes[0].legend(title=target)
    return save(figure, path)


def correlation_heatmap(frame: pd.DataFrame, path: Path) -> Path:
    """Pearson correlations between the numeric columns."""
    correlation = frame.corr(numeric_only=True)
    size = 0.5 * len(correlation) + 2
    figure = Figure(figsize=(size + 1, size))
    ax = figure.subplots()
    image = ax.imshow(correlation.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
    ticks = np.arange(len(correlation))
    ax.set_xticks(ticks, correlation.columns, rotation=90)
    ax.set_yticks(ticks, correlation.columns)
    for (row, col), value in np.ndenumerate(correlation.to_numpy()):
        ax.text(col, row, f"{value:.1f}", ha="center", va="center", fontsize=7)
    figure.colorbar(image, ax=ax, shrink=0.8)
    ax.set_title("Correlation of numeric columns")
    return save(figure, path)


def cv_comparison(cv_table: pd.DataFrame, path: Path) -> Path:
    """Mean and spread across folds of the main metrics, one bar per model."""
    metrics = {"auroc": "AUROC (higher is better)", "auprc": "AUPRC", "brier": "Brier (lower)"}
    figure = Figure(figsize=(12, 0.45 * len(cv_table) + 1.5), layout="constrained")
    axes = figure.subplots(1, len(metrics), sharey=True)
    for ax, (metric, title) in zip(axes, metrics.items(), strict=True):
        ax.barh(
            cv_table.index.astype(str),
            cv_table[f"{metric}_mean"],
            xerr=cv_table[f"{metric}_std"],
            color=COLOURS[0],
            capsize=3,
        )
        ax.set(title=title, xlim=(0, 1))
    figure.suptitle("Cross-validation: mean ± std across folds")
    return save(figure, path)


def roc(y_true: np.ndarray, probability: np.ndarray, path: Path) -> Path:
    """ROC curve with its area."""
    fpr, tpr, _ = roc_curve(y_true, probability)
    figure = Figure(figsize=(4.5, 4.5))
    ax = figure.subplots()
    ax.plot(fpr, tpr, color=COLOURS[0], label=f"model (AUROC {auc(fpr, tpr):.3f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    ax.set(title="ROC curve (held-out)", xlabel="false positive rate", ylabel="true positive rate")
    ax.legend(loc="lower right")
    return save(figure, path)


def precision_recall(y_true: np.ndarray, probability: np.ndarray, path: Path) -> Path:
    """Precision-recall curve against the positive-class prevalence."""
    precision, recall, _ = precision_recall_curve(y_true, probability)
    figure = Figure(figsize=(4.5, 4.5))
    ax = figure.subplots()
    ax.plot(recall, precision, color=COLOURS[0], label="model")
    ax.axhline(float(np.mean(y_true)), linestyle="--", color="grey", label="prevalence")
    ax.set(title="Precision-recall (held-out)", xlabel="recall", ylabel="precision")
    ax.legend(loc="lower left")
    return save(figure, path)


def calibration(y_true: np.ndarray, probability: np.ndarray, path: Path) -> Path:
    """Reliability diagram: predicted probability against observed frequency."""
    observed, predicted = calibration_curve(y_true, probability, n_bins=10, strategy="quantile")
    figure = Figure(figsize=(4.5, 4.5))
    ax = figure.subplots()
    ax.plot(predicted, observed, marker="o", color=COLOURS[0], label="model")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    ax.set(title="Calibration (held-out)", xlabel="mean predicted", ylabel="observed positive")
    ax.legend(loc="upper left")
    return save(figure, path)


def confusion(y_true: np.ndarray, predicted: np.ndarray, threshold: float, path: Path) -> Path:
    """Confusion matrix at the chosen threshold."""
    matrix = confusion_matrix(y_true, predicted, labels=[0, 1])
    figure = Figure(figsize=(4, 3.6))
    ax = figure.subplots()
    ax.imshow(matrix, cmap="Blues")
    for (row, col), value in np.ndenumerate(matrix):
        colour = "white" if value > matrix.max() / 2 else "black"
        ax.text(col, row, str(value), ha="center", va="center", color=colour, fontsize=12)
    ax.set_xticks([0, 1], ["0", "1"])
    ax.set_yticks([0, 1], ["0", "1"])
    ax.set(title=f"Confusion matrix (threshold {threshold:.2f})", xlabel="predicted", ylabel="true")
    return save(figure, path)


def importance(table: pd.DataFrame, path: Path) -> Path:
    """Permutation importance: the AUROC lost when a column is shuffled."""
    ordered = table.sort_values("importance_mean")
    figure = Figure(figsize=(6, 0.3 * len(ordered) + 1))
    ax = figure.subplots()
    ax.barh(
        ordered["feature"],
        ordered["importance_mean"],
        xerr=ordered["importance_std"],
        color=COLOURS[0],
        capsize=2,
    )
    ax.set(title="Permutation importance (held-out)", xlabel="drop in AUROC when shuffled")
    return save(figure, path)
