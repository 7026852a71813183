"""The command line: one command per pipeline stage, and `demo` to run them all."""

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.panel import Panel
from rich.table import Table

from . import PROJECT_NAME
from .config import PRESETS, Settings, load_settings
from .console import console, create_app, show_written, shown, user_errors
from .errors import InvalidSettingError

if TYPE_CHECKING:
    from .evaluate import Evaluation

app = create_app("Train, evaluate, export and use an image classifier written in plain PyTorch.")

# Each command imports the pipeline when it runs: torch, matplotlib and MLflow take seconds to
# load, and `--help` or a mistyped option should answer at once.

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="TOML config file [default: configs/default.toml]; a run's saved config repeats it.",
    ),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="GROUP.FIELD=VALUE",
        help="Override one setting, for example --set train.epochs=3; repeat for more.",
    ),
]
PresetOption = Annotated[
    str | None,
    typer.Option("--preset", help=f"Preset settings: {', '.join(PRESETS)}."),
]


def settings_from(
    config_file: Path | None, overrides: list[str] | None, preset: str | None = None
) -> Settings:
    """The settings for one command: config file, environment, preset and --set overrides."""
    if preset is not None and preset not in PRESETS:
        raise InvalidSettingError(
            f"--preset {preset}: not a preset; use one of {', '.join(PRESETS)}."
        )
    return load_settings(
        config_file=config_file,
        overrides=overrides or (),
        preset=preset,
    )


def do_data(settings: Settings, raw_dir: Path | None) -> None:
    from . import pipeline

    summary = pipeline.run_data(settings, raw_dir)
    summary.print(console)
    console.print(
        f"[bold]Data[/] {len(summary.classes)} classes, {summary.channels} channel(s), "
        f"images resized to {summary.image_size}x{summary.image_size}. Written:"
    )
    show_written(list(summary.written))


def do_train(settings: Settings, *, resume: bool) -> None:
    from . import pipeline

    result = pipeline.run_train(settings, resume=resume)
    # Under torchrun every process runs this command: rank 0 speaks for all of them.
    if os.environ.get("RANK", "0") != "0":
        return
    console.print(
        f"[bold]Trained[/] best {settings.train.early_stopping_metric} "
        f"{result.best_metric:.4f} at epoch {result.best_epoch}; "
        f"{result.images_per_second:,.0f} images/s; {result.precision_reason.rstrip('.')}."
    )
    paths = settings.paths
    show_written([paths.checkpoint_best, paths.checkpoint_last])


def do_evaluate(settings: Settings) -> "Evaluation":
    from . import pipeline

    with console.status("Scoring the test split…"):
        evaluation, files = pipeline.run_evaluate(settings)
    summary = evaluation.summary
    table = Table("class", "precision", "recall", "F1", "images", title="Test split, per class")
    for row in evaluation.per_class.itertuples():
        table.add_row(
            str(row[1]),
            f"{row.precision:.3f}",
            f"{row.recall:.3f}",
            f"{row.f1:.3f}",
            str(row.support),
        )
    console.print(table)
    console.print(
        f"[bold]Held-out[/] ({summary.test_images} images): accuracy {summary.accuracy:.3f} "
        f"(majority class {summary.majority_rate:.3f}), macro F1 {summary.macro_f1:.3f}, "
        f"ECE {summary.ece:.3f}; {summary.images_per_second:,.0f} images/s on {summary.device}."
    )
    console.print("Figures, tables, report and model card:")
    show_written(files)
    return evaluation


def do_export(settings: Settings) -> None:
    from . import pipeline

    with console.status("Exporting to ONNX and checking it…"):
        result, files = pipeline.run_export(settings)
    table = Table("batch size", "output shape", "max |ONNX - PyTorch|", title="ONNX Runtime parity")
    for check in result.parity:
        table.add_row(str(check.batch_size), str(check.output_shape), f"{check.max_abs_diff:.2e}")
    console.print(table)
    console.print(
        f"[bold]Exported[/] input {result.input_shape} (dynamic batch), within the tolerance "
        f"{result.tolerance:g}. Written:"
    )
    show_written(files)


def do_predict(settings: Settings, inputs: Path, top_k: int | None) -> None:
    from . import pipeline

    result = pipeline.run_predict(settings, inputs, top_k)
    result.print(console)


@app.command()
def data(
    raw_dir: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Folder of class subfolders [default: data/raw, the bundled digits if absent].",
        ),
    ] = None,
    config_file: ConfigOption = None,
    overrides: SetOption = None,
) -> None:
    """Check the image folder and write the stratified train/val/test split."""
    with user_errors():
        do_data(settings_from(config_file, overrides), raw_dir)


@app.command()
def train(
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue exactly from models/checkpoints/last.pt.")
    ] = False,
    config_file: ConfigOption = None,
    overrides: SetOption = None,
    preset: PresetOption = None,
) -> None:
    """Train the model; checkpoints go to models/checkpoints/, metrics to MLflow."""
    with user_errors():
        do_train(settings_from(config_file, overrides, preset), resume=resume)


@app.command()
def evaluate(
    config_file: ConfigOption = None, overrides: SetOption = None, preset: PresetOption = None
) -> None:
    """Score the test split; write metrics, figures, reports/report.html and MODEL_CARD.md."""
    with user_errors():
        do_evaluate(settings_from(config_file, overrides, preset))


@app.command()
def export(config_file: ConfigOption = None, overrides: SetOption = None) -> None:
    """Write models/model.onnx with a dynamic batch axis and check it against PyTorch."""
    with user_errors():
        do_export(settings_from(config_file, overrides))


@app.command()
def predict(
    inputs: Annotated[Path, typer.Argument(help="An image, or a folder of images.")],
    top_k: Annotated[
        int | None, typer.Option("--top-k", min=1, help="Classes to list per image [default: 3].")
    ] = None,
    config_file: ConfigOption = None,
    overrides: SetOption = None,
) -> None:
    """Classify images with the best checkpoint; write top-k CSV and JSON to reports/."""
    with user_errors():
        do_predict(settings_from(config_file, overrides), inputs, top_k)


@app.command()
def site() -> None:
    """Build the results site in site/ from the latest reports: run `demo` first."""
    from .site import Page, build_for

    with user_errors():
        paths = settings_from(None, None).paths
        built = build_for(paths, [Page("Report", paths.report_html)])
    console.print(f"[bold]Results site[/]: {built.summary()}")


@app.command()
def demo(overrides: SetOption = None) -> None:
    """Every stage with the fast preset on data/raw (the bundled digits unless you put your own)."""
    from . import pipeline

    started = time.perf_counter()
    with user_errors():
        settings = settings_from(None, overrides, "fast")
        do_data(settings, None)
        do_train(settings, resume=False)
        evaluation = do_evaluate(settings)
        do_export(settings)
        do_predict(settings, pipeline.write_demo_input(settings), None)
    paths = settings.paths
    summary = evaluation.summary
    console.print(
        Panel(
            f"Held-out accuracy: [bold]{summary.accuracy:.3f}[/] on {summary.test_images} test "
            f"images (always guessing the largest class: {summary.majority_rate:.3f})\n"
            f"Report: {shown(paths.report_html)} (and {shown(paths.report_md)})\n"
            f"Model card: {shown(paths.model_card)}\n"
            f"ONNX model: {shown(paths.onnx_model)}\n"
            f"Finished in {time.perf_counter() - started:.1f} s",
            title=f"{PROJECT_NAME} demo",
            expand=False,
        )
    )


# `python -m <package>.cli`, which is how `torchrun -m` starts each training process.
if __name__ == "__main__":
    app()
