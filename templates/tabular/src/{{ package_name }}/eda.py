"""Exploratory analysis of the training rows: summary tables and plots in reports/eda/."""

from pathlib import Path

import pandas as pd

from . import plots, tables
from .data import Split


def column_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per column: type, missing share, distinct values, and range for numbers."""
    rows = []
    for name in frame.columns:
        column = frame[name]
        numeric = pd.api.types.is_numeric_dtype(column)
        rows.append(
            {
                "column": str(name),
                "dtype": str(column.dtype),
                "missing_%": 100 * float(column.isna().mean()),
                "distinct": int(column.nunique()),
                "mean": float(column.mean()) if numeric else float("nan"),
                "std": float(column.std()) if numeric else float("nan"),
                "min": float(column.min()) if numeric else float("nan"),
                "max": float(column.max()) if numeric else float("nan"),
                "most_common": "" if numeric else str(column.mode(dropna=True).iloc[0]),
            }
        )
    return pd.DataFrame(rows)


def cleaning_table(split: Split) -> pd.DataFrame:
    """What loading changed: values replaced by a rule, and columns dropped or flagged."""
    rows = [
        {
            "column": column,
            "change": "values replaced with missing ones",
            "why": f"{count} rows {split.rules[column].describe()}",
        }
        for column, count in split.replaced.items()
    ]
    rows += [
        {
            "column": finding.column,
            "change": f"{finding.action} ({finding.kind})",
            "why": finding.reason,
        }
        for finding in split.findings
    ]
    return pd.DataFrame(rows, columns=["column", "change", "why"])


def run_eda(split: Split, output_dir: Path) -> list[Path]:
    """Write the summary and cleaning tables and the plots; only training rows are looked at."""
    train, target = split.train, split.target
    output_dir.mkdir(parents=True, exist_ok=True)
    written = tables.write(
        column_summary(train), output_dir / "summary.md", output_dir / "summary.csv"
    )
    written += tables.write(
        cleaning_table(split), output_dir / "cleaning.md", output_dir / "cleaning.csv"
    )
    numeric = [
        str(name)
        for name in train.columns
        if name != target and pd.api.types.is_numeric_dtype(train[name])
    ]
    written += [
        plots.target_balance(train[target], output_dir / "target_balance.png"),
        plots.missingness(train, output_dir / "missingness.png"),
        plots.numeric_distributions(train, numeric, target, output_dir / "numeric_by_class.png"),
        plots.correlation_heatmap(train[[*numeric, target]], output_dir / "correlation.png"),
    ]
    return written
