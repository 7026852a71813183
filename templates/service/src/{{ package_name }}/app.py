"""The FastAPI app: the routes, the error answers, the request middleware, and the lifespan."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from . import PROJECT_NAME, __version__, http_errors, logs, routes
from .config import ServiceSettings, load_service_settings
from .middleware import BodyLimit, RequestMiddleware
from .state import ServiceState

logger = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Load the model after the server starts, so /healthz answers while it loads."""
    state: ServiceState = app.state.service
    state.prediction_log.start()
    try:
        await asyncio.to_thread(state.load)
    except Exception as error:
        # Stay up and say why in /readyz: an orchestrator then reports the reason instead of a
        # crash loop, and /healthz still answers.
        state.problem = f"the model could not be loaded: {error}"
        logger.exception("Model not loaded from %s", state.settings.model_source)
    else:
        state.ready = True
        state.telemetry.model_ready.set(1)
        logger.info(
            "Ready: model %s from %s",
            state.bundle and state.bundle.version,
            state.settings.model_source,
        )
    yield
    logger.info("Shutting down: flushing the prediction log")
    state.ready = False
    state.telemetry.model_ready.set(0)
    state.prediction_log.stop()


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """Build the app for the model at MODEL_URI; the model itself loads at start-up."""
    settings = settings or load_service_settings()
    logs.configure(settings.log_level)
    # The schema is read now, because the predict route is declared with models generated from
    # it; the model (the slow part) loads in the lifespan.
    state = ServiceState.for_settings(settings)
    app = FastAPI(
        title=PROJECT_NAME,
        version=__version__,
        summary=f"Predicts {state.target} from {len(state.feature_schema.features)} features.",
        lifespan=lifespan,
        exception_handlers=http_errors.HANDLERS,
    )
    app.state.service = state
    app.include_router(routes.router)
    app.include_router(routes.predict_router(state.api))
    app.add_middleware(
        RequestMiddleware,
        telemetry=state.telemetry,
        body_limit=BodyLimit(
            settings.max_body_bytes, "MAX_BODY_BYTES", "send fewer records per request"
        ),
    )
    return app
