"""The bench's baseline: a bare FastAPI endpoint calling the same model, with nothing around it."""

from typing import Any

import pandas as pd
from fastapi import FastAPI

from . import model_store
from .config import load_service_settings


def create_bare_app() -> FastAPI:
    """No validation, logging, metrics or drift: the floor the real service is measured against."""
    settings = load_service_settings()
    folder = model_store.resolve(settings.model_source, settings.tracking_uri)
    bundle = model_store.load_bundle(folder, settings.model_source)
    columns = bundle.metadata.feature_schema.names
    app = FastAPI()

    @app.get("/readyz")
    def readyz() -> dict[str, str]:
        return {"status": "ready"}

    # Any: a body FastAPI parses as JSON and validation leaves alone, as a baseline should.
    @app.post("/predict")
    def predict(body: dict[str, Any]) -> dict[str, list[float]]:
        frame = pd.DataFrame(body["records"], columns=columns)
        return {"probabilities": bundle.model.predict_proba(frame)[:, 1].tolist()}

    return app
