"""The FastAPI app: predict, model information, health and readiness probes, Prometheus metrics."""

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import numpy as np
import pandas as pd
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import PROJECT_NAME, __version__, drift, logs, model_store, schemas
from .config import ServiceSettings, load_service_settings, load_settings
from .features import FeatureSchema, align
from .prediction_log import PredictionLog
from .telemetry import Telemetry

logger = logging.getLogger(__name__)

# Probes and scrapes arrive every few seconds: logged at DEBUG so they do not drown real traffic.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
WARM_UP_CALLS = 3


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
    example_request: dict[str, Any]


class Readiness(BaseModel):
    """`ready` once the model is loaded and warmed up; otherwise why not."""

    status: str
    detail: str = ""


@dataclass
class ServiceState:
    """What the lifespan loads and the routes read."""

    ready: bool = False
    problem: str = "the model is still loading"
    bundle: model_store.ModelBundle | None = None
    window: drift.DriftWindow | None = None
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)


class BodyTooLargeError(Exception):
    """The request body passed the size limit while it was being read."""


class RequestMiddleware:
    """Request id, body-size limit (413), one JSON log line and the metrics of every request.

    Plain ASGI rather than @app.middleware("http"): it adds no extra task or body copy per
    request, which matters at thousands of requests a second.
    """

    def __init__(
        self, app: ASGIApp, telemetry: Telemetry, max_body_bytes: int, routes: frozenset[str]
    ) -> None:
        self.app = app
        self.telemetry = telemetry
        self.max_body_bytes = max_body_bytes
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        request_id = logs.request_id_from(headers.get(b"x-request-id", b"").decode("latin-1"))
        token = logs.REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode("latin-1")),
                ]
            await send(message)

        received = 0

        async def receive_limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body_bytes:
                raise BodyTooLargeError
            return message

        try:
            declared = int(headers.get(b"content-length", b"0") or 0)
            if declared > self.max_body_bytes:
                raise BodyTooLargeError
            await self.app(scope, receive_limited, send_with_id)
        except BodyTooLargeError:
            if response_started:
                raise
            response = JSONResponse(
                {
                    "detail": f"The request body is larger than {self.max_body_bytes:,} bytes "
                    "(MAX_BODY_BYTES): send fewer records per request."
                },
                status_code=413,
            )
            await response(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            path = scope["path"]
            route = path if path in self.routes else "other"
            self.telemetry.observe_request(route, scope["method"], status, seconds)
            level = logging.DEBUG if path in QUIET_PATHS else logging.INFO
            logger.log(
                level,
                "%s %s %s",
                scope["method"],
                path,
                status,
                extra={
                    "fields": {
                        "method": scope["method"],
                        "path": path,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 3),
                    }
                },
            )
            logs.REQUEST_ID.reset(token)


def model_frame(
    records: list[dict[str, Any]], schema: FeatureSchema
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Validated records as the model's input, and how many values each feature is missing.

    Validation has already done what `features.align` checks, so the columns are built directly
    with their dtypes, which is several times faster. Missing values become NaN, the marker the
    imputers were fitted on (None in a text column would read as an unseen category instead).
    """
    columns: dict[str, Any] = {}
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
    return pd.DataFrame(columns), missing


def _summary(errors: list[dict[str, Any]]) -> str:
    """Validation errors as one readable line: `records.0.age: Input should be a valid number`."""
    parts = []
    for error in errors:
        location = ".".join(str(part) for part in error["loc"] if part != "body")
        parts.append(f"{location or 'body'}: {error['msg']}")
    return "; ".join(parts)


# The routes are closures over this app's state, so one function defines them all (PLR0915).
def create_app(settings: ServiceSettings | None = None) -> FastAPI:  # noqa: PLR0915
    """Build the app for the model at MODEL_URI; the model itself loads at start-up."""
    settings = settings or load_service_settings()
    logs.configure(settings.log_level)
    # The schema is read now, because the routes are declared with models generated from it;
    # the model (the slow part) loads in the lifespan, while /healthz already answers.
    folder = model_store.resolve(settings.model_source, settings.tracking_uri)
    metadata = model_store.read_metadata(folder)
    feature_schema = metadata.feature_schema
    api = schemas.build(feature_schema, metadata.target, settings.max_batch_size)
    state = ServiceState()
    telemetry = Telemetry()
    prediction_log = PredictionLog(settings.prediction_log, settings.prediction_log_sample_rate)
    git_commit = settings.git_commit
    if git_commit is None:
        from .tracking import git_commit as read_git_commit

        git_commit = read_git_commit(settings.project_root)

    def load_and_warm() -> None:
        bundle = model_store.load_bundle(folder, settings.model_source)
        example, _ = align(bundle.reference.head(1), feature_schema)
        for _ in range(WARM_UP_CALLS):
            bundle.model.predict_proba(example)
        profiles = drift.profile(
            bundle.reference, feature_schema, load_settings(settings.project_root).monitor.bins
        )
        state.window = drift.DriftWindow(profiles, settings.drift_window)
        state.ranges = {
            name: (float(bundle.reference[name].min()), float(bundle.reference[name].max()))
            for name in feature_schema.numeric
            if bundle.reference[name].notna().any()
        }
        state.bundle = bundle

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        prediction_log.start()
        try:
            await asyncio.to_thread(load_and_warm)
        except Exception as error:
            # Stay up and say why in /readyz: an orchestrator then reports the reason instead
            # of a crash loop, and /healthz still answers.
            state.problem = f"the model could not be loaded: {error}"
            logger.exception("Model not loaded from %s", settings.model_source)
        else:
            state.ready = True
            telemetry.model_ready.set(1)
            logger.info(
                "Ready: model %s from %s",
                state.bundle.version if state.bundle else "?",
                settings.model_source,
            )
        yield
        logger.info("Shutting down: flushing the prediction log")
        state.ready = False
        telemetry.model_ready.set(0)
        prediction_log.stop()

    app = FastAPI(
        title=PROJECT_NAME,
        version=__version__,
        summary=f"Predicts {metadata.target} from {len(feature_schema.features)} features.",
        lifespan=lifespan,
    )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
        errors = jsonable_encoder(error.errors())
        return JSONResponse({"detail": errors, "message": _summary(errors)}, status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, error: HTTPException) -> JSONResponse:
        detail = str(error.detail)
        if error.status_code == HTTPStatus.BAD_REQUEST:
            # FastAPI's 400 means the body could not be read as JSON at all; say how to fix it.
            detail += ": send a UTF-8 JSON body with Content-Type: application/json"
        return JSONResponse(
            {"detail": detail}, status_code=error.status_code, headers=error.headers
        )

    @app.get("/healthz", tags=["probes"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers. Never touches the model."""
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["probes"],
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "Not ready yet, or failed to load."}},
    )
    def readyz() -> Any:
        """Readiness: 200 once the model is loaded and warmed up, 503 until then."""
        if state.ready:
            return Readiness(status="ready")
        return JSONResponse(
            Readiness(status="not ready", detail=state.problem).model_dump(), status_code=503
        )

    def ready_bundle() -> model_store.ModelBundle | JSONResponse:
        if state.ready and state.bundle is not None:
            return state.bundle
        return JSONResponse({"detail": f"Not ready: {state.problem}."}, status_code=503)

    not_ready: dict[int | str, dict[str, Any]] = {
        503: {"model": schemas.ErrorBody, "description": "The model is not loaded."}
    }

    @app.get("/v1/model", tags=["model"], response_model=ModelInfo, responses=not_ready)
    def model_info() -> Any:
        """The served model: name, version, training metrics, commit, and an example request."""
        bundle = ready_bundle()
        if isinstance(bundle, JSONResponse):
            return bundle
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
            training_metrics=meta.calibrated_oof_metrics,
            training_rows=meta.training_rows,
            mlflow_run_id=meta.mlflow_run_id,
            git_commit=git_commit,
            service_version=__version__,
            example_request={"records": [example]},
        )

    def predict(body: Any) -> Any:
        """Score one or more records; each gets a probability and a 0/1 label."""
        started = time.perf_counter()
        bundle = ready_bundle()
        if isinstance(bundle, JSONResponse):
            return bundle
        records = [record.model_dump(by_alias=True) for record in body.records]
        features, missing = model_frame(records, feature_schema)
        probability = bundle.model.predict_proba(features)[:, 1]
        labels = (probability >= bundle.metadata.threshold).astype(np.int64)
        predictions = [
            {"probability": float(p), "label": int(label)}
            for p, label in zip(probability, labels, strict=True)
        ]
        telemetry.observe_predictions(probability, labels)
        telemetry.observe_quality(features, missing, state.ranges)
        if state.window is not None and (update := state.window.add(records)) is not None:
            telemetry.set_drift(*update)
        prediction_log.write(
            records,
            predictions,
            (time.perf_counter() - started) * 1000,
            bundle.version,
            logs.REQUEST_ID.get(),
        )
        return {"predictions": predictions, "model_version": bundle.version}

    # The body's type is generated from the training schema at run time, so the annotation
    # FastAPI reads to validate and document it is set here rather than written in the code.
    predict.__annotations__["body"] = api.request
    app.post(
        "/v1/predict",
        tags=["model"],
        response_model=api.response,
        responses={
            400: {"model": schemas.ErrorBody, "description": "The body is not readable JSON."},
            413: {"model": schemas.ErrorBody, "description": "The body is over MAX_BODY_BYTES."},
            **not_ready,
        },
    )(predict)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        """Prometheus exposition: requests, latency, predictions, data quality, drift."""
        content, media_type = telemetry.exposition()
        return Response(content, media_type=media_type)

    routes = frozenset(route.path for route in app.routes if hasattr(route, "path"))
    app.add_middleware(
        RequestMiddleware,
        telemetry=telemetry,
        max_body_bytes=settings.max_body_bytes,
        routes=routes,
    )
    app.state.service = state
    app.state.telemetry = telemetry
    app.state.prediction_log = prediction_log
    return app
