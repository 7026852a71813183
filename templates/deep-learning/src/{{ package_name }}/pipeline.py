"""The pipeline stages as plain functions: the command line and the tests both call these."""

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from itertools import zip_longest
from pathlib import Path

import mlflow
import torch
from mlflow.exceptions import MlflowException

from . import data, evaluate, export, plots, report, train
from .checkpoint import LoadedModel, load_for_inference
from .config import Settings
from .dataset import ManifestRow, load_split
from .errors import MissingArtifactError
from .images import load_image
from .predict import PredictResult, predict
from .tracking import start_run, use_experiment

# How many held-out images the demo copies into a folder to show `predict` on.
DEMO_IMAGES = 10


def run_data(settings: Settings, raw_dir: Path | None = None) -> data.DataSummary:
    """Check the image folder; write the split manifest, classes.json and the summary."""
    return data.prepare(settings, raw_dir)


def run_train(settings: Settings, *, resume: bool = False) -> train.TrainResult:
    """The training loop; checkpoints, history and MLflow metrics are written as it goes."""
    return train.train(settings, settings.paths, resume=resume)


@contextmanager
def training_run(settings: Settings, run_id: str | None) -> Iterator[mlflow.ActiveRun]:
    """The MLflow run training logged to, reopened; a new run if that one is not in the store."""
    use_experiment(settings.tracking_uri)
    if run_id:
        try:
            mlflow.MlflowClient().get_run(run_id)
        except MlflowException:
            run_id = None
    if run_id:
        with mlflow.start_run(run_id=run_id) as run:
            yield run
    else:
        with start_run(settings, "evaluate") as run:
            yield run


def log_files(settings: Settings, files: list[Path]) -> None:
    """Log files as artifacts where they sit in the project: reports/figures/x.png stays so."""
    for path in files:
        folder = path.parent.relative_to(settings.project_root).as_posix()
        mlflow.log_artifact(str(path), artifact_path=None if folder == "." else folder)


def current_export(settings: Settings) -> export.ExportResult | None:
    """The last export's result, unless training has written the checkpoint again since."""
    paths = settings.paths
    exported = export.load(paths)
    checkpoint = evaluate.checkpoint_path(settings)
    if exported is None or not paths.onnx_model.is_file() or not checkpoint.is_file():
        return None
    # An ONNX file older than the checkpoint holds another model: its parity says nothing here.
    if checkpoint.stat().st_mtime > paths.onnx_model.stat().st_mtime:
        return None
    return exported


def write_reports(settings: Settings) -> list[Path]:
    """The report and the model card from the saved evaluation and export, whichever exist."""
    paths = settings.paths
    if not evaluate.metrics_json(paths).is_file():
        return []
    evaluation = evaluate.load(paths)
    exported = current_export(settings)
    return [
        *report.write_report(evaluation, exported, paths),
        report.write_model_card(evaluation, exported, paths.model_card),
    ]


def run_evaluate(settings: Settings) -> tuple[evaluate.Evaluation, list[Path]]:
    """Score the test split; write metrics, figures, the report and the model card; log them."""
    paths = settings.paths
    evaluation = evaluate.evaluate(settings)
    figures = [paths.reports_dir / name for name in evaluation.summary.figures.values()]
    files = [*figures, *evaluate.save(evaluation, paths), *write_reports(settings)]
    summary = evaluation.summary
    with training_run(settings, summary.run_id):
        mlflow.log_metrics(
            {
                "test_accuracy": summary.accuracy,
                "test_macro_f1": summary.macro_f1,
                "test_ece": summary.ece,
                "eval_images_per_second": summary.images_per_second,
            }
        )
        log_files(settings, files)
    return evaluation, files


def held_out_rows(settings: Settings) -> list[ManifestRow]:
    return load_split(settings.paths).part("test")


def example_images(settings: Settings, loaded: LoadedModel, count: int) -> torch.Tensor:
    """Up to `count` test images, as the model takes them, for checking the export."""
    rows = held_out_rows(settings)[:count]
    if not rows:
        raise MissingArtifactError(
            f"{settings.paths.manifest} has no test images to check the export with: run the "
            "`data` command with data.test_fraction above 0."
        )
    return torch.stack([load_image(row.path, loaded.image_size, loaded.channels) for row in rows])


def run_export(settings: Settings) -> tuple[export.ExportResult, list[Path]]:
    """Write the ONNX model, check it at every batch size, add the figures to the report."""
    paths = settings.paths
    config = settings.export
    loaded = load_for_inference(evaluate.checkpoint_path(settings))
    images = example_images(settings, loaded, max(config.batch_sizes))
    result = export.export(loaded.model, images, paths.onnx_model, config)
    figure = plots.parity(
        [check.batch_size for check in result.parity],
        [check.max_abs_diff for check in result.parity],
        config.tolerance,
        paths.figures_dir / "onnx_parity.png",
    )
    result = replace(
        result,
        path=data.shown_path(paths.onnx_model, paths.root),
        figure=figure.relative_to(paths.reports_dir).as_posix(),
    )
    files = [paths.onnx_model, export.save(result, paths), figure, *write_reports(settings)]
    with training_run(settings, loaded.run_id):
        mlflow.log_metric("onnx_max_abs_diff", result.max_abs_diff)
        log_files(settings, files)
    return result, files


def run_predict(settings: Settings, inputs: Path, top_k: int | None = None) -> PredictResult:
    """Top-k classes of an image or a folder of images, written as CSV and JSON."""
    return predict(settings, inputs, top_k)


def write_demo_input(settings: Settings, count: int = DEMO_IMAGES) -> Path:
    """A few held-out images copied to a folder, standing in for new images to classify."""
    paths = settings.paths
    folder = paths.root / "data" / "demo_input"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rows = held_out_rows(settings)
    # One image of each class in turn, so the demo shows every class rather than the first.
    by_class: dict[int, list[ManifestRow]] = {}
    for row in rows:
        by_class.setdefault(row.label, []).append(row)
    mixed = [row for group in zip_longest(*by_class.values()) for row in group if row]
    for index, row in enumerate(mixed[:count]):
        # Numbered: two class folders may hold files of the same name.
        shutil.copy2(row.path, folder / f"{index:02d}_{row.path.name}")
    return folder
