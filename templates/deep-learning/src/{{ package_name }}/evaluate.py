"""Test-split evaluation of the best checkpoint: metrics, calibration, mistakes, throughput."""

import json
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd
import torch

from . import plots
from .checkpoint import load_for_inference
from .config import EvaluateConfig, Settings
from .data import shown_path
from .dataset import ManifestDataset, load_split, make_loader
from .distributed import select_device
from .errors import MissingArtifactError
from .images import load_image
from .models import count_parameters
from .paths import Paths

# Guo et al. (2017), "On Calibration of Modern Neural Networks": 15 equal-width bins of the
# predicted class's probability over [0, 1]. Bin i holds (i/15, (i+1)/15]; 0 falls in the first.
ECE_BINS = 15


@dataclass(frozen=True)
class Scores:
    """The model's outputs on a split: class probabilities, true labels, and how fast it ran."""

    probabilities: np.ndarray
    labels: np.ndarray
    seconds: float

    @property
    def predicted(self) -> np.ndarray:
        return np.asarray(self.probabilities.argmax(axis=1))

    @property
    def confidence(self) -> np.ndarray:
        return np.asarray(self.probabilities.max(axis=1))

    @property
    def images_per_second(self) -> float:
        return len(self.labels) / self.seconds if self.seconds > 0 else float("nan")


@dataclass(frozen=True)
class Summary:
    """The scalar results: what metrics.json holds and the report and model card quote."""

    class_names: list[str]
    test_images: int
    accuracy: float
    macro_f1: float
    majority_rate: float
    ece: float
    ece_bins: int
    images_per_second: float
    eval_batch_size: int
    device: str
    model: str
    parameters: int
    image_size: int
    channels: int
    best_epoch: int
    best_metric: float
    monitor: str
    run_id: str | None
    precision: str
    train_images: int
    val_images: int
    history: list[dict[str, float]] = field(default_factory=list)
    figures: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Evaluation:
    """Everything the report shows: the summary and the tables behind the figures."""

    summary: Summary
    per_class: pd.DataFrame
    confusion: np.ndarray
    calibration: pd.DataFrame
    mistakes: pd.DataFrame


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts of true class (row) against predicted class (column)."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix


def per_class_metrics(matrix: np.ndarray, class_names: list[str]) -> pd.DataFrame:
    """Precision, recall, F1 and support per class; 0 where a ratio has nothing to divide by."""
    hits = np.diag(matrix).astype(float)
    predicted = matrix.sum(axis=0).astype(float)
    actual = matrix.sum(axis=1).astype(float)
    precision = np.divide(hits, predicted, out=np.zeros_like(hits), where=predicted > 0)
    recall = np.divide(hits, actual, out=np.zeros_like(hits), where=actual > 0)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(hits), where=total > 0)
    return pd.DataFrame(
        {
            "class": class_names,
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": actual.astype(int),
        }
    )


def calibration_bins(
    confidence: np.ndarray, correct: np.ndarray, n_bins: int = ECE_BINS
) -> pd.DataFrame:
    """Per equal-width confidence bin: its edges, image count, accuracy and mean confidence."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # right=True: a confidence on an edge belongs to the bin it closes, (lower, upper].
    index = np.digitize(confidence, edges[1:-1], right=True)
    rows = []
    for bin_index in range(n_bins):
        members = index == bin_index
        count = int(members.sum())
        rows.append(
            {
                "lower": edges[bin_index],
                "upper": edges[bin_index + 1],
                "count": count,
                "accuracy": float(correct[members].mean()) if count else float("nan"),
                "confidence": float(confidence[members].mean()) if count else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def expected_calibration_error(bins: pd.DataFrame) -> float:
    """ECE: the bins' |accuracy - mean confidence|, weighted by their share of the images."""
    filled = bins[bins["count"] > 0]
    weights = filled["count"] / filled["count"].sum()
    return float((weights * (filled["accuracy"] - filled["confidence"]).abs()).sum())


def confident_mistakes(
    scores: Scores, paths: list[str], class_names: list[str], n: int
) -> pd.DataFrame:
    """The wrong predictions the model was surest of, most confident first."""
    wrong = np.flatnonzero(scores.predicted != scores.labels)
    order = wrong[np.argsort(-scores.confidence[wrong], kind="stable")][:n]
    return pd.DataFrame(
        {
            "path": [paths[i] for i in order],
            "true": [class_names[scores.labels[i]] for i in order],
            "predicted": [class_names[scores.predicted[i]] for i in order],
            "confidence": scores.confidence[order].astype(float),
        }
    )


def synchronize(device: torch.device) -> None:
    """Wait for the device: CUDA runs asynchronously, so the clock would stop too early."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@torch.inference_mode()
def score(
    model: torch.nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    device: torch.device,
) -> Scores:
    """Class probabilities for every batch; the time counts the model's forward passes only.

    The first batch also runs once untimed: one-off costs (memory allocation, kernel selection)
    would otherwise count against throughput.
    """
    model.eval()
    probabilities, labels = [], []
    seconds = 0.0
    for index, (images, targets) in enumerate(batches):
        inputs = images.to(device)
        if index == 0:
            model(inputs)
            synchronize(device)
        started = time.perf_counter()
        logits = model(inputs)
        synchronize(device)
        seconds += time.perf_counter() - started
        probabilities.append(torch.softmax(logits.float(), dim=1).cpu().numpy())
        labels.append(targets.numpy())
    return Scores(
        probabilities=np.concatenate(probabilities),
        labels=np.concatenate(labels).astype(np.int64),
        seconds=seconds,
    )


@dataclass(frozen=True)
class Analysis:
    """What the scores say: headline numbers and the tables behind the figures."""

    accuracy: float
    macro_f1: float
    majority_rate: float
    ece: float
    per_class: pd.DataFrame
    confusion: np.ndarray
    calibration: pd.DataFrame
    mistakes: pd.DataFrame


def analyse(
    scores: Scores, image_paths: list[str], class_names: list[str], config: EvaluateConfig
) -> Analysis:
    """Per-class metrics, confusion, calibration and the most confident mistakes of the scores."""
    matrix = confusion_matrix(scores.labels, scores.predicted, len(class_names))
    table = per_class_metrics(matrix, class_names)
    correct = scores.predicted == scores.labels
    bins = calibration_bins(scores.confidence, correct, config.ece_bins)
    return Analysis(
        accuracy=float(correct.mean()),
        macro_f1=float(table["f1"].mean()),
        # The score of always answering the largest class: what the model has to beat.
        majority_rate=float(table["support"].max() / len(scores.labels)),
        ece=expected_calibration_error(bins),
        per_class=table,
        confusion=matrix,
        calibration=bins,
        mistakes=confident_mistakes(scores, image_paths, class_names, config.n_mistakes),
    )


def draw_figures(
    analysis: Analysis,
    history: list[dict[str, float]],
    mistake_images: list[np.ndarray],
    figures_dir: Path,
) -> dict[str, Path]:
    """Every evaluation figure; learning curves only when there is a history to draw."""
    names = analysis.per_class["class"].astype(str).tolist()
    captions = [
        f"true {row.true}, said {row.predicted}\n{row.confidence:.0%} sure"
        for row in analysis.mistakes.itertuples()
    ]
    figures = {
        "per_class": plots.per_class(analysis.per_class, figures_dir / "per_class_metrics.png"),
        "confusion": plots.confusion(
            analysis.confusion, names, figures_dir / "confusion_matrix.png"
        ),
        "reliability": plots.reliability(
            analysis.calibration, analysis.ece, figures_dir / "reliability_diagram.png"
        ),
        "mistakes": plots.image_grid(
            mistake_images,
            captions,
            "Most confident mistakes (test split)",
            figures_dir / "confident_mistakes.png",
        ),
    }
    if history:
        figures["learning_curves"] = plots.learning_curves(
            history, figures_dir / "learning_curves.png"
        )
    return figures


def checkpoint_path(settings: Settings) -> Path:
    paths = settings.paths
    return (
        paths.checkpoint_best if settings.evaluate.checkpoint == "best" else paths.checkpoint_last
    )


def evaluate(settings: Settings) -> Evaluation:
    """Score the test split with the chosen checkpoint and draw the evaluation figures."""
    paths, config = settings.paths, settings.evaluate
    device = select_device(settings.train.device)
    loaded = load_for_inference(checkpoint_path(settings), device)
    split = load_split(paths)
    if list(split.info.names) != loaded.class_names:
        raise MissingArtifactError(
            f"The checkpoint was trained on classes {loaded.class_names}, the current split has "
            f"{list(split.info.names)}: run the `train` command again."
        )
    test_rows = split.part("test")
    if not test_rows:
        raise MissingArtifactError(
            f"{paths.manifest} has no test images: run the `data` command with "
            "data.test_fraction above 0."
        )
    images = ManifestDataset(test_rows, loaded.image_size, loaded.channels, seed=settings.seed)
    loader = make_loader(images, batch_size=config.batch_size, shuffle=False, seed=settings.seed)
    # Default collation stacks each batch's integer labels into one tensor.
    batches = cast("Iterable[tuple[torch.Tensor, torch.Tensor]]", loader)
    if config.max_batches:
        batches = islice(batches, config.max_batches)
    scores = score(loaded.model, batches, device)
    scored_rows = test_rows[: len(scores.labels)]
    shown = [shown_path(row.path, paths.root) for row in scored_rows]
    analysis = analyse(scores, shown, loaded.class_names, config)
    by_path = {shown_path(row.path, paths.root): row.path for row in scored_rows}
    mistake_images = [
        load_image(by_path[path], loaded.image_size, loaded.channels).permute(1, 2, 0).numpy()
        for path in analysis.mistakes["path"]
    ]
    figures = draw_figures(analysis, loaded.history, mistake_images, paths.figures_dir)
    counts = Counter(row.split for row in split.rows)
    summary = Summary(
        class_names=loaded.class_names,
        test_images=len(scores.labels),
        accuracy=analysis.accuracy,
        macro_f1=analysis.macro_f1,
        majority_rate=analysis.majority_rate,
        ece=analysis.ece,
        ece_bins=config.ece_bins,
        images_per_second=scores.images_per_second,
        eval_batch_size=config.batch_size,
        device=str(device),
        model=loaded.model_name,
        parameters=count_parameters(loaded.model),
        image_size=loaded.image_size,
        channels=loaded.channels,
        best_epoch=loaded.best_epoch,
        best_metric=loaded.best_metric,
        monitor=loaded.monitor,
        run_id=loaded.run_id,
        precision=loaded.precision_reason.rstrip(".") or loaded.precision,
        train_images=counts["train"],
        val_images=counts["val"],
        history=loaded.history,
        figures={
            key: path.relative_to(paths.reports_dir).as_posix() for key, path in figures.items()
        },
    )
    return Evaluation(
        summary=summary,
        per_class=analysis.per_class,
        confusion=analysis.confusion,
        calibration=analysis.calibration,
        mistakes=analysis.mistakes,
    )


def metrics_json(paths: Paths) -> Path:
    return paths.reports_dir / "metrics.json"


def table_files(paths: Paths) -> dict[str, Path]:
    reports = paths.reports_dir
    return {
        "per_class": reports / "per_class_metrics.csv",
        "confusion": reports / "confusion_matrix.csv",
        "calibration": reports / "calibration_bins.csv",
        "mistakes": reports / "confident_mistakes.csv",
    }


def save(evaluation: Evaluation, paths: Paths) -> list[Path]:
    """The summary as JSON and the tables as CSV, for spreadsheets, MLflow and the report."""
    paths.reports_dir.mkdir(parents=True, exist_ok=True)
    files = table_files(paths)
    evaluation.per_class.to_csv(files["per_class"], index=False)
    names = evaluation.summary.class_names
    pd.DataFrame(evaluation.confusion, index=pd.Index(names, name="true"), columns=names).to_csv(
        files["confusion"]
    )
    evaluation.calibration.to_csv(files["calibration"], index=False)
    evaluation.mistakes.to_csv(files["mistakes"], index=False)
    summary = metrics_json(paths)
    summary.write_text(json.dumps(asdict(evaluation.summary), indent=2) + "\n")
    return [summary, *files.values()]


def load(paths: Paths) -> Evaluation:
    """The evaluation that `save` wrote."""
    files = table_files(paths)
    confusion = pd.read_csv(files["confusion"], index_col=0)
    return Evaluation(
        summary=Summary(**json.loads(metrics_json(paths).read_text())),
        per_class=pd.read_csv(files["per_class"], dtype={"class": str}),
        confusion=confusion.to_numpy(dtype=np.int64),
        calibration=pd.read_csv(files["calibration"]),
        mistakes=pd.read_csv(files["mistakes"], dtype={"true": str, "predicted": str}),
    )
