"""Test-split evaluation of the best checkpoint: metrics, calibration, mistakes, throughput."""

import json
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

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

    def figure(self, key: str, reports_dir: Path) -> Path | None:
        relative = self.summary.figures.get(key)
        return reports_dir / relative if relative else None


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


@torch.inference_mode()
def score(
    model: torch.nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    device: torch.device,
) -> Scores:
    """Class probabilities for every batch; the time counts the model's forward passes only."""
    model.eval()
    probabilities, labels = [], []
    seconds = 0.0
    for images, targets in batches:
        inputs = images.to(device)
        started = time.perf_counter()
        logits = model(inputs)
        # CUDA runs asynchronously: wait for the batch before reading the clock.
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds += time.perf_counter() - started
        probabilities.append(torch.softmax(logits.float(), dim=1).cpu().numpy())
        labels.append(targets.numpy())
    return Scores(
        probabilities=np.concatenate(probabilities),
        labels=np.concatenate(labels).astype(np.int64),
        seconds=seconds,
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
