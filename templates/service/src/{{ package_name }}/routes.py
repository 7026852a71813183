"""The routes: predict, model information, health and readiness probes, Prometheus metrics."""

import time
from collections.abc import Mapping
from typing import Annotated, Any

import numpy as np
import pandas as pd
from fastapi import APIRouter, Body, Depends, HTTPException, Request, Response
from pydantic import BaseModel

from . import __version__, logs, schemas
from .data import apply_rules
from .features import FeatureSchema
from .model_store import ModelBundle
from .settings import ColumnRule
from .state import ServiceState


class ModelInfo(BaseModel):
    """What is being served, how well it did in training, and a request it will accept."""

    name: str
    version: str
    source: str
    target: str
    threshold: float
    training_metrics: dict[str, float]
    training_rows: int
    mlflow_run_id: str | None
    git_commit: str | None
    service_version: str
    example_request: dict[str, list[schemas.JsonRecord]]


class Readiness(BaseModel):
    """`ready` once the model is loaded and warmed up; otherwise why not."""

    status: str
    detail: str = ""


# The dependencies are coroutines although they never wait: FastAPI would run plain functions in
# its thread pool, a hop per request for a few attribute reads.
async def service_state(request: Request) -> ServiceState:
    """The state `create_app` put on the app."""
    state: ServiceState = request.app.state.service
    return state


Service = Annotated[ServiceState, Depends(service_state)]


async def ready_bundle(service: Service) -> ModelBundle:
    """The loaded model; until there is one, the route answers 503 with the reason."""
    if not service.ready or service.bundle is None:
        raise HTTPException(503, detail=f"Not ready: {service.problem}.")
    return service.bundle


ReadyBundle = Annotated[ModelBundle, Depends(ready_bundle)]

# FastAPI's own type for `responses`.
NOT_READY: dict[int | str, dict[str, Any]] = {
    503: {"model": schemas.ErrorBody, "description": "The model is not loaded."}
}

router = APIRouter()


@router.get("/healthz", tags=["probes"])
def healthz() -> dict[str, str]:
    """Liveness: the process answers. Never touches the model."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    tags=["probes"],
    responses={503: {"model": Readiness, "description": "Not ready yet, or failed to load."}},
)
def readyz(service: Service, response: Response) -> Readiness:
    """Readiness: 200 once the model is loaded and warmed up, 503 until then."""
    if service.ready:
        return Readiness(status="ready")
    response.status_code = 503
    return Readiness(status="not ready", detail=service.problem)


@router.get("/v1/model", tags=["model"], responses=NOT_READY)
def model_info(bundle: ReadyBundle, service: Service) -> ModelInfo:
    """The served model: name, version, training metrics, commit, and an example request."""
    meta = bundle.metadata
    # A complete row, so the example shows every field with a value.
    complete = bundle.reference.dropna()
    example = schemas.json_record((complete if len(complete) else bundle.reference).iloc[0])
    return ModelInfo(
        name=meta.model_name,
        version=bundle.version,
        source=bundle.source,
        target=meta.target,
        threshold=meta.threshold,
        training_metrics=meta.oof_metrics,
        training_rows=meta.training_rows,
        mlflow_run_id=meta.mlflow_run_id,
        git_commit=service.git_commit,
        service_version=__version__,
        example_request={"records": [example]},
    )


@router.get("/metrics", include_in_schema=False)
def metrics(service: Service) -> Response:
    """Prometheus exposition: requests, latency, predictions, data quality, drift."""
    content, media_type = service.telemetry.exposition()
    return Response(content, media_type=media_type)


def model_frame(
    records: list[schemas.JsonRecord], schema: FeatureSchema, rules: Mapping[str, ColumnRule]
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Validated records as the model's input, and how many values each feature is missing.

    Validation has already done what `features.align` checks, so the columns are built directly
    with their dtypes, which is several times faster. Missing values become NaN, the marker the
    imputers were fitted on (None in a text column would read as an unseen category instead).
    The missing-value rules of training apply here too: a zero cholesterol was missing when the
    model learnt, so it is missing when the model answers.
    """
    columns: dict[str, np.ndarray] = {}
    missing: dict[str, int] = {}
    numeric = set(schema.numeric)
    for name in schema.names:
        values = [record[name] for record in records]
        missing[name] = values.count(None)
        if name in numeric:
            columns[name] = np.array(values, dtype=float)
        else:
            columns[name] = np.array(
                [np.nan if value is None else value for value in values], dtype=object
            )
    frame, replaced = apply_rules(pd.DataFrame(columns), rules)
    for name, count in replaced.items():
        missing[name] += count
    return frame, missing


def predict_router(api: schemas.ApiSchemas) -> APIRouter:
    """The predict route, declared with the request and response models of this feature schema.

    The models are generated when the app starts, so the body is declared as the
    `schemas.PredictRequest` protocol, and `api.request_schema` tells FastAPI to validate and
    document it with the generated model.
    """
    predict_routes = APIRouter(tags=["model"])
    request_schema = api.request_schema

    @predict_routes.post(
        "/v1/predict",
        response_model=api.response,
        responses={
            400: {"model": schemas.ErrorBody, "description": "The body is not readable JSON."},
            413: {"model": schemas.ErrorBody, "description": "The body is over MAX_BODY_BYTES."},
            415: {"model": schemas.ErrorBody, "description": "The body was not sent as JSON."},
            **NOT_READY,
        },
    )
    def predict(
        body: Annotated[schemas.PredictRequest, Body(), request_schema],
        bundle: ReadyBundle,
        service: Service,
    ) -> dict[str, object]:
        """Score one or more records; each gets a probability and a 0/1 label."""
        started = time.perf_counter()
        records: list[schemas.JsonRecord] = [
            record.model_dump(by_alias=True) for record in body.records
        ]
        features, missing = model_frame(
            records, service.feature_schema, bundle.metadata.missing_rules
        )
        probability = bundle.model.predict_proba(features)[:, 1]
        labels = (probability >= bundle.metadata.threshold).astype(np.int64)
        predictions = [
            {"probability": float(p), "label": int(label)}
            for p, label in zip(probability, labels, strict=True)
        ]
        telemetry = service.telemetry
        telemetry.observe_predictions(probability, labels)
        telemetry.observe_quality(features, missing, service.ranges)
        if service.window is not None and (update := service.window.add(records)) is not None:
            telemetry.set_drift(*update)
        service.prediction_log.write(
            records,
            predictions,
            (time.perf_counter() - started) * 1000,
            bundle.version,
            logs.REQUEST_ID.get(),
        )
        return {"predictions": predictions, "model_version": bundle.version}

    return predict_routes
