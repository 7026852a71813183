"""Every figure of the evaluation and the tuning, each written to a PNG file (see plotting.py)."""

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .plotting import COLOURS, FLAGGED, save

# Four quality metrics side by side need two colours beyond the shared pair.
METRIC_COLOURS = (*COLOURS, "#55A868", "#8172B3")
QUALITY_METRICS = (
    ("recall_at_5", "recall@5"),
    ("ndcg_at_10", "nDCG@10"),
    ("mrr", "MRR"),
    ("hit_at_5", "hit@5"),
)


def quality_by_configuration(
    scores: Mapping[str, Mapping[str, float]],
    intervals: Mapping[str, Mapping[str, tuple[float, float]]],
    default: str,
    title: str,
    path: Path,
) -> Path:
    """Retrieval quality of each configuration; whiskers are 95% bootstrap intervals."""
    names = list(scores)
    positions = np.arange(len(names))
    width = 0.8 / len(QUALITY_METRICS)
    figure = Figure(figsize=(max(5.0, 1.7 * len(names) + 2), 3.8), layout="constrained")
    ax = figure.subplots()
    for offset, ((key, label), colour) in enumerate(
        zip(QUALITY_METRICS, METRIC_COLOURS, strict=True)
    ):
        values = [scores[name].get(key, math.nan) for name in names]
        lows, highs = [], []
        for name, value in zip(names, values, strict=True):
            low, high = intervals.get(name, {}).get(key, (math.nan, math.nan))
            # No interval (NaN) draws no whisker rather than a wrong one.
            lows.append(0.0 if math.isnan(low) else max(0.0, value - low))
            highs.append(0.0 if math.isnan(high) else max(0.0, high - value))
        x = positions + (offset - (len(QUALITY_METRICS) - 1) / 2) * width
        # Whiskers only where there is an interval: a zero-length one would read as certainty.
        errors = [lows, highs] if any(lows) or any(highs) else None
        ax.bar(x, values, width, color=colour, label=label, yerr=errors, capsize=3)
    labels = [f"{name}\n(default)" if name == default else name for name in names]
    ax.set_xticks(positions, labels)
    ax.set(title=title, ylim=(0, 1.05), ylabel="score (answerable questions)")
    ax.legend(loc="lower right", fontsize=8, ncols=2)
    return save(figure, path)


def latency_by_stage(latency_ms: Mapping[str, Mapping[str, float]], path: Path) -> Path:
    """p50 and p95 milliseconds of each stage, on a log scale (they span orders of magnitude)."""
    stages = [stage for stage, value in latency_ms.items() if not math.isnan(value["p50"])]
    positions = np.arange(len(stages))
    figure = Figure(figsize=(6.0, 0.45 * len(stages) + 1.6), layout="constrained")
    ax = figure.subplots()
    for offset, (key, colour) in enumerate(zip(("p50", "p95"), COLOURS, strict=True)):
        # A log axis cannot show 0: a stage faster than a microsecond is drawn at 0.001 ms.
        values = [max(latency_ms[stage][key], 1e-3) for stage in stages]
        ax.barh(positions + (offset - 0.5) * 0.4, values, 0.4, color=colour, label=key)
    ax.set_yticks(positions, stages)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set(title="Latency by stage", xlabel="milliseconds (log scale)")
    ax.legend(fontsize=8)
    return save(figure, path)


def quality_across_runs(history: Sequence[Mapping[str, object]], path: Path) -> Path:
    """The default configuration's recall@5 and nDCG@10 in every evaluation run so far."""
    figure = Figure(figsize=(6.0, 3.4), layout="constrained")
    ax = figure.subplots()
    runs = list(range(1, len(history) + 1))
    for (key, label), colour in zip(QUALITY_METRICS[:2], COLOURS, strict=True):
        values = []
        for row in history:
            scores = row.get("scores", {})
            default = scores.get(str(row.get("default")), {}) if isinstance(scores, dict) else {}
            values.append(
                float(default.get(key, math.nan)) if isinstance(default, dict) else math.nan
            )
        ax.plot(runs, values, marker="o", markersize=4, color=colour, label=label)
    splits = {str(row.get("split")) for row in history}
    ax.set(
        title=f"Quality across runs ({', '.join(sorted(splits))} split, default configuration)",
        xlabel="evaluation run",
        ylim=(0, 1.05),
    )
    # Whole runs only, with room either side: one run alone would get fractional ticks.
    ax.set_xlim(0.5, max(len(runs), 1) + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8)
    return save(figure, path)


def sweep(
    values: Sequence[float],
    scores: Sequence[float],
    chosen: float,
    *,
    labels: tuple[str, str, str],
    path: Path,
) -> Path:
    """A tuning sweep: the dev score of each candidate value, the chosen one marked.

    `labels` are the x axis, y axis and title.
    """
    xlabel, ylabel, title = labels
    figure = Figure(figsize=(5.0, 3.2), layout="constrained")
    ax = figure.subplots()
    ax.plot(values, scores, marker="o", markersize=4, color=COLOURS[0])
    ax.axvline(chosen, linestyle="--", color=FLAGGED, label=f"chosen: {chosen:g}")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend(fontsize=8)
    return save(figure, path)
