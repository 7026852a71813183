"""Fit the served model on the training split, choose its threshold, and save it with skops."""

from dataclasses import dataclass
from pathlib import Path

import mlflow
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline

from . import data as data_module
from .config import Settings
from .cross_validation import cv_metrics, features_and_target, out_of_fold, summarise_folds
from .data import Split
from .features import FeatureSchema, align, build_preprocessor, infer_schema
from .metrics import best_f1_threshold, score
from .model_store import REFERENCE_CSV
from .persistence import ModelMetadata, save_metadata, save_model
from .tracking import start_run

MODEL_NAME = "logistic_regression"
# The folder a training run logs to MLflow; MODEL_URI=runs:/<run id>/model serves it.
MLFLOW_MODEL_PATH = "model"


@dataclass(frozen=True)
class TrainingResult:
    """The fitted pipeline and its metadata."""

    model: Pipeline
    metadata: ModelMetadata


def load_and_split(settings: Settings, csv: Path | None, target: str | None) -> Split:
    """Read the data, apply the missing-value rules, validate it and write the split.

    The same checked loader as the tabular pipeline's: the rules it applies are saved with the
    model, and the service applies them to every request, so training and serving agree.
    """
    config = settings.data
    _, split = data_module.load_and_split(csv, target or config.target, config, settings.seed)
    data_module.save_split(split, settings.paths.data_dir)
    return split


def build_model(schema: FeatureSchema, settings: Settings) -> Pipeline:
    """Preprocessing and a logistic regression: a few microseconds of arithmetic per row."""
    classifier = LogisticRegression(
        C=settings.train.regularisation_c, class_weight="balanced", max_iter=1000
    )
    return Pipeline([("preprocess", build_preprocessor(schema)), ("classifier", classifier)])


def train(data: Split, settings: Settings) -> TrainingResult:
    """Cross-validate for honest metrics and a threshold, then fit on every training row."""
    schema = infer_schema(data.train.drop(columns=data.target))
    features, target = features_and_target(data.train, data.target, schema)
    pipeline = build_model(schema, settings)
    folds = StratifiedKFold(settings.train.cv_folds, shuffle=True, random_state=settings.seed)
    probability, fold_scores = out_of_fold(pipeline, features, target, folds)
    # The threshold comes from out-of-fold predictions, never from rows the model was fitted on.
    threshold = best_f1_threshold(target, probability)
    metadata = ModelMetadata.for_data(
        data,
        model_name=MODEL_NAME,
        threshold=threshold,
        feature_schema=schema,
        cv_metrics=cv_metrics(summarise_folds({MODEL_NAME: fold_scores})),
        oof_metrics=score(target, probability, threshold),
        # A logistic regression is fitted on log loss, so its probabilities need no recalibration.
        calibration="none",
    )
    return TrainingResult(model=pipeline.fit(features, target), metadata=metadata)


def save_outputs(result: TrainingResult, data: Split, settings: Settings) -> list[Path]:
    """Write model, metadata and training reference; log them to MLflow as one model folder."""
    models_dir = settings.paths.models_dir
    model_file = save_model(result.model, models_dir)
    # Drift is measured against these rows: `monitor` and the live gauges in /metrics read them.
    features, _ = align(data.train.drop(columns=data.target), result.metadata.feature_schema)
    reference_file = models_dir / REFERENCE_CSV
    features.to_csv(reference_file, index=False)
    metadata = result.metadata
    with start_run(settings, "train", tags={"stage": "train"}) as run:
        mlflow.log_params(
            {
                "model": metadata.model_name,
                "regularisation_c": settings.train.regularisation_c,
                "cv_folds": settings.train.cv_folds,
                "threshold": round(metadata.threshold, 4),
                "seed": settings.seed,
                "training_rows": metadata.training_rows,
                "training_data_sha256": metadata.training_data_sha256,
            }
        )
        mlflow.log_metrics(
            {f"cv.{name}": value for name, value in metadata.cv_metrics[MODEL_NAME].items()}
            | {f"oof.{name}": value for name, value in metadata.oof_metrics.items()}
        )
        metadata = metadata.model_copy(update={"mlflow_run_id": run.info.run_id})
        metadata_file = save_metadata(metadata, models_dir)
        for path in (model_file, metadata_file, reference_file):
            mlflow.log_artifact(str(path), artifact_path=MLFLOW_MODEL_PATH)
    return [model_file, metadata_file, reference_file]


def register(settings: Settings, run_id: str, name: str) -> str:
    """Register a training run's model folder in the MLflow registry; return the new version."""
    client = mlflow.MlflowClient(settings.tracking_uri)
    if not client.search_registered_models(filter_string=f"name = '{name}'"):
        client.create_registered_model(name)
    source = f"{client.get_run(run_id).info.artifact_uri}/{MLFLOW_MODEL_PATH}"
    return str(client.create_model_version(name, source=source, run_id=run_id).version)
