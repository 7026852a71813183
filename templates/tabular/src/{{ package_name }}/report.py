"""The evaluation report (Markdown and self-contained HTML) and the model card."""

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from . import ENV_PREFIX, PROJECT_NAME, tables
from .data import SAMPLE_SOURCE
from .evaluate import Evaluation
from .html_report import package_field, standalone_html
from .metrics import METRICS
from .paths import Paths
from .train import cv_display_table

SAMPLE_CITATION = (
    'UCI Machine Learning Repository "Heart Disease" (Janosi, Steinbrunn, Pfisterer and Detrano, '
    "1988; doi:10.24432/C52P4X; CC BY 4.0), 920 patients from four sites; see "
    "`sample_data/SOURCE.md` in the package."
)


def interval(evaluation: Evaluation, name: str) -> str:
    """A metric's 95% bootstrap interval as `low to high`, or nothing when there is none."""
    bounds = evaluation.intervals.get(name)
    return f"{bounds[0]:.3f} to {bounds[1]:.3f}" if bounds else ""


def metrics_table(evaluation: Evaluation) -> str:
    """Held-out metrics with their intervals, as a Markdown table."""
    return tables.to_markdown(
        pd.DataFrame(
            {
                "metric": [METRICS[name] for name in evaluation.metrics],
                "value": list(evaluation.metrics.values()),
                "95% interval": [interval(evaluation, name) for name in evaluation.metrics],
            }
        )
    )


def cv_table(evaluation: Evaluation) -> pd.DataFrame:
    """The cross-validation results stored in the model's metadata."""
    cv = pd.DataFrame.from_dict(evaluation.metadata.cv_metrics, orient="index")
    return cv_display_table(cv.assign(model=cv.index))


def is_sample(evaluation: Evaluation) -> bool:
    return evaluation.metadata.source == SAMPLE_SOURCE


def data_source(evaluation: Evaluation) -> str:
    return SAMPLE_CITATION if is_sample(evaluation) else f"`{evaluation.metadata.source}`"


def labels(evaluation: Evaluation) -> str:
    meta = evaluation.metadata
    return f"`{meta.negative_label}` → 0, `{meta.positive_label}` → 1 (positive)"


def data_lines(evaluation: Evaluation) -> list[str]:
    """What data the model was made from, and everything loading changed in it."""
    meta = evaluation.metadata
    lines = [
        f"- Source: {data_source(evaluation)}",
        f"- Target: `{meta.target}`, labels {labels(evaluation)}",
        (
            f"- Rows: {meta.training_rows} for training, {evaluation.holdout_rows} held out "
            f"({meta.training_rows + evaluation.holdout_rows} in all); "
            f"{len(meta.feature_schema.features)} feature columns"
        ),
    ]
    lines += [
        f"- `{column}`: {count} value{'' if count == 1 else 's'} "
        f"{meta.missing_rules[column].describe()} replaced with missing ones (impossible as "
        f"measurements; rules set by `{ENV_PREFIX}DATA__MISSING_RULES`)"
        for column, count in meta.replaced.items()
    ]
    lines += [
        f"- `{finding.column}` {finding.action} ({finding.kind}): "
        f"{tables.escape(finding.reason)}; {tables.escape(finding.setting)}"
        for finding in meta.column_findings
    ]
    return lines


def caveats(evaluation: Evaluation) -> list[str]:
    """The main reasons to trust the numbers less, in plain words."""
    meta = evaluation.metadata
    notes = [
        (
            f"The held-out estimate rests on {evaluation.holdout_rows} rows: the AUROC could "
            f"plausibly lie anywhere from {interval(evaluation, 'auroc')}."
        )
    ]
    for shortcut in evaluation.shortcuts:
        lead = (
            "is the most important input"
            if shortcut.dominates
            else f"ranks {shortcut.rank} by importance"
        )
        expect = (
            ": expect the lower figure where the data comes from somewhere new"
            if shortcut.without_column["auroc"] < shortcut.with_column["auroc"]
            else ""
        )
        notes.append(
            f"`{shortcut.column}` describes how the data was collected, not the cases, and "
            f"{lead}. Without it the held-out AUROC is "
            f"{shortcut.without_column['auroc']:.3f} (with it "
            f"{shortcut.with_column['auroc']:.3f}){expect}."
        )
    replaced = sum(meta.replaced.values())
    if replaced:
        notes.append(
            f"{replaced} impossible values ({', '.join(f'`{name}`' for name in meta.replaced)}) "
            "were treated as missing and imputed."
        )
    leaks = [f"`{f.column}`" for f in meta.column_findings if f.kind == "likely leak"]
    if leaks:
        notes.append(
            f"{', '.join(leaks)} alone predicts the target almost perfectly: a likely leak, "
            "kept as a feature until you decide (see Data)."
        )
    if is_sample(evaluation):
        notes.append("Not a medical device: for learning and research only.")
    return notes


def summary(evaluation: Evaluation) -> list[str]:
    """The opening section: what was predicted, how well, and the caveats, for any reader."""
    meta = evaluation.metadata
    auroc = evaluation.metrics["auroc"]
    data = "the bundled heart-disease data" if is_sample(evaluation) else data_source(evaluation)
    return [
        "## Summary\n",
        (
            f"**What it predicts.** Whether `{meta.target}` is `{meta.positive_label}` rather "
            f"than `{meta.negative_label}`, from {len(meta.feature_schema.features)} columns of "
            f"{data}.\n"
        ),
        (
            f"**How well.** On {evaluation.holdout_rows} rows it never saw, it ranks a positive "
            f"case above a negative one {auroc:.0%} of the time (AUROC {auroc:.3f}, 95% interval "
            f"{interval(evaluation, 'auroc')}); at its threshold it labels "
            f"{evaluation.metrics['accuracy']:.0%} of the rows correctly (95% interval "
            f"{interval(evaluation, 'accuracy')}).\n"
        ),
        "**Caveats.**\n",
        "".join(f"- {note}\n" for note in caveats(evaluation)),
    ]


def with_intervals(
    metrics: dict[str, float], intervals: dict[str, tuple[float, float]]
) -> list[str]:
    """Each metric as `value (low to high)`."""
    return [
        f"{value:.3f} ({intervals[name][0]:.3f} to {intervals[name][1]:.3f})"
        for name, value in metrics.items()
    ]


def shortcut_section(evaluation: Evaluation) -> list[str]:
    """For each collection column: its rank, and held-out metrics with and without it."""
    parts = []
    for shortcut in evaluation.shortcuts:
        table = pd.DataFrame(
            {
                "metric": [METRICS[name] for name in shortcut.with_column],
                f"with {shortcut.column}": with_intervals(
                    shortcut.with_column, shortcut.intervals_with
                ),
                f"without {shortcut.column}": with_intervals(
                    shortcut.without_column, shortcut.intervals_without
                ),
            }
        )
        verdict = (
            f"**`{shortcut.column}` dominates the importance ranking.** It says where or how a "
            "row was collected, not anything about the case, so a model leaning on it learns "
            "the collection, which will not carry over to new data."
            if shortcut.dominates
            else f"`{shortcut.column}` ranks {shortcut.rank} by importance."
        )
        parts += [
            f"## Collection shortcut: {shortcut.column}\n",
            (
                f"{verdict} The same model retrained without it, on the same rows, scores on "
                "the held-out rows (95% intervals in brackets; threshold-free metrics):\n"
            ),
            tables.to_markdown(table),
            f"Columns named by `{ENV_PREFIX}EVALUATE__COLLECTION_COLUMNS` are checked this way.\n",
        ]
    return parts


def _figure(evaluation: Evaluation, reports_dir: Path, key: str, alt: str) -> str:
    path = evaluation.figures.get(key)
    return f"![{alt}]({path.relative_to(reports_dir).as_posix()})" if path else ""


def gallery(evaluation: Evaluation, reports_dir: Path, figures: dict[str, str]) -> str:
    """Figures in one paragraph, which the HTML report lays out as a grid."""
    images = [_figure(evaluation, reports_dir, key, alt) for key, alt in figures.items()]
    return "\n".join(image for image in images if image) + "\n"


def render_markdown(evaluation: Evaluation, reports_dir: Path) -> str:
    """The report as Markdown, with images linked relative to reports/."""
    meta = evaluation.metadata
    parts = [
        f"# {PROJECT_NAME}: evaluation report\n",
        *summary(evaluation),
        "## Held-out metrics\n",
        (
            f"Model **{meta.model_name}**, calibrated ({meta.calibration}), trained on "
            f"{meta.training_rows} rows and evaluated on {evaluation.holdout_rows} held-out "
            f"rows. Decision threshold **{meta.threshold:.3f}** (highest F1 on out-of-fold "
            "predictions). Intervals: 2.5th to 97.5th percentile over "
            "bootstrap resamples of the held-out rows.\n"
        ),
        metrics_table(evaluation),
        gallery(
            evaluation,
            reports_dir,
            {
                "roc": "ROC curve",
                "pr": "Precision-recall curve",
                "calibration": "Calibration curve",
                "confusion": "Confusion matrix",
            },
        ),
        "## Data\n",
        "\n".join(data_lines(evaluation)) + "\n",
        "## Cross-validation on the training rows (mean ± std across folds)\n",
        tables.to_markdown(cv_table(evaluation)),
        "![Model comparison](figures/cv_comparison.png)\n",
        "## What drives the predictions\n",
        tables.to_markdown(evaluation.importance),
        gallery(
            evaluation,
            reports_dir,
            {"importance": "Permutation importance", "shap": "SHAP summary"},
        ),
        *shortcut_section(evaluation),
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
    return "\n".join(part for part in parts if part)


def write_report(evaluation: Evaluation, paths: Paths) -> list[Path]:
    """Write reports/report.md and its self-contained HTML twin."""
    report = render_markdown(evaluation, paths.reports_dir)
    paths.report_md.write_text(report)
    title = f"{PROJECT_NAME} evaluation report"
    paths.report_html.write_text(standalone_html(report, paths.reports_dir, title))
    return [paths.report_md, paths.report_html]


def render_model_card(evaluation: Evaluation) -> str:
    """The model card: what the model is for, how it was made, how well it does, where it fails."""
    meta = evaluation.metadata
    best_cv = meta.cv_metrics[meta.model_name]
    cv_lines = "\n".join(
        f"| {label} | {best_cv[f'{name}_mean']:.3f} ± {best_cv[f'{name}_std']:.3f} "
        f"| {evaluation.metrics[name]:.3f} | {interval(evaluation, name)} |"
        for name, label in METRICS.items()
    )
    sample = is_sample(evaluation)
    if sample:
        purpose = (
            f"{package_field('Summary', 'A binary classifier for tabular data.')}\n\n"
            "For research and teaching: estimating risk from routinely measured values and "
            "studying how such\na model behaves. It is not meant to make or replace decisions "
            "about individual people."
        )
        sites = (
            "\n- The data comes from a few sites and a specific period; the model may not "
            "transfer to other\n  populations, sites or measurement practices without "
            "re-validation."
        )
        ethics = (
            "This is not a medical device and has not been clinically validated. Do not use it "
            "to diagnose,\ntreat or triage anyone."
        )
    else:
        purpose = (
            f"Predicts whether `{meta.target}` is `{meta.positive_label}` (rather than "
            f"`{meta.negative_label}`) for rows like those of {data_source(evaluation)}.\n\n"
            "Describe here who will use it and for what: this card knows only the data."
        )
        sites = (
            "\n- The model has seen only the rows of this file; it may not transfer to data "
            "collected elsewhere\n  or later without re-validation."
        )
        ethics = "Before any use that affects people, check what a wrong prediction costs them."
    shortcuts = "".join(
        f"\n- `{shortcut.column}` describes how the data was collected; without it the held-out "
        f"AUROC is {shortcut.without_column['auroc']:.3f} (with it "
        f"{shortcut.with_column['auroc']:.3f})."
        for shortcut in evaluation.shortcuts
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

{purpose}

## Data

{chr(10).join(data_lines(evaluation))}

SHA-256 of the training rows' contents: `{meta.training_data_sha256[:16]}…`; the held-out rows
were kept apart by a stratified split.

## Training procedure

Every model in the basket ({", ".join(meta.cv_metrics)}) was cross-validated with stratified
folds; imputation, scaling and one-hot encoding were fitted inside each fold. The best model by
mean AUROC, **{meta.model_name}**, was calibrated ({meta.calibration}, cross-validated
`CalibratedClassifierCV`) and refitted on all training rows.

## Metrics

| metric | cross-validation (mean ± std) | held-out | held-out 95% interval |
| -- | -- | -- | -- |
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
  folds), and the held-out estimate rests on {evaluation.holdout_rows} rows.{sites}{shortcuts}
- Missing values are imputed; rows missing many measurements get less reliable predictions.

## Ethical considerations

{ethics} Differences between groups above are descriptive, from a small sample,
and must be investigated before any use that affects people.

## Owner

{package_field("Author-email", "the project's authors")}
"""


def write_model_card(evaluation: Evaluation, path: Path) -> Path:
    """Rewrite the model card at the project root."""
    path.write_text(render_model_card(evaluation))
    return path
