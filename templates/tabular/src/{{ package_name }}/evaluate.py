"""Held-out evaluation of the saved model: metrics, curves, explanations, slices and fairness."""

from dataclasses import dataclass, field, replace
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from . import bootstrap, explain, fairness, plots, slices
from .config import Settings
from .cross_validation import features_and_target
from .data import Split, fingerprint, load_split
from .errors import MissingArtifactError, UserError
from .metrics import score
from .paths import Paths
from .persistence import ModelMetadata, load_metadata, load_model
from .tracking import start_run
from .train import refit_without

# Metrics that need no threshold: a model retrained without a column is compared on these.
RANKING_METRICS = ("auroc", "auprc", "brier", "log_loss")


@dataclass(frozen=True)
class Shortcut:
    """A column describing how the data was collected, and what the model scores without it."""

    column: str
    # 1 for the most important feature.
    rank: int
    dominates: bool
    with_column: dict[str, float]
    without_column: dict[str, float]
    intervals_with: dict[str, tuple[float, float]]
    intervals_without: dict[str, tuple[float, float]]


def check_shortcut(  # noqa: PLR0913 (the held-out rows, the model's scores and the settings)
    data: Split,
    column: str,
    *,
    importance: pd.DataFrame,
    probability: np.ndarray,
    metadata: ModelMetadata,
    settings: Settings,
) -> Shortcut:
    """Retrain the chosen model without `column` and score both on the held-out rows."""
    model, schema = refit_without(data, settings, metadata.model_name, [column])
    features, target = features_and_target(data.holdout, metadata.target, schema)
    without = model.predict_proba(features)[:, 1]
    resamples, seed = settings.evaluate.bootstrap_resamples, settings.seed
    rank = int(importance.index[importance["feature"] == column][0]) + 1
    return Shortcut(
        column=column,
        rank=rank,
        dominates=rank == 1,
        with_column={name: score(target, probability)[name] for name in RANKING_METRICS},
        without_column={name: score(target, without)[name] for name in RANKING_METRICS},
        intervals_with=bootstrap.intervals(target, probability, 0.5, resamples, seed),
        intervals_without=bootstrap.intervals(target, without, 0.5, resamples, seed),
    )


@dataclass(frozen=True)
class Evaluation:
    """Everything the report and the model card show."""

    metadata: ModelMetadata
    metrics: dict[str, float]
    holdout_rows: int
    importance: pd.DataFrame
    slices: pd.DataFrame
    mistakes: pd.DataFrame
    figures: dict[str, Path]
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    shortcuts: list[Shortcut] = field(default_factory=list)
    fairness_column: str | None = None
    fairness: pd.DataFrame | None = None
    fairness_gaps: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def evaluate(settings: Settings, fairness_column: str | None = None) -> Evaluation:
    """Score the held-out rows with the saved model and draw the evaluation figures."""
    config = settings.evaluate
    fairness_column = fairness_column or config.fairness_column
    paths = settings.paths
    metadata = load_metadata(paths.models_dir)
    model = load_model(paths.models_dir)
    data = load_split(paths.data_dir)
    if fingerprint(data.train) != metadata.training_data_sha256:
        raise MissingArtifactError(
            "The saved model was trained on different data than the current split: run the "
            "`train` command again."
        )

    schema = metadata.feature_schema
    features, target = features_and_target(data.holdout, metadata.target, schema)
    probability = model.predict_proba(features)[:, 1]
    predicted = (probability >= metadata.threshold).astype(int)

    figures_dir = paths.figures_dir
    figures = {
        "roc": plots.roc(target, probability, figures_dir / "roc_curve.png"),
        "pr": plots.precision_recall(target, probability, figures_dir / "pr_curve.png"),
        "calibration": plots.calibration(target, probability, figures_dir / "calibration.png"),
        "confusion": plots.confusion(
            target, predicted, metadata.threshold, figures_dir / "confusion_matrix.png"
        ),
    }
    importance = explain.permutation_table(
        model, features, target, config.permutation_repeats, settings.seed
    )
    figures["importance"] = plots.importance(importance, figures_dir / "importance.png")
    notes = []
    if config.shap:
        try:
            figures["shap"] = explain.shap_summary(
                model, features, figures_dir / "shap_summary.png", settings.seed
            )
        except UserError:
            raise
        # SHAP has no explainer for some models (the dummy baseline, for one) and raises its
        # own error types (BLE001); the rest of the evaluation is still worth writing.
        except Exception as error:  # noqa: BLE001
            notes.append(f"No SHAP plot for the {metadata.model_name} model: {error}")

    all_slices = slices.slice_table(features, target, probability, predicted, schema)
    mistakes = slices.confident_mistakes(
        data.holdout.drop(columns=metadata.target).assign(**{metadata.target: target}),
        target,
        probability,
        predicted,
        config.n_mistakes,
    )
    shortcuts = [
        check_shortcut(
            data,
            column,
            importance=importance,
            probability=probability,
            metadata=metadata,
            settings=settings,
        )
        for column in config.collection_columns
        if column in schema.names
    ]
    evaluation = Evaluation(
        metadata=metadata,
        metrics=score(target, probability, metadata.threshold),
        intervals=bootstrap.intervals(
            target, probability, metadata.threshold, config.bootstrap_resamples, settings.seed
        ),
        shortcuts=shortcuts,
        holdout_rows=len(target),
        importance=importance,
        slices=slices.worst_slices(all_slices, config.min_slice_support, config.n_slices),
        mistakes=mistakes,
        figures=figures,
        notes=notes,
    )
    if not fairness_column:
        return evaluation
    if fairness_column not in data.holdout.columns:
        notes.append(f"No fairness section: the data has no '{fairness_column}' column.")
        return evaluation
    groups = fairness.group_table(data.holdout[fairness_column], target, probability, predicted)
    return replace(
        evaluation,
        fairness_column=fairness_column,
        fairness=groups,
        fairness_gaps=fairness.gaps(groups),
    )


def metrics_frame(evaluation: Evaluation) -> pd.DataFrame:
    """One row per metric: the held-out value and its 95% bootstrap interval."""
    return pd.DataFrame(
        [
            {
                "metric": name,
                "value": value,
                "ci_low": evaluation.intervals.get(name, (np.nan, np.nan))[0],
                "ci_high": evaluation.intervals.get(name, (np.nan, np.nan))[1],
            }
            for name, value in evaluation.metrics.items()
        ]
    )


def save_tables(evaluation: Evaluation, paths: Paths) -> list[Path]:
    """The evaluation tables as CSV, for spreadsheets and MLflow."""
    reports = paths.reports_dir
    reports.mkdir(parents=True, exist_ok=True)
    written = {
        reports / "holdout_metrics.csv": metrics_frame(evaluation),
        reports / "importance.csv": evaluation.importance,
        reports / "worst_slices.csv": evaluation.slices,
        reports / "confident_mistakes.csv": evaluation.mistakes,
    }
    if evaluation.fairness is not None:
        written[reports / "fairness.csv"] = evaluation.fairness
    for path, table in written.items():
        table.to_csv(path, index=False)
    return list(written)


def log_run(evaluation: Evaluation, files: list[Path], settings: Settings) -> str:
    """Log held-out metrics, gaps, figures and reports to a new MLflow run; return its id."""
    tags = {"stage": "evaluate", "train_run_id": evaluation.metadata.mlflow_run_id or ""}
    with start_run(settings, "evaluate", tags=tags) as run:
        mlflow.log_params(
            {"model": evaluation.metadata.model_name, "threshold": evaluation.metadata.threshold}
        )
        mlflow.log_metrics(
            {f"holdout.{name}": value for name, value in evaluation.metrics.items()}
            | {
                f"holdout.{name}.{end}": bound
                for name, interval in evaluation.intervals.items()
                for end, bound in zip(("ci_low", "ci_high"), interval, strict=True)
            }
            | {
                f"without_{shortcut.column}.{name}": value
                for shortcut in evaluation.shortcuts
                for name, value in shortcut.without_column.items()
            }
            | {f"fairness_gap.{name}": value for name, value in evaluation.fairness_gaps.items()}
        )
        for path in [*evaluation.figures.values(), *files]:
            # The artifact keeps its place in the project: reports/figures/roc_curve.png.
            folder = path.parent.relative_to(settings.project_root).as_posix()
            mlflow.log_artifact(str(path), artifact_path=None if folder == "." else folder)
    return str(run.info.run_id)
