"""The evaluation report (Markdown and self-contained HTML) and the model card."""

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from . import PROJECT_NAME, tables
from .evaluate import Evaluation
from .export import ExportResult
from .html_report import package_field, standalone_html
from .paths import Paths


def _figure(evaluation: Evaluation, key: str, alt: str) -> str:
    relative = evaluation.summary.figures.get(key)
    return f"![{alt}]({relative})\n" if relative else ""


def headline_table(evaluation: Evaluation) -> pd.DataFrame:
    """The few numbers to read first."""
    summary = evaluation.summary
    rows = {
        "accuracy": f"{summary.accuracy:.3f}",
        "macro F1": f"{summary.macro_f1:.3f}",
        "majority-class rate (always guessing the largest class)": f"{summary.majority_rate:.3f}",
        f"expected calibration error ({summary.ece_bins} equal-width bins)": f"{summary.ece:.3f}",
        "test images": str(summary.test_images),
    }
    return pd.DataFrame({"metric": list(rows), "value": list(rows.values())})


def parity_table(result: ExportResult) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "batch size": [check.batch_size for check in result.parity],
            "output shape": [" x ".join(map(str, check.output_shape)) for check in result.parity],
            "max abs diff": [f"{check.max_abs_diff:.2e}" for check in result.parity],
            "tolerance": [f"{result.tolerance:.0e}" for _ in result.parity],
        }
    )


def throughput(evaluation: Evaluation) -> str:
    summary = evaluation.summary
    text = (
        f"Evaluation: {summary.images_per_second:,.0f} images/s, forward passes only, batches "
        f"of {summary.eval_batch_size} on {summary.device}."
    )
    training = [row["images_per_second"] for row in summary.history if "images_per_second" in row]
    if training:
        text += (
            f" Training: {sum(training) / len(training):,.0f} images/s on average over "
            f"{len(training)} epoch(s), forward and backward passes with data loading."
        )
    return text + "\n"


def export_section(result: ExportResult | None) -> list[str]:
    if result is None:
        return [
            "## ONNX export\n",
            f"Not exported yet: `{PROJECT_NAME} export` writes the ONNX model and checks it.\n",
        ]
    shape = " x ".join(str(axis) for axis in result.input_shape)
    return [
        "## ONNX export\n",
        (
            f"`{result.path}` (opset {result.opset}, {result.size_bytes / 1024:.0f} KiB) takes "
            f"`{result.input_name}`: float32 images of shape {shape}, channels first, pixel "
            "values scaled to [0, 1]. The normalisation the model was trained with is part "
            f"of the graph. It returns `{result.output_name}` (apply softmax for probabilities). "
            "The batch axis is dynamic: ONNX Runtime ran each batch size below and matched "
            "PyTorch within the tolerance.\n"
        ),
        tables.to_markdown(parity_table(result)),
        f"![ONNX parity]({result.figure})\n" if result.figure else "",
    ]


def render_markdown(evaluation: Evaluation, exported: ExportResult | None) -> str:
    """The report as Markdown, with images linked relative to reports/."""
    summary = evaluation.summary
    mistakes = evaluation.mistakes
    parts = [
        f"# {PROJECT_NAME}: evaluation report\n",
        (
            f"Model **{summary.model}** ({summary.parameters:,} parameters) on "
            f"{summary.image_size}x{summary.image_size} images with {summary.channels} "
            f"channel(s), {len(summary.class_names)} classes. Trained on {summary.train_images} "
            f"images, checkpoint chosen on {summary.val_images} validation images (best "
            f"{summary.monitor} {summary.best_metric:.3f} at epoch {summary.best_epoch}), scored "
            f"here on {summary.test_images} held-out test images. Precision in training: "
            f"{summary.precision}.\n"
        ),
        "## Held-out results\n",
        tables.to_markdown(headline_table(evaluation)),
        "## Learning curves\n",
        _figure(evaluation, "learning_curves", "Learning curves"),
        "## Per-class precision, recall and F1\n",
        tables.to_markdown(evaluation.per_class),
        _figure(evaluation, "per_class", "Per-class metrics"),
        "## Confusion matrix\n",
        _figure(evaluation, "confusion", "Confusion matrix"),
        "## Calibration\n",
        (
            f"Expected calibration error **{summary.ece:.3f}**: the predicted class's "
            f"probability is put into {summary.ece_bins} equal-width bins over [0, 1]; ECE "
            "is the mean over bins of |accuracy - mean confidence|, weighted by the share of "
            "images in the bin. 0 is perfectly calibrated.\n"
        ),
        _figure(evaluation, "reliability", "Reliability diagram"),
        "## Most confident mistakes\n",
        _figure(evaluation, "mistakes", "Most confident mistakes"),
        tables.to_markdown(mistakes) if len(mistakes) else "No mistakes on the test split.\n",
        "## Throughput\n",
        throughput(evaluation),
        *export_section(exported),
        "## Data\n",
        (
            "The images in `data/raw/<class>/` (the bundled sample unless you put your own "
            "there; its source and license are in `SOURCE.md` in the package). The split is "
            "in `data/processed/split.csv`; what `data` found, converted and skipped is in "
            "`reports/data_summary.md`.\n"
        ),
    ]
    return "\n".join(part for part in parts if part)


def write_report(evaluation: Evaluation, exported: ExportResult | None, paths: Paths) -> list[Path]:
    """Write reports/report.md and its self-contained HTML twin."""
    report = render_markdown(evaluation, exported)
    paths.report_md.parent.mkdir(parents=True, exist_ok=True)
    paths.report_md.write_text(report)
    title = f"{PROJECT_NAME} evaluation report"
    paths.report_html.write_text(standalone_html(report, paths.reports_dir, title))
    return [paths.report_md, paths.report_html]


def render_model_card(evaluation: Evaluation, exported: ExportResult | None) -> str:
    """The model card: what the model is for, how it was made, how well it does, where it fails."""
    summary = evaluation.summary
    worst = evaluation.per_class.sort_values("f1").head(3)
    weakest = "\n".join(
        f"- `{row['class']}`: F1 {row['f1']:.3f} (precision {row['precision']:.3f}, recall "
        f"{row['recall']:.3f}, {row['support']} images)"
        for _, row in worst.iterrows()
    )
    if exported is None:
        export_text = f"Not exported yet: `{PROJECT_NAME} export` writes and checks an ONNX model."
    else:
        export_text = (
            f"`{exported.path}`, ONNX opset {exported.opset}, dynamic batch axis; it takes "
            "float32 images scaled to [0, 1], channels first, and does its own "
            f"normalisation. ONNX Runtime matches PyTorch to {exported.max_abs_diff:.1e} "
            f"(tolerance {exported.tolerance:.0e}) at batch sizes "
            + ", ".join(str(check.batch_size) for check in exported.parity)
            + "."
        )
    today = datetime.now(UTC).date().isoformat()
    return f"""# Model card: {PROJECT_NAME}

> Written by `{PROJECT_NAME} evaluate` on {today} from the latest evaluation; it is rewritten on
> every evaluation, so change the generator (`report.py`), not this file.

## Intended use

{package_field("Summary", "An image classifier.")}

Classifies an image into one of {len(summary.class_names)} classes:
{", ".join(f"`{name}`" for name in summary.class_names)}. For learning, prototyping and as a
baseline; images unlike the training data (other sources, sizes, subjects) need re-validation.

## Model

{summary.model}, {summary.parameters:,} parameters, on {summary.image_size}x{summary.image_size}
images with {summary.channels} channel(s). Best checkpoint: epoch {summary.best_epoch}, validation
{summary.monitor} {summary.best_metric:.3f}. Training precision: {summary.precision}.

## Data

{summary.train_images} training, {summary.val_images} validation and {summary.test_images} test
images from a stratified split of `data/raw/` (see `data/processed/split.csv`; the bundled
data's source and license are in the package's `SOURCE.md`).

## Metrics (held-out test split)

| metric | value |
| -- | -- |
| accuracy | {summary.accuracy:.3f} |
| macro F1 | {summary.macro_f1:.3f} |
| majority-class rate | {summary.majority_rate:.3f} |
| expected calibration error ({summary.ece_bins} bins) | {summary.ece:.3f} |

Weakest classes by F1:

{weakest}

## Export

{export_text}

## Limitations

- Tested on {summary.test_images} images: metrics carry real uncertainty at this size.
- The model sees {summary.image_size}x{summary.image_size} pixels; fine detail lost in resizing
  cannot be used, and inputs are resized whatever their aspect ratio.
- Confidence is not correctness: see the calibration error above and the most confident
  mistakes in `reports/report.html`.

## Owner

{package_field("Author-email", "the project's authors")}
"""


def write_model_card(evaluation: Evaluation, exported: ExportResult | None, path: Path) -> Path:
    """Rewrite the model card at the project root."""
    path.write_text(render_model_card(evaluation, exported))
    return path
