"""Find the model to serve (a local folder or an MLflow model URI) and load it with its metadata."""

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from .config import MLFLOW_SCHEMES
from .errors import MissingArtifactError, UserError
from .persistence import MODEL_FILE, ModelMetadata, load_metadata, load_model

# The training rows' features, saved beside the model: drift is measured against them.
REFERENCE_CSV = "reference.csv"


class ModelFetchError(UserError):
    """MODEL_URI names an MLflow model that could not be fetched.

    A wrong URI or version, or a tracking server that is down: unlike a missing artifact, which
    running `train` again creates, this is fixed where the model is kept.
    """


class Classifier(Protocol):
    """What the service calls on the fitted pipeline."""

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray: ...


@dataclass(frozen=True)
class ModelBundle:
    """Everything the service serves: the fitted pipeline, its metadata and training reference."""

    model: Classifier
    metadata: ModelMetadata
    reference: pd.DataFrame
    version: str
    source: str


def resolve(model_uri: str, tracking_uri: str) -> Path:
    """The local folder holding the model: the URI itself, or MLflow's download of it."""
    if not model_uri.startswith(MLFLOW_SCHEMES):
        return Path(model_uri)
    # MLflow is imported only for MLflow URIs: it adds seconds to every start otherwise.
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    destination = tempfile.mkdtemp(prefix="model-")
    try:
        return Path(
            mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=destination)
        )
    except Exception as error:
        # MLflow raises its own error types for a bad URI, an unknown version or no server.
        raise ModelFetchError(
            f"Could not fetch the model {model_uri} from MLflow at {tracking_uri} ({error}): "
            "check MODEL_URI and MLFLOW_TRACKING_URI, and that the tracking server is up."
        ) from error


def read_metadata(folder: Path) -> ModelMetadata:
    """The metadata of the model in `folder`: cheap, so the API schema is known before loading."""
    return load_metadata(folder)


def model_version(folder: Path) -> str:
    """The served version: the first 12 hex digits of the model file's SHA-256."""
    return hashlib.sha256((folder / MODEL_FILE).read_bytes()).hexdigest()[:12]


def load_bundle(folder: Path, source: str) -> ModelBundle:
    """Load the model, metadata and reference from `folder`; the version is the model's hash."""
    reference_file = folder / REFERENCE_CSV
    model = load_model(folder)
    if not reference_file.is_file():
        # A model folder from before the reference was saved beside the model.
        raise MissingArtifactError(f"No reference rows at {reference_file}: run `train` again.")
    return ModelBundle(
        model=model,
        metadata=read_metadata(folder),
        reference=pd.read_csv(reference_file),
        version=model_version(folder),
        source=source,
    )
