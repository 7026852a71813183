"""Drift statistics of new inputs against the training rows: PSI, KS and missing-value rates."""

import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .data import apply_rules
from .features import FeatureKind, FeatureSchema
from .schemas import JsonRecord
from .settings import ColumnRule

# Keeps log(0) out of PSI when a bin is empty on one side.
EPSILON = 1e-4
MISSING = "(missing)"


@dataclass(frozen=True)
class FeatureReference:
    """One feature's training distribution: bin edges (numeric) or categories, and shares."""

    name: str
    kind: FeatureKind
    edges: np.ndarray
    categories: list[str]
    shares: np.ndarray
    missing_rate: float
    values: np.ndarray


def _numeric_edges(values: np.ndarray, bins: int) -> np.ndarray:
    edges = np.unique(np.quantile(values, np.linspace(0.0, 1.0, bins + 1)))
    # Open ends: new values below or above everything seen in training still land in a bin.
    edges[0], edges[-1] = -np.inf, np.inf
    return edges


def _shares(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total else np.zeros_like(counts, dtype=float)


def profile(reference: pd.DataFrame, schema: FeatureSchema, bins: int) -> list[FeatureReference]:
    """Bin edges and shares of every feature of the training rows."""
    profiles = []
    for feature in schema.features:
        column = reference[feature.name]
        missing_rate = float(column.isna().mean())
        if feature.kind == "numeric":
            values = pd.to_numeric(column, errors="coerce").dropna().to_numpy(dtype=float)
            edges = _numeric_edges(values, bins) if len(values) else np.array([-np.inf, np.inf])
            shares = _shares(np.histogram(values, edges)[0].astype(float))
            profiles.append(
                FeatureReference(feature.name, "numeric", edges, [], shares, missing_rate, values)
            )
        else:
            categories = [*feature.categories, MISSING]
            counts = column.fillna(MISSING).astype(str).value_counts()
            shares = _shares(counts.reindex(categories, fill_value=0).to_numpy(dtype=float))
            profiles.append(
                FeatureReference(
                    feature.name,
                    "categorical",
                    np.array([]),
                    categories,
                    shares,
                    missing_rate,
                    np.array([]),
                )
            )
    return profiles


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index between two share vectors over the same bins."""
    expected = np.clip(expected, EPSILON, None)
    actual = np.clip(actual, EPSILON, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def actual_shares(reference: FeatureReference, column: pd.Series) -> np.ndarray:
    """Shares of new values over the reference's bins or categories."""
    if reference.kind == "numeric":
        values = pd.to_numeric(column, errors="coerce").dropna().to_numpy(dtype=float)
        return _shares(np.histogram(values, reference.edges)[0].astype(float))
    counts = column.fillna(MISSING).astype(str).value_counts()
    return _shares(counts.reindex(reference.categories, fill_value=0).to_numpy(dtype=float))


def compare(profiles: list[FeatureReference], current: pd.DataFrame) -> pd.DataFrame:
    """One row per feature: PSI, KS statistic and p-value (numeric), missing rates both sides."""
    rows = []
    for reference in profiles:
        column = current[reference.name]
        row: dict[str, str | float] = {
            "feature": reference.name,
            "kind": reference.kind,
            "psi": psi(reference.shares, actual_shares(reference, column)),
            "ks_statistic": np.nan,
            "ks_pvalue": np.nan,
            "missing_reference": reference.missing_rate,
            "missing_current": float(column.isna().mean()),
        }
        values = pd.to_numeric(column, errors="coerce").dropna().to_numpy(dtype=float)
        if reference.kind == "numeric" and len(values) and len(reference.values):
            result = stats.ks_2samp(reference.values, values)
            row["ks_statistic"] = float(result.statistic)
            row["ks_pvalue"] = float(result.pvalue)
        rows.append(row)
    return pd.DataFrame(rows)


class DriftWindow:
    """The last `size` records served; recomputes PSI and missing rates every `every` records."""

    def __init__(
        self,
        profiles: list[FeatureReference],
        size: int,
        every: int = 50,
        rules: Mapping[str, ColumnRule] | None = None,
    ) -> None:
        self.profiles = profiles
        # The training rows' missing-value rules: the window sees requests as the model does.
        self.rules = dict(rules or {})
        self.records: deque[JsonRecord] = deque(maxlen=size)
        self.every = every
        self.pending = 0
        # Predictions run in a thread pool; the window is shared by every request of the worker.
        self.lock = threading.Lock()

    def add(
        self, records: Iterable[JsonRecord]
    ) -> tuple[dict[str, float], dict[str, float]] | None:
        """Add records; every `every` of them, return fresh (PSI, missing rate) per feature."""
        with self.lock:
            for record in records:
                self.records.append(record)
                self.pending += 1
            if self.pending < self.every:
                return None
            self.pending = 0
            window, _ = apply_rules(pd.DataFrame(list(self.records)), self.rules)
        psi_by_feature = {
            ref.name: psi(ref.shares, actual_shares(ref, window[ref.name])) for ref in self.profiles
        }
        missing = {ref.name: float(window[ref.name].isna().mean()) for ref in self.profiles}
        return psi_by_feature, missing
