"""Every figure of the evaluation and export, each written to a PNG file (see plotting.py)."""

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .plotting import COLOURS, FLAGGED, save

# Precision, recall and F1 side by side need a third colour next to the shared pair.
METRIC_COLOURS = (*COLOURS, "#55A868")
MAX_ANNOTATED_CLASSES = 30


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def learning_curves(history: Sequence[dict[str, float]], path: Path) -> Path:
    """Losses, then accuracy-like metrics, then the learning rate, per epoch."""
    keys = [key for key in history[0] if _is_number(history[0][key])]
    # Throughput and timings are per-epoch numbers too, but not part of learning.
    panels = {
        "loss": [key for key in keys if "loss" in key],
        "accuracy and F1": [key for key in keys if "accuracy" in key or "f1" in key],
        "learning rate": [key for key in keys if key == "lr"],
    }
    panels = {title: names for title, names in panels.items() if names}
    epochs = [row.get("epoch", index + 1) for index, row in enumerate(history)]
    figure = Figure(figsize=(4.2 * len(panels), 3.4), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(panels)))
    for ax, (title, names) in zip(axes, panels.items(), strict=True):
        for index, name in enumerate(names):
            values = [row.get(name, math.nan) for row in history]
            colour = METRIC_COLOURS[index % len(METRIC_COLOURS)]
            ax.plot(epochs, values, marker="o", markersize=3, color=colour, label=name)
        ax.set(title=title, xlabel="epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=8)
    figure.suptitle("Learning curves")
    return save(figure, path)


def per_class(table: pd.DataFrame, path: Path) -> Path:
    """Precision, recall and F1 of each class on the test split."""
    classes = table["class"].astype(str).tolist()
    positions = np.arange(len(classes))
    width = 0.27
    figure = Figure(
        figsize=(min(16.0, max(5.0, 0.9 * len(classes) + 2)), 3.6), layout="constrained"
    )
    ax = figure.subplots()
    for offset, (metric, colour) in enumerate(
        zip(("precision", "recall", "f1"), METRIC_COLOURS, strict=True)
    ):
        ax.bar(positions + (offset - 1) * width, table[metric], width, color=colour, label=metric)
    ax.set_xticks(positions, classes, rotation=30, ha="right")
    ax.set(title="Per-class metrics (test split)", ylim=(0, 1.05))
    ax.legend(loc="lower right", fontsize=8)
    return save(figure, path)


def confusion(matrix: np.ndarray, class_names: Sequence[str], path: Path) -> Path:
    """Counts of true (rows) against predicted (columns) classes, shaded by row share."""
    totals = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, totals, out=np.zeros(matrix.shape), where=totals > 0)
    size = min(14.0, 0.4 * len(class_names) + 2.5)
    figure = Figure(figsize=(size + 1, size), layout="constrained")
    ax = figure.subplots()
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    # Counts stay legible up to about 30 classes; beyond that the shading tells the story.
    if len(class_names) <= MAX_ANNOTATED_CLASSES:
        for (row, col), value in np.ndenumerate(matrix):
            colour = "white" if share[row, col] > 0.5 else "black"  # noqa: PLR2004
            ax.text(col, row, str(value), ha="center", va="center", color=colour, fontsize=8)
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=45, ha="right")
    ax.set_yticks(ticks, class_names)
    ax.set(title="Confusion matrix (test split)", xlabel="predicted", ylabel="true")
    figure.colorbar(image, ax=ax, shrink=0.8, label="share of the true class")
    return save(figure, path)


def reliability(bins: pd.DataFrame, ece: float, path: Path) -> Path:
    """Reliability diagram: accuracy against confidence per bin, and how many fall in each."""
    figure = Figure(figsize=(4.5, 5.2), layout="constrained")
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    width = bins["upper"] - bins["lower"]
    filled = bins[bins["count"] > 0]
    top.bar(
        filled["lower"],
        filled["accuracy"],
        width=width[filled.index],
        align="edge",
        color=COLOURS[0],
        edgecolor="white",
        label="accuracy in bin",
    )
    centres = filled["lower"] + width[filled.index] / 2
    top.scatter(
        centres, filled["confidence"], marker="D", s=14, color=FLAGGED, label="mean confidence"
    )
    top.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    top.set(title=f"Reliability (test split), ECE {ece:.3f}", ylabel="accuracy", ylim=(0, 1))
    top.legend(loc="upper left", fontsize=8)
    bottom.bar(bins["lower"], bins["count"], width=width, align="edge", color=COLOURS[1])
    # Most images of a good model sit in the top bin: a log scale keeps the others visible.
    bottom.set_yscale("log")
    bottom.set(xlabel="confidence of the predicted class", ylabel="images (log)", xlim=(0, 1))
    return save(figure, path)


def image_grid(
    images: Sequence[np.ndarray], captions: Sequence[str], title: str, path: Path
) -> Path:
    """Images (height x width x channels, values in [0, 1]) in a grid, each with a caption."""
    n_cols = min(4, max(1, len(images)))
    n_rows = max(1, -(-len(images) // n_cols))
    figure = Figure(figsize=(2.3 * n_cols, 2.5 * n_rows), layout="constrained")
    axes = np.atleast_1d(figure.subplots(n_rows, n_cols)).ravel()
    for ax in axes:
        ax.set_axis_off()
    for ax, image, caption in zip(axes, images, captions, strict=False):
        grey = image.shape[-1] == 1
        ax.imshow(image[..., 0] if grey else image, cmap="gray" if grey else None, vmin=0, vmax=1)
        ax.set_title(caption, fontsize=8)
    if not images:
        axes[0].text(0.5, 0.5, "no mistakes", ha="center", va="center")
    figure.suptitle(title)
    return save(figure, path)


def parity(
    batch_sizes: Sequence[int], diffs: Sequence[float], tolerance: float, path: Path
) -> Path:
    """Largest difference between ONNX Runtime and PyTorch outputs, per batch size."""
    figure = Figure(figsize=(4.5, 3.2), layout="constrained")
    ax = figure.subplots()
    # A log scale needs positive heights: an exact match is drawn at the smallest float step.
    heights = [max(diff, float(np.finfo(np.float32).tiny)) for diff in diffs]
    labels = [f"batch {size}" for size in batch_sizes]
    ax.bar(labels, heights, color=COLOURS[0])
    ax.axhline(tolerance, linestyle="--", color=FLAGGED, label=f"tolerance {tolerance:g}")
    ax.set_yscale("log")
    ax.set(title="ONNX Runtime vs PyTorch", ylabel="max |difference| of logits")
    ax.legend(fontsize=8)
    return save(figure, path)
