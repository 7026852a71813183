"""Saving and loading the fitted model (skops) and the metadata that travels with it."""

from pathlib import Path
from typing import Any

import skops.io
from pydantic import BaseModel, ConfigDict

# Every type that includes this module has a paths.py naming MODEL_FILE and METADATA_FILE.
from . import paths
from .errors import MissingArtifactError, UntrustedModelError
from .features import FeatureSchema

# Unlike pickle, skops refuses to build any type it was not told to trust, so a tampered model
# file cannot run arbitrary code when loaded. We trust only the libraries the model is made of.
TRUSTED_PREFIXES = ("sklearn.", "numpy.", "xgboost.", "lightgbm.")
# LightGBM keeps its parameters in this plain standard-library container.
TRUSTED_TYPES = {"collections.OrderedDict"}


class ModelMetadata(BaseModel):
    """What a prediction needs besides the model, and how the model was chosen."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model_name: str
    target: str
    threshold: float
    feature_schema: FeatureSchema
    cv_metrics: dict[str, dict[str, float]]
    calibrated_oof_metrics: dict[str, float]
    calibration: str
    training_rows: int
    training_data_sha256: str
    source: str
    mlflow_run_id: str | None = None


def save_model(model: Any, path: Path = paths.MODEL_FILE) -> Path:
    """Write the fitted pipeline with skops."""
    path.parent.mkdir(parents=True, exist_ok=True)
    skops.io.dump(model, path)
    return path


def load_model(path: Path = paths.MODEL_FILE) -> Any:
    """Load a skops model, trusting only types from the allow-listed libraries."""
    if not path.is_file():
        raise MissingArtifactError(f"No model at {path}: run the `train` command first.")
    untrusted = skops.io.get_untrusted_types(file=path)
    refused = [
        name
        for name in untrusted
        if not name.startswith(TRUSTED_PREFIXES) and name not in TRUSTED_TYPES
    ]
    if refused:
        raise UntrustedModelError(
            f"{path} contains types outside {', '.join(TRUSTED_PREFIXES)}: "
            f"{', '.join(refused)}. Inspect the file, and retrain it if you did not make it."
        )
    return skops.io.load(path, trusted=untrusted)


def save_metadata(metadata: ModelMetadata, path: Path = paths.METADATA_FILE) -> Path:
    """Write the metadata as indented JSON next to the model."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(metadata.model_dump_json(indent=2) + "\n")
    return path


def load_metadata(path: Path = paths.METADATA_FILE) -> ModelMetadata:
    """Read the metadata written by `train`."""
    if not path.is_file():
        raise MissingArtifactError(f"No model metadata at {path}: run the `train` command first.")
    return ModelMetadata.model_validate_json(path.read_text())
