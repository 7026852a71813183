"""The drift report's figure: each feature's training distribution next to the logged one."""

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .drift import FeatureReference, actual_shares

COLUMNS = 4


def drift_grid(
    profiles: list[FeatureReference], current: pd.DataFrame, table: pd.DataFrame, path: Path
) -> Path:
    """Bar pairs per bin or category, training against logged, titled with PSI; drifted in red."""
    rows = math.ceil(len(profiles) / COLUMNS)
    figure, axes = plt.subplots(rows, COLUMNS, figsize=(4 * COLUMNS, 3 * rows), squeeze=False)
    flagged = dict(zip(table["feature"], table["drifted"], strict=True))
    psi = dict(zip(table["feature"], table["psi"], strict=True))
    for axis, reference in zip(axes.flat, profiles, strict=False):
        current_shares = actual_shares(reference, current[reference.name])
        positions = np.arange(len(reference.shares))
        axis.bar(positions - 0.2, reference.shares, width=0.4, label="training")
        axis.bar(positions + 0.2, current_shares, width=0.4, label="logged")
        if reference.kind == "categorical":
            axis.set_xticks(positions, reference.categories, rotation=45, ha="right", fontsize=7)
        else:
            axis.set_xticks(positions, [f"q{i + 1}" for i in positions], fontsize=7)
        color = "tab:red" if flagged[reference.name] else "black"
        axis.set_title(f"{reference.name}  PSI {psi[reference.name]:.2f}", color=color)
    for axis in list(axes.flat)[len(profiles) :]:
        axis.set_visible(False)
    axes.flat[0].legend()
    figure.suptitle("Share of rows per training-quantile bin or category")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
