"""The drift report's figure: each feature's training distribution next to the logged one."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .drift import FeatureReference, actual_shares
from .plotting import COLOURS, FLAGGED, save

COLUMNS = 4


def drift_grid(
    profiles: list[FeatureReference], current: pd.DataFrame, table: pd.DataFrame, path: Path
) -> Path:
    """Bar pairs per bin or category, training against logged, titled with PSI; drifted in red."""
    rows = math.ceil(len(profiles) / COLUMNS)
    figure = Figure(figsize=(4 * COLUMNS, 3 * rows), layout="constrained")
    axes = figure.subplots(rows, COLUMNS, squeeze=False)
    flagged = dict(zip(table["feature"], table["drifted"], strict=True))
    psi = dict(zip(table["feature"], table["psi"], strict=True))
    for axis, reference in zip(axes.flat, profiles, strict=False):
        current_shares = actual_shares(reference, current[reference.name])
        positions = np.arange(len(reference.shares))
        axis.bar(positions - 0.2, reference.shares, width=0.4, color=COLOURS[0], label="training")
        axis.bar(positions + 0.2, current_shares, width=0.4, color=COLOURS[1], label="logged")
        if reference.kind == "categorical":
            axis.set_xticks(positions, reference.categories, rotation=45, ha="right", fontsize=7)
        else:
            axis.set_xticks(positions, [f"q{i + 1}" for i in positions], fontsize=7)
        color = FLAGGED if flagged[reference.name] else "black"
        axis.set_title(f"{reference.name}  PSI {psi[reference.name]:.2f}", color=color)
    for axis in list(axes.flat)[len(profiles) :]:
        axis.set_visible(False)
    axes.flat[0].legend()
    figure.suptitle("Share of rows per training-quantile bin or category")
    return save(figure, path)
