"""The pipeline stages as plain functions: the command line and the tests both call these.

Each stage imports its own modules: `train` never pays for the report's or the evaluation's
libraries, and its fixed costs (MLflow, plotting, the model file format) load on a worker thread
while the models train.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from . import data

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

    from . import evaluate, train
    from .config import Settings

DEMO_ROWS = 25


@dataclass(frozen=True)
class DataResult:
    """The validated split, a summary of it, and the files it was written to."""

    split: data.Split
    rows: int
    columns: int
    class_balance: dict[int, int]
    missing_cells: int
    csv_format: data.CsvFormat
    files: list[Path]


def run_data(
    settings: Settings,
    csv: Path | None = None,
    target: str | None = None,
    positive_label: str | None = None,
) -> DataResult:
    """Load, clean and check the data, then write the stratified train/held-out split.

    The data check looks at the training rows only, so nothing about the held-out rows shapes
    the features.
    """
    from . import screening

    config = settings.data
    target = target or config.target
    loaded, split = data.load_and_split(
        csv, target, config, settings.seed, positive_label or config.positive_label
    )
    findings = screening.screen(split.train, target, config, settings.seed)
    left_out = screening.dropped(findings)
    split = replace(
        split,
        train=split.train.drop(columns=left_out),
        holdout=split.holdout.drop(columns=left_out),
        findings=findings,
    )
    files = data.save_split(split, settings.paths.data_dir)
    return DataResult(
        split=split,
        rows=len(loaded.frame),
        columns=split.train.shape[1] - 1,
        class_balance=data.class_balance(loaded.frame[target]),
        missing_cells=int(loaded.frame.isna().sum().sum()),
        csv_format=loaded.csv_format,
        files=files,
    )


def run_eda(settings: Settings) -> list[Path]:
    """Summary tables and plots of the training rows."""
    from . import eda

    split = data.load_split(settings.paths.data_dir)
    return eda.run_eda(split, settings.paths.eda_dir)


def run_train(settings: Settings) -> tuple[train.TrainingResult, list[Path]]:
    """Cross-validate, calibrate, save and log the model."""
    from . import train
    from .background_run import BackgroundRun

    split = data.load_split(settings.paths.data_dir)
    # Seconds of fixed cost run beside the cross-validation instead of after it: importing
    # MLflow and opening its run happen in a child process, where they do not hold the
    # interpreter lock the training needs. Plotting and skops load after training, for the same
    # reason: loaded in a thread beside it, they slowed the cross-validation by more than they
    # saved afterwards.
    with BackgroundRun(settings, "train", tags={"stage": "train"}) as run:
        result = train.train(split, settings)
        return result, train.save_outputs(result, settings, run)


def run_evaluate(
    settings: Settings, fairness_column: str | None = None
) -> tuple[evaluate.Evaluation, list[Path]]:
    """Evaluate on held-out rows; write tables, the report and the model card; log them."""
    from . import evaluate, report

    evaluation = evaluate.evaluate(settings, fairness_column)
    files = [
        *evaluate.save_tables(evaluation, settings.paths),
        *report.write_report(evaluation, settings.paths),
        report.write_model_card(evaluation, settings.paths.model_card),
    ]
    evaluate.log_run(evaluation, files, settings)
    return evaluation, files


def write_demo_input(settings: Settings, rows: int = DEMO_ROWS) -> Path:
    """A few held-out rows without their label, standing in for new patients."""
    split = data.load_split(settings.paths.data_dir)
    sample: pd.DataFrame = split.holdout.head(rows).drop(columns=split.target)
    sample.to_csv(settings.paths.demo_input, index=False)
    return settings.paths.demo_input
