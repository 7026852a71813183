"""The pipeline stages as plain functions: the command line and the tests both call these."""

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import data, eda, evaluate, report, train
from .config import Settings

if TYPE_CHECKING:
    import pandas as pd

DEMO_ROWS = 25


@dataclass(frozen=True)
class DataResult:
    """The validated split, a summary of it, and the files it was written to."""

    split: data.Split
    rows: int
    columns: int
    class_balance: dict[int, int]
    missing_cells: int
    files: list[Path]


def run_data(settings: Settings, csv: Path | None = None, target: str | None = None) -> DataResult:
    """Load and validate the data, then write the stratified train/held-out split."""
    target = target or settings.data.target
    frame = data.load(csv, target, settings.data.min_rows)
    split = data.split(
        frame,
        target,
        settings.data.holdout_fraction,
        settings.seed,
        source=str(csv) if csv else report.SAMPLE_SOURCE,
    )
    files = data.save_split(split, settings.paths.data_dir)
    return DataResult(
        split=split,
        rows=len(frame),
        columns=frame.shape[1] - 1,
        class_balance=data.class_balance(frame[target]),
        missing_cells=int(frame.isna().sum().sum()),
        files=files,
    )


def run_eda(settings: Settings) -> list[Path]:
    """Summary tables and plots of the training rows."""
    split = data.load_split(settings.paths.data_dir)
    return eda.run_eda(split.train, split.target, settings.paths.eda_dir)


def run_train(settings: Settings) -> tuple[train.TrainingResult, list[Path]]:
    """Cross-validate, calibrate, save and log the model."""
    result = train.train(data.load_split(settings.paths.data_dir), settings)
    return result, train.save_outputs(result, settings)


def run_evaluate(
    settings: Settings, fairness_column: str | None = None
) -> tuple[evaluate.Evaluation, list[Path]]:
    """Evaluate on held-out rows; write tables, the report and the model card; log them."""
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
