"""The FastAPI app: the routes, the error answers, the request middleware, and the lifespan."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI

from . import PROJECT_NAME, __version__, http_errors, logs, routes, schemas
from .config import ApiSettings, Settings, load_server_settings, load_settings
from .middleware import BodyLimit, RequestMiddleware
from .state import IndexState

if TYPE_CHECKING:
    from .embeddings import Embedder

logger = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the index after the server starts, so /healthz answers while it loads."""
    state: IndexState = app.state.index
    state.start()
    try:
        await state.run(state.load)
    except Exception as error:
        # Stay up and say why in /readyz: an orchestrator then reports the reason instead of a
        # crash loop, and /healthz still answers.
        state.problem = f"the index could not be opened: {error}"
        logger.exception("Index not opened")
    else:
        loaded = state.loaded
        logger.info(
            "Ready: %d documents, %d chunks, %s retrieval",
            loaded.documents if loaded else 0,
            loaded.chunks if loaded else 0,
            state.settings.retrieval.mode,
        )
    yield
    logger.info("Shutting down: closing the index")
    state.shut_down()


def create_app(
    api: ApiSettings | None = None,
    settings: Settings | None = None,
    embedder: "Embedder | None" = None,
) -> FastAPI:
    """Build the app; the index (and the embedding model) load at start-up.

    `settings` are the pipeline's (configs/default.toml, the environment), as `ask` reads them;
    `embedder` lets tests share one loaded model instead of loading it per app.
    """
    api = api or load_server_settings()
    settings = settings or load_settings(root=api.project_root)
    logs.configure(api.log_level)
    state = IndexState(settings=settings, embedder=embedder)
    app = FastAPI(
        title=PROJECT_NAME,
        version=__version__,
        summary="Answers questions about its documents, citing the passages it quotes.",
        lifespan=lifespan,
        exception_handlers=http_errors.HANDLERS,
    )
    app.state.index = state
    app.include_router(routes.probes)
    request_schemas = schemas.request_schemas(api, settings.retrieval.k)
    app.include_router(routes.question_router(request_schemas))
    route_limits = {}
    if api.token():
        app.include_router(routes.ingest_router(api.token()))
        route_limits["/v1/ingest"] = BodyLimit(
            api.max_upload_bytes, "MAX_UPLOAD_BYTES", "upload fewer or smaller files at once"
        )
    app.add_middleware(
        RequestMiddleware,
        telemetry=state.telemetry,
        body_limit=BodyLimit(
            api.max_body_bytes, "MAX_BODY_BYTES", "send a shorter question or query"
        ),
        route_limits=route_limits,
    )
    return app
