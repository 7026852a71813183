"""Cross-validate the model basket, calibrate the best model, pick its threshold, and save it."""

from dataclasses import dataclass
from pathlib import Path
from typing import get_args

import pandas as pd
from rich.progress import Progress
from sklearn.calibration import CalibratedClassifierCV
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from . import tables
from .background_run import BackgroundRun
from .config import ModelName, Settings
from .cross_validation import cv_metrics, features_and_target, out_of_fold, summarise_folds
from .data import Split
from .features import FeatureSchema, infer_schema
from .metrics import METRICS, best_f1_threshold, score
from .models import build_basket, build_pipeline
from .persistence import ModelMetadata

# HistGradientBoosting runs its loops on a team of OpenMP threads that meets at every tree node.
# On a few thousand rows, starting and synchronising the team costs more than the work it
# shares, and one thread waiting for a busy core stalls the others: on the bundled data a
# single thread cross-validates it several times faster. Larger data keeps every core.
SINGLE_THREAD_ROWS = 10_000


def openmp_threads(rows: int) -> threadpool_limits:
    """One OpenMP thread while fitting on fewer than SINGLE_THREAD_ROWS rows; else no limit."""
    return threadpool_limits(limits=1 if rows < SINGLE_THREAD_ROWS else None, user_api="openmp")


@dataclass(frozen=True)
class TrainingResult:
    """The calibrated model, its metadata, and the cross-validation table behind the choice."""

    model: CalibratedClassifierCV
    metadata: ModelMetadata
    cv_table: pd.DataFrame


def calibrate(pipeline: Pipeline, settings: Settings) -> CalibratedClassifierCV:
    """The pipeline wrapped in its calibration, unfitted."""
    config = settings.train
    # ensemble=False: one model refitted on all rows plus one calibrator fitted on its
    # out-of-fold scores; a third of the prediction cost of averaging one model per fold.
    return CalibratedClassifierCV(
        pipeline,
        method=config.calibration,
        cv=StratifiedKFold(config.calibration_folds, shuffle=True, random_state=settings.seed),
        ensemble=False,
    )


def refit_without(
    data: Split, settings: Settings, model_name: str, columns: list[str]
) -> tuple[CalibratedClassifierCV, FeatureSchema]:
    """The chosen model, calibrated and fitted the same way on every column but `columns`."""
    rows = data.train.drop(columns=columns)
    schema = infer_schema(rows.drop(columns=data.target))
    features, target = features_and_target(rows, data.target, schema)
    name = next(name for name in get_args(ModelName) if name == model_name)
    pipeline = build_pipeline(name, schema, settings.train, float(target.mean()), settings.seed)
    with openmp_threads(len(target)):
        return calibrate(pipeline, settings).fit(features, target), schema


def train(data: Split, settings: Settings) -> TrainingResult:
    """Cross-validate every model, then calibrate the best by AUROC and choose its threshold."""
    config = settings.train
    schema = infer_schema(data.train.drop(columns=data.target))
    features, target = features_and_target(data.train, data.target, schema)
    basket = build_basket(schema, config, target, settings.seed)
    folds = StratifiedKFold(n_splits=config.cv_folds, shuffle=True, random_state=settings.seed)

    scores = {}
    with Progress(transient=True) as progress, openmp_threads(len(target)):
        task = progress.add_task("Cross-validating", total=config.cv_folds * (len(basket) + 1))
        for name, pipeline in basket.items():
            progress.update(task, description=f"Cross-validating {name}")
            _, scores[name] = out_of_fold(
                pipeline, features, target, folds, lambda: progress.advance(task)
            )
        cv_table = summarise_folds(scores)
        best = str(cv_table.index[0])

        # Calibration is fitted on folds of the training rows, never on the rows it predicts;
        # the threshold comes from the same out-of-fold predictions, so it is not tuned on
        # anything the held-out evaluation will see.
        progress.update(task, description=f"Calibrating {best}")
        calibrated = calibrate(basket[best], settings)
        oof_probability, _ = out_of_fold(
            calibrated, features, target, folds, lambda: progress.advance(task)
        )
        threshold = best_f1_threshold(target, oof_probability)
        progress.update(task, description="Fitting the final model")
        calibrated.fit(features, target)

    metadata = ModelMetadata.for_data(
        data,
        model_name=best,
        threshold=threshold,
        feature_schema=schema,
        cv_metrics=cv_metrics(cv_table),
        oof_metrics=score(target, oof_probability, threshold),
        calibration=config.calibration,
    )
    return TrainingResult(model=calibrated, metadata=metadata, cv_table=cv_table)


def cv_display_table(cv_table: pd.DataFrame) -> pd.DataFrame:
    """Metrics as 'mean ± std' strings, for people to read."""
    display = pd.DataFrame({"model": cv_table["model"]})
    for metric, label in METRICS.items():
        display[label] = [
            f"{mean:.3f} ± {std:.3f}"
            for mean, std in zip(cv_table[f"{metric}_mean"], cv_table[f"{metric}_std"], strict=True)
        ]
    return display


def save_outputs(result: TrainingResult, settings: Settings, run: BackgroundRun) -> list[Path]:
    """Write the CV table, its plot, the model and its metadata, and log them all to MLflow."""
    from . import plots
    from .persistence import save_metadata, save_model

    paths = settings.paths
    tables.write(cv_display_table(result.cv_table), paths.cv_results_md)
    # The CSV keeps the numbers as numbers, for spreadsheets; the Markdown is for people.
    result.cv_table.to_csv(paths.cv_results_csv, index=False)
    figure = plots.cv_comparison(result.cv_table, paths.figures_dir / "cv_comparison.png")
    model_file = save_model(result.model, paths.models_dir)

    metadata = result.metadata.model_copy(update={"mlflow_run_id": run.run_id})
    metadata_file = save_metadata(metadata, paths.models_dir)
    run.finish(
        params={
            "best_model": metadata.model_name,
            "models": ",".join(settings.train.models),
            "cv_folds": settings.train.cv_folds,
            "n_estimators": settings.train.n_estimators,
            "calibration": settings.train.calibration,
            "threshold": round(metadata.threshold, 4),
            "seed": settings.seed,
            "training_rows": metadata.training_rows,
            "training_data_sha256": metadata.training_data_sha256,
        },
        metrics={
            f"cv.{model}.{metric}": value
            for model, values in metadata.cv_metrics.items()
            for metric, value in values.items()
        }
        | {f"oof_calibrated.{k}": v for k, v in metadata.oof_metrics.items()},
        artifacts=[
            *((path, "reports") for path in (paths.cv_results_md, paths.cv_results_csv, figure)),
            (model_file, "model"),
            (metadata_file, "model"),
        ],
    )
    return [paths.cv_results_md, paths.cv_results_csv, figure, model_file, metadata_file]
