"""The evaluation report (Markdown and self-contained HTML) and the model card."""

import base64
import re
from datetime import UTC, datetime
from importlib import metadata as package_metadata
from pathlib import Path

import markdown
import pandas as pd

from . import PROJECT_NAME, tables
from .evaluate import Evaluation
from .metrics import METRICS
from .paths import Paths
from .train import cv_display_table

SAMPLE_SOURCE = "bundled sample"
SAMPLE_CITATION = (
    'UCI Machine Learning Repository "Heart Disease" (Janosi, Steinbrunn, Pfisterer and Detrano, '
    "1988; doi:10.24432/C52P4X; CC BY 4.0), 920 patients from four sites; see "
    "`sample_data/SOURCE.md` in the package."
)
IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)]+\.png)\)")


def metrics_table(metrics: dict[str, float]) -> str:
    """Metrics as a two-column Markdown table."""
    names = [METRICS[name] for name in metrics]
    return tables.to_markdown(pd.DataFrame({"metric": names, "value": list(metrics.values())}))


def cv_table(evaluation: Evaluation) -> pd.DataFrame:
    """The cross-validation results stored in the model's metadata."""
    cv = pd.DataFrame.from_dict(evaluation.metadata.cv_metrics, orient="index")
    return cv_display_table(cv.assign(model=cv.index))


def data_source(evaluation: Evaluation) -> str:
    source = evaluation.metadata.source
    return SAMPLE_CITATION if source == SAMPLE_SOURCE else f"`{source}`"


def _figure(evaluation: Evaluation, reports_dir: Path, key: str, alt: str) -> str:
    path = evaluation.figures.get(key)
    return f"![{alt}]({path.relative_to(reports_dir).as_posix()})\n" if path else ""


def render_markdown(evaluation: Evaluation, reports_dir: Path) -> str:
    """The report as Markdown, with images linked relative to reports/."""
    meta = evaluation.metadata
    parts = [
        f"# {PROJECT_NAME}: evaluation report\n",
        (
            f"Model **{meta.model_name}**, calibrated ({meta.calibration}), trained on "
            f"{meta.training_rows} rows and evaluated on {evaluation.holdout_rows} held-out "
            f"rows. Decision threshold **{meta.threshold:.3f}** (highest F1 on out-of-fold "
            "predictions).\n"
        ),
        "## Held-out metrics\n",
        metrics_table(evaluation.metrics),
        _figure(evaluation, reports_dir, "roc", "ROC curve"),
        _figure(evaluation, reports_dir, "pr", "Precision-recall curve"),
        _figure(evaluation, reports_dir, "calibration", "Calibration curve"),
        _figure(evaluation, reports_dir, "confusion", "Confusion matrix"),
        "## Cross-validation on the training rows (mean ± std across folds)\n",
        tables.to_markdown(cv_table(evaluation)),
        "![Model comparison](figures/cv_comparison.png)\n",
        "## What drives the predictions\n",
        tables.to_markdown(evaluation.importance),
        _figure(evaluation, reports_dir, "importance", "Permutation importance"),
        _figure(evaluation, reports_dir, "shap", "SHAP summary"),
        "## Where the model goes wrong\n",
        "Slices with the highest error rate (categories and numeric quartiles):\n",
        tables.to_markdown(evaluation.slices),
        "The most confident mistakes:\n",
        tables.to_markdown(evaluation.mistakes),
    ]
    if evaluation.fairness is not None:
        gaps = ", ".join(f"{name} {gap:.3f}" for name, gap in evaluation.fairness_gaps.items())
        parts += [
            f"## Fairness by {evaluation.fairness_column}\n",
            tables.to_markdown(evaluation.fairness),
            f"Largest gap between groups: {gaps}.\n",
        ]
    if evaluation.notes:
        parts += ["## Notes\n", *(f"- {note}\n" for note in evaluation.notes)]
    parts += ["## Data\n", f"{data_source(evaluation)}\n"]
    return "\n".join(part for part in parts if part)


def render_html(report: str, base: Path) -> str:
    """The report as one HTML file: images are embedded so it can be mailed or archived alone."""

    def embed(match: re.Match[str]) -> str:
        encoded = base64.b64encode((base / match[2]).read_bytes()).decode("ascii")
        return f"![{match[1]}](data:image/png;base64,{encoded})"

    body = markdown.markdown(IMAGE.sub(embed, report), extensions=["tables"])
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{PROJECT_NAME} evaluation report</title>\n<style>\n"
        "body { font-family: system-ui, sans-serif; max-width: 960px; margin: 2rem auto; }\n"
        "table { border-collapse: collapse; margin: 1rem 0; font-size: 0.85rem; }\n"
        "th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; }\n"
        "img { max-width: 100%; }\n</style>\n</head>\n<body>\n"
        f"{body}\n</body>\n</html>\n"
    )


def write_report(evaluation: Evaluation, paths: Paths) -> list[Path]:
    """Write reports/report.md and its self-contained HTML twin."""
    report = render_markdown(evaluation, paths.reports_dir)
    paths.report_md.write_text(report)
    paths.report_html.write_text(render_html(report, paths.reports_dir))
    return [paths.report_md, paths.report_html]


def _package_field(name: str, default: str) -> str:
    try:
        fields = package_metadata.metadata(PROJECT_NAME)
    except package_metadata.PackageNotFoundError:
        return default
    values = fields.get_all(name)
    return str(values[0]) if values else default


def render_model_card(evaluation: Evaluation) -> str:
    """The model card: what the model is for, how it was made, how well it does, where it fails."""
    meta = evaluation.metadata
    best_cv = meta.cv_metrics[meta.model_name]
    cv_lines = "\n".join(
        f"| {label} | {best_cv[f'{name}_mean']:.3f} ± {best_cv[f'{name}_std']:.3f} "
        f"| {evaluation.metrics[name]:.3f} |"
        for name, label in METRICS.items()
    )
    slices = "\n".join(
        f"- `{row.column}` = `{row.slice}`: error rate {row.error_rate:.2f} over {row.support} rows"
        for row in evaluation.slices.head(3).itertuples()
    )
    if evaluation.fairness is not None:
        fairness = (
            f"By `{evaluation.fairness_column}`:\n\n{tables.to_markdown(evaluation.fairness)}\n"
            "Largest gaps between groups: "
            + ", ".join(f"{name} {gap:.3f}" for name, gap in evaluation.fairness_gaps.items())
            + "."
        )
    else:
        fairness = "No sensitive attribute was set, so no group metrics were computed."
    today = datetime.now(UTC).date().isoformat()
    return f"""# Model card: {PROJECT_NAME}

> Written by `{PROJECT_NAME} evaluate` on {today} from the latest evaluation; it is rewritten on
> every evaluation, so change the generator (`report.py`), not this file.

## Intended use

{_package_field("Summary", "A binary classifier for tabular data.")}

For research and teaching: estimating risk from routinely measured values and studying how such
a model behaves. It is not meant to make or replace decisions about individual people.

## Data

{data_source(evaluation)}

{meta.training_rows} training rows (SHA-256 of their contents `{meta.training_data_sha256[:16]}…`),
{evaluation.holdout_rows} held-out rows kept apart by a stratified split. Target: `{meta.target}`.

## Training procedure

Every model in the basket ({", ".join(meta.cv_metrics)}) was cross-validated with stratified
folds; imputation, scaling and one-hot encoding were fitted inside each fold. The best model by
mean AUROC, **{meta.model_name}**, was calibrated ({meta.calibration}, cross-validated
`CalibratedClassifierCV`) and refitted on all training rows.

## Metrics

| metric | cross-validation (mean ± std) | held-out |
| -- | -- | -- |
{cv_lines}

Cross-validation scores the uncalibrated model at threshold 0.5; held-out scores the calibrated
model at the chosen threshold.

## Decision threshold

{meta.threshold:.3f}: the cut-off with the highest F1 on out-of-fold predictions of the
calibrated model. Change it in `models/metadata.json` if missed cases and false alarms have
different costs.

## Slices and fairness

Slices with the highest error rate on held-out rows:

{slices or "- none large enough to report"}

{fairness}

## Limitations

- Trained on {meta.training_rows} rows: metrics carry real uncertainty (see the spread across
  folds), and the held-out estimate rests on {evaluation.holdout_rows} rows.
- The data comes from a few sites and a specific period; the model may not transfer to other
  populations, sites or measurement practices without re-validation.
- Missing values are imputed; rows missing many measurements get less reliable predictions.

## Ethical considerations

This is not a medical device and has not been clinically validated. Do not use it to diagnose,
treat or triage anyone. Differences between groups above are descriptive, from a small sample,
and must be investigated before any use that affects people.

## Owner

{_package_field("Author-email", "the project's authors")}
"""


def write_model_card(evaluation: Evaluation, path: Path) -> Path:
    """Rewrite the model card at the project root."""
    path.write_text(render_model_card(evaluation))
    return path
