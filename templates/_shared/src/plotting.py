"""How every figure is drawn and saved: matplotlib's object API, never pyplot's global state.

A `Figure` made directly needs no GUI backend, so plotting works the same on a laptop, a CI
runner and a headless container, and no figure outlives the function that drew it.
"""

from pathlib import Path

from matplotlib.figure import Figure

DPI = 110
# One colour per class (0, 1), and for "reference" against "current" comparisons.
COLOURS = ("#4C72B0", "#DD8452")
FLAGGED = "#C44E52"


def save(figure: Figure, path: Path) -> Path:
    """Write a figure as PNG, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=DPI, bbox_inches="tight")
    return path
