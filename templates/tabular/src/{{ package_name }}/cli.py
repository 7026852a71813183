"""The command line: one command per pipeline stage, and `demo` to run them all."""

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.panel import Panel
from rich.table import Table

from . import ENV_PREFIX, PROJECT_NAME
from .config import Settings, load_settings
from .console import DataOption, console, create_app, show_written, shown, user_errors

app = create_app("Train, evaluate and use a calibrated classifier for tabular data.")

# Each command imports the pipeline when it runs: scikit-learn, matplotlib and MLflow take
# seconds to load, and `--help` or a mistyped option should answer at once.

TargetOption = Annotated[
    str | None, typer.Option("--target", help="Column to predict (default: heart_disease).")
]
PositiveLabelOption = Annotated[
    str | None,
    typer.Option(
        "--positive-label", help="Target value to predict as positive (default: the larger)."
    ),
]
FastOption = Annotated[
    bool, typer.Option("--fast", help="Fewer folds and smaller forests, for a quick look.")
]
FairnessOption = Annotated[
    str | None,
    typer.Option("--fairness-column", help="Sensitive column to compare groups by."),
]


def do_data(
    settings: Settings, csv: Path | None, target: str | None, positive_label: str | None = None
) -> None:
    from . import pipeline

    result = pipeline.run_data(settings, csv, target, positive_label)
    split = result.split
    labels = split.labels
    names = {0: labels.negative, 1: labels.positive}
    balance = ", ".join(
        f"{names[label]}: {count} ({count / result.rows:.0%})"
        for label, count in result.class_balance.items()
    )
    read_as = f" ({result.csv_format.describe()})" if result.csv_format.delimiter != "," else ""
    console.print(
        f"[bold]Data[/] {split.source}{read_as}: {result.rows} rows, {result.columns} feature "
        f"columns, {result.missing_cells} empty cells."
    )
    console.print(f"Target '{split.target}': {labels.describe()}. Rows: {balance}.")
    for column, count in split.replaced.items():
        console.print(
            f"[yellow]Replaced[/] {count} value(s) of '{column}' "
            f"({split.rules[column].describe()}) with missing ones: change the rules with "
            f"{ENV_PREFIX}DATA__MISSING_RULES."
        )
    for finding in split.findings:
        colour = "red" if finding.action == "flagged" else "yellow"
        console.print(f"[{colour}]{finding.action.capitalize()}[/] {finding.describe()}")
    console.print(f"Split {len(split.train)} training / {len(split.holdout)} held-out rows:")
    show_written(result.files)


def do_eda(settings: Settings) -> None:
    from . import pipeline

    with console.status("Exploring the training rows…"):
        files = pipeline.run_eda(settings)
    console.print("[bold]EDA[/] tables and plots:")
    show_written(files)


def do_train(settings: Settings) -> str:
    from . import pipeline

    result, files = pipeline.run_train(settings)
    table = Table("model", "AUROC", "AUPRC", "Brier", title="Cross-validation (mean ± std)")
    for row in result.cv_table.itertuples():
        table.add_row(
            str(row.model),
            f"{row.auroc_mean:.3f} ± {row.auroc_std:.3f}",
            f"{row.auprc_mean:.3f} ± {row.auprc_std:.3f}",
            f"{row.brier_mean:.3f} ± {row.brier_std:.3f}",
        )
    console.print(table)
    meta = result.metadata
    console.print(
        f"[bold]Best[/] {meta.model_name}, calibrated ({meta.calibration}), threshold "
        f"{meta.threshold:.3f}. Written:"
    )
    show_written(files)
    return meta.model_name


def do_evaluate(settings: Settings, fairness_column: str | None) -> float:
    from . import pipeline

    with console.status("Evaluating on held-out rows…"):
        evaluation, files = pipeline.run_evaluate(settings, fairness_column)
    metrics = ", ".join(
        f"{name} {value:.3f} ({low:.3f} to {high:.3f})"
        for name, value in evaluation.metrics.items()
        for low, high in [evaluation.intervals[name]]
    )
    console.print(
        f"[bold]Held-out[/] ({evaluation.holdout_rows} rows, 95% bootstrap intervals): {metrics}"
    )
    for shortcut in evaluation.shortcuts:
        console.print(
            f"[yellow]Note:[/] '{shortcut.column}' describes how the data was collected and ranks "
            f"{shortcut.rank} by importance; without it the held-out AUROC is "
            f"{shortcut.without_column['auroc']:.3f} (see the report)."
        )
    for note in evaluation.notes:
        console.print(f"[yellow]Note:[/] {note}")
    console.print("Figures, tables, report and model card:")
    show_written([*evaluation.figures.values(), *files])
    return evaluation.metrics["auroc"]


def do_predict(settings: Settings, input_csv: Path, output_csv: Path | None) -> None:
    from .predict import predict_file

    result = predict_file(settings, input_csv, output_csv or settings.paths.predictions_csv)
    if result.ignored_columns:
        console.print(
            f"[yellow]Note:[/] the model ignores column(s) {', '.join(result.ignored_columns)}; "
            "they are kept in the output."
        )
    console.print(
        f"[bold]Predicted[/] {result.rows} rows ({result.positives} positive) → "
        f"{shown(result.output)}"
    )


@app.command()
def data(
    csv: DataOption = None,
    target: TargetOption = None,
    positive_label: PositiveLabelOption = None,
) -> None:
    """Validate and check the data, summarise it, and write the train/held-out split."""
    with user_errors():
        do_data(load_settings(), csv, target, positive_label)


@app.command()
def eda() -> None:
    """Summary tables and plots of the training rows, in reports/eda/."""
    with user_errors():
        do_eda(load_settings())


@app.command()
def train(fast: FastOption = False) -> None:
    """Cross-validate the model basket, calibrate the best model and save it to models/."""
    with user_errors():
        do_train(load_settings(fast=fast))


@app.command()
def evaluate(fast: FastOption = False, fairness_column: FairnessOption = None) -> None:
    """Held-out metrics, plots, error analysis and fairness; writes the report and model card."""
    with user_errors():
        do_evaluate(load_settings(fast=fast), fairness_column)


@app.command()
def predict(
    input_csv: Annotated[Path, typer.Option("--input", help="CSV file of rows to score.")],
    output_csv: Annotated[
        Path | None,
        typer.Option("--output", help="Where to write the scored rows [default: reports/]."),
    ] = None,
) -> None:
    """Score a CSV file: adds `probability` and `prediction` columns to every row."""
    with user_errors():
        do_predict(load_settings(), input_csv, output_csv)


@app.command()
def site() -> None:
    """Build the results site in site/ from the latest reports: run `demo` first."""
    from .site import Page, build_for

    with user_errors():
        paths = load_settings().paths
        built = build_for(paths, [Page("Report", paths.report_html)])
    console.print(f"[bold]Results site[/]: {built.summary()}")


@app.command()
def demo(fast: FastOption = False) -> None:
    """Run every stage on the bundled sample data, then score a few held-out rows."""
    from . import pipeline

    started = time.perf_counter()
    with user_errors():
        settings = load_settings(fast=fast)
        do_data(settings, None, None)
        do_eda(settings)
        best = do_train(settings)
        auroc = do_evaluate(settings, None)
        do_predict(settings, pipeline.write_demo_input(settings), None)
    paths = settings.paths
    console.print(
        Panel(
            f"Best model: [bold]{best}[/]\n"
            f"Held-out AUROC: [bold]{auroc:.3f}[/]\n"
            f"Report: {shown(paths.report_html)} (and {shown(paths.report_md)})\n"
            f"Model card: {shown(paths.model_card)}\n"
            f"Finished in {time.perf_counter() - started:.1f} s",
            title=f"{PROJECT_NAME} demo",
            expand=False,
        )
    )
