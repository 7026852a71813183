"""Compare logged inputs with the training rows and write a drift report with plots."""

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import ENV_PREFIX, drift, plots, prediction_log, tables
from .config import MonitorConfig, Settings
from .data import apply_rules
from .errors import DataValidationError, MissingArtifactError
from .model_store import REFERENCE_CSV
from .persistence import load_metadata


@dataclass(frozen=True)
class DriftReport:
    """Per-feature statistics, the features past a threshold, and the files written."""

    table: pd.DataFrame
    drifted: list[str]
    rows: int
    files: list[Path]


def flag(table: pd.DataFrame, config: MonitorConfig) -> pd.DataFrame:
    """Mark each feature past the PSI, KS or missing-rate threshold, and say which one."""
    reasons = []
    for row in table.to_dict(orient="records"):
        why = []
        if row["psi"] > config.max_psi:
            why.append(f"PSI {row['psi']:.2f} > {config.max_psi}")
        if pd.notna(row["ks_statistic"]) and row["ks_statistic"] > config.max_ks:
            why.append(f"KS {row['ks_statistic']:.2f} > {config.max_ks}")
        increase = row["missing_current"] - row["missing_reference"]
        if increase > config.max_missing_increase:
            why.append(f"missing +{increase:.0%} > {config.max_missing_increase:.0%}")
        reasons.append("; ".join(why))
    return table.assign(drifted=[bool(reason) for reason in reasons], reason=reasons)


def load_logged_inputs(log: Path, columns: list[str]) -> pd.DataFrame:
    """The inputs of every logged prediction, one row each."""
    if not log.is_file():
        raise MissingArtifactError(
            f"No prediction log at {log}: serve some traffic first (`demo` does), or pass --log."
        )
    entries, _ = prediction_log.read(log)
    inputs = pd.DataFrame([entry["inputs"] for entry in entries if "inputs" in entry])
    missing = [name for name in columns if name not in inputs.columns]
    if len(inputs) and missing:
        raise DataValidationError(
            f"The log at {log} lacks feature(s) {', '.join(missing)}: was it written by a "
            "model with another schema? Rotate the log when you deploy a new model."
        )
    return inputs.reindex(columns=columns)


def monitor(settings: Settings, log: Path) -> DriftReport:
    """PSI and KS per feature, and missing rates, of logged inputs against the training rows."""
    config, paths = settings.monitor, settings.paths
    metadata = load_metadata(paths.models_dir)
    schema = metadata.feature_schema
    # The log holds requests as sent; the model and the training rows saw them after the rules.
    current, _ = apply_rules(load_logged_inputs(log, schema.names), metadata.missing_rules)
    if len(current) < config.min_rows:
        raise DataValidationError(
            f"The log at {log} holds {len(current)} predictions, fewer than the {config.min_rows} "
            f"needed to judge drift ({ENV_PREFIX}MONITOR__MIN_ROWS)."
        )
    reference_file = paths.models_dir / REFERENCE_CSV
    if not reference_file.is_file():
        raise MissingArtifactError(f"No training reference at {reference_file}: run `train`.")
    reference = pd.read_csv(reference_file)
    profiles = drift.profile(reference, schema, config.bins)
    table = flag(drift.compare(profiles, current), config)
    drift_dir = paths.drift_dir
    drift_dir.mkdir(parents=True, exist_ok=True)
    csv = drift_dir / "drift.csv"
    table.to_csv(csv, index=False)
    figure = plots.drift_grid(profiles, current, table, drift_dir / "drift.png")
    markdown = paths.drift_md
    markdown.write_text(report_markdown(table, len(current), log, config))
    drifted = table.loc[table["drifted"], "feature"].tolist()
    return DriftReport(
        table=table, drifted=drifted, rows=len(current), files=[markdown, csv, figure]
    )


def report_markdown(table: pd.DataFrame, rows: int, log: Path, config: MonitorConfig) -> str:
    """The report people read: the verdict first, then one line per feature."""
    drifted = table.loc[table["drifted"], "feature"].tolist()
    verdict = (
        f"**Drift in {len(drifted)} feature(s): {', '.join(drifted)}.**"
        if drifted
        else "**No drift past the thresholds.**"
    )
    lines = [
        "# Drift report",
        "",
        (
            f"{rows} logged predictions from `{log}` against the training rows. Thresholds: PSI "
            f"> {config.max_psi}, KS > {config.max_ks}, missing rate up by more than "
            f"{config.max_missing_increase:.0%}."
        ),
        "",
        verdict,
        "",
        tables.to_markdown(summary_table(table)),
        "![Distributions](drift.png)",
        "",
    ]
    return "\n".join(lines)


def _statistic(value: float) -> str:
    """A statistic rounded for reading; "-" where it was not computed (NaN)."""
    return "-" if math.isnan(value) else f"{value:.3f}"


def summary_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per feature, as people read it: rounded statistics and the reason for a flag."""
    ks = table["ks_statistic"].map(_statistic)
    missing = [
        f"{before:.0%} → {after:.0%}"
        for before, after in zip(table["missing_reference"], table["missing_current"], strict=True)
    ]
    return pd.DataFrame(
        {
            "feature": table["feature"],
            "PSI": table["psi"].astype(float),
            "KS": ks,
            "missing (train → logged)": missing,
            "drift": table["reason"].where(table["reason"] != "", "no"),
        }
    )
