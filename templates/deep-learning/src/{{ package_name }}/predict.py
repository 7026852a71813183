"""The `predict` stage: the top-k classes of an image file or of every image in a folder.

A file that is not a usable image is skipped with its reason, as `data` does, and the rest are
scored; the predictions go to CSV (one row per image and rank) and JSON (with the skipped files).
"""

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from .checkpoint import LoadedModel, load_for_inference
from .config import Settings
from .console import shown
from .data import Skipped, shown_path
from .errors import DataValidationError, MissingArtifactError
from .images import BadImageError, read_image, to_tensor

# How many skipped files an error message quotes before it says "and N more".
QUOTED = 3


@dataclass(frozen=True)
class Prediction:
    """One image's most likely classes, most likely first."""

    path: str
    labels: tuple[str, ...]
    probabilities: tuple[float, ...]


@dataclass(frozen=True)
class PredictResult:
    """What `predict` scored, what it skipped and why, and the files it wrote."""

    checkpoint: str
    top_k: int
    predictions: tuple[Prediction, ...]
    skipped: tuple[tuple[str, str], ...]
    written: tuple[Path, ...]

    def print(self, console: Console) -> None:
        table = Table(title=f"Top {self.top_k} classes ({self.checkpoint})", title_justify="left")
        table.add_column("image")
        for rank in range(1, self.top_k + 1):
            table.add_column(f"#{rank}")
        for item in self.predictions:
            cells = [
                f"{label} ({probability:.1%})"
                for label, probability in zip(item.labels, item.probabilities, strict=True)
            ]
            table.add_row(item.path, *cells)
        console.print(table)
        if self.skipped:
            skipped = Table(title=f"Skipped files ({len(self.skipped)})", title_justify="left")
            skipped.add_column("file")
            skipped.add_column("reason")
            for path, reason in self.skipped:
                skipped.add_row(path, reason)
            console.print(skipped)
        console.print(f"Scored {len(self.predictions)} image(s). Written:")
        for file in self.written:
            console.print(f"  [green]→[/] {shown(file)}", highlight=False)


def image_files(inputs: Path) -> list[Path]:
    """The file itself, or every file under the folder (subfolders too), hidden ones left out."""
    if inputs.is_file():
        return [inputs]
    if not inputs.is_dir():
        raise DataValidationError(
            f"{inputs} does not exist: pass an image file or a folder of images to predict."
        )
    return sorted(
        path
        for path in inputs.rglob("*")
        if path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(inputs).parts)
    )


def read_inputs(
    files: list[Path], loaded: LoadedModel
) -> tuple[list[tuple[Path, torch.Tensor]], list[Skipped]]:
    """Each readable image as a tensor the model takes; the others with their reasons."""
    images: list[tuple[Path, torch.Tensor]] = []
    skipped: list[Skipped] = []
    for path in files:
        try:
            image = read_image(path, loaded.image_size, loaded.channels)
        except BadImageError as error:
            skipped.append(Skipped(path, error.reason))
            continue
        images.append((path, to_tensor(image)))
    return images, skipped


@torch.inference_mode()
def top_classes(
    loaded: LoadedModel, images: list[torch.Tensor], top_k: int, batch_size: int
) -> list[tuple[list[int], list[float]]]:
    """(class indices, probabilities) of the top_k classes of each image, in input order."""
    device = next(loaded.model.parameters()).device
    results: list[tuple[list[int], list[float]]] = []
    for start in range(0, len(images), batch_size):
        batch = torch.stack(images[start : start + batch_size]).to(device)
        probabilities = torch.softmax(loaded.model(batch).float(), dim=1)
        values, indices = probabilities.topk(top_k, dim=1)
        results.extend(zip(indices.tolist(), values.tolist(), strict=True))
    return results


def predict(settings: Settings, inputs: Path, top_k: int | None = None) -> PredictResult:
    """Score `inputs` (a file or a folder) with the best checkpoint; write CSV and JSON."""
    paths = settings.paths
    checkpoint = paths.checkpoint_best
    if not checkpoint.is_file():
        raise MissingArtifactError(
            f"No trained model at {shown_path(checkpoint, paths.root)}: run the `train` command "
            "first."
        )
    files = image_files(inputs)
    loaded = load_for_inference(checkpoint)
    images, skipped = read_inputs(files, loaded)
    if not images:
        if inputs.is_file():
            raise BadImageError(inputs, skipped[0].reason)
        reasons = "; ".join(f"{item.path.name}: {item.reason}" for item in skipped[:QUOTED])
        more = f" and {len(skipped) - QUOTED} more" if len(skipped) > QUOTED else ""
        why = f" ({len(skipped)} file(s) skipped: {reasons}{more})" if skipped else ""
        raise DataValidationError(
            f"{inputs} holds no usable images{why}: add .png or .jpg files to it."
        )
    k = min(top_k or settings.predict.top_k, len(loaded.class_names))
    scores = top_classes(loaded, [tensor for _, tensor in images], k, settings.predict.batch_size)
    predictions = tuple(
        Prediction(
            path=shown_path(path, paths.root),
            labels=tuple(loaded.class_names[index] for index in indices),
            probabilities=tuple(round(value, 6) for value in values),
        )
        for (path, _), (indices, values) in zip(images, scores, strict=True)
    )
    result = PredictResult(
        checkpoint=shown_path(checkpoint, paths.root),
        top_k=k,
        predictions=predictions,
        skipped=tuple((shown_path(item.path, paths.root), item.reason) for item in skipped),
        written=(paths.predictions_csv, paths.predictions_json),
    )
    write(result, paths.predictions_csv, paths.predictions_json)
    return result


def write(result: PredictResult, csv_path: Path, json_path: Path) -> None:
    """CSV: one row per image and rank. JSON: the same, grouped by image, and the skipped files."""
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "rank", "label", "probability"])
        for item in result.predictions:
            for rank, (label, probability) in enumerate(
                zip(item.labels, item.probabilities, strict=True), start=1
            ):
                writer.writerow([item.path, rank, label, f"{probability:.6f}"])
    document = {
        "checkpoint": result.checkpoint,
        "top_k": result.top_k,
        "predictions": [
            {
                "path": item.path,
                "top": [
                    {"label": label, "probability": probability}
                    for label, probability in zip(item.labels, item.probabilities, strict=True)
                ],
            }
            for item in result.predictions
        ],
        "skipped": [{"path": path, "reason": reason} for path, reason in result.skipped],
    }
    json_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
