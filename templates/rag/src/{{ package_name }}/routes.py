"""The routes: ask, search and ingest; health and readiness probes; Prometheus metrics."""

import secrets
import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, File, HTTPException, Request, Response, UploadFile
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from . import schemas
from .chat_client import LLMError
from .errors import UserError
from .state import IndexState, NotReadyError
from .uploads import Upload, UploadError

# FastAPI's own type for `responses`.
Responses = dict[int | str, dict[str, Any]]

NOT_READY: Responses = {
    503: {"model": schemas.ErrorBody, "description": "The index is not loaded, or empty."}
}
JSON_REFUSALS: Responses = {
    400: {"model": schemas.ErrorBody, "description": "The body is not readable JSON."},
    413: {"model": schemas.ErrorBody, "description": "The body is over MAX_BODY_BYTES."},
    415: {"model": schemas.ErrorBody, "description": "The body was not sent as JSON."},
}


# The dependencies are coroutines although they never wait: FastAPI would run plain functions in
# its thread pool, a hop per request for an attribute read.
async def index_state(request: Request) -> IndexState:
    """The state `create_app` put on the app."""
    state: IndexState = request.app.state.index
    return state


State = Annotated[IndexState, Depends(index_state)]

probes = APIRouter(tags=["probes"])


@probes.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the process answers. Never touches the index."""
    return {"status": "ok"}


@probes.get(
    "/readyz",
    responses={503: {"model": schemas.Readiness, "description": "Not ready yet, or failed."}},
)
def readyz(state: State, response: Response) -> schemas.Readiness:
    """Readiness: 200 once the index is open (and the embedding model loaded), 503 until then."""
    if state.ready and state.loaded is not None:
        return schemas.Readiness(
            status="ready", documents=state.loaded.documents, chunks=state.loaded.chunks
        )
    response.status_code = 503
    return schemas.Readiness(status="not ready", detail=state.problem)


@probes.get("/metrics", include_in_schema=False)
def metrics(state: State) -> Response:
    """Prometheus exposition: requests, latency by stage, abstentions, empty results, index."""
    content, media_type = state.telemetry.exposition()
    return Response(content, media_type=media_type)


def refusal(error: Exception) -> HTTPException:
    """The HTTP answer to an error the index or the language model raised."""
    if isinstance(error, NotReadyError):
        return HTTPException(503, detail=str(error))
    if isinstance(error, UploadError):
        return HTTPException(error.status, detail=str(error))
    if isinstance(error, LLMError):
        return HTTPException(502, detail=f"The language model could not answer: {error}")
    # Another UserError: a setting the index cannot work with, such as another embedding model.
    return HTTPException(503, detail=f"The index cannot answer: {error}")


def since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 3)


def question_router(request_schemas: schemas.RequestSchemas) -> APIRouter:
    """/v1/search and /v1/ask, declared with this deployment's request limits."""
    router = APIRouter(tags=["questions"], responses={**JSON_REFUSALS, **NOT_READY})

    @router.post("/v1/search")
    async def search(
        body: Annotated[schemas.SearchRequest, Body(), request_schemas.search_schema],
        state: State,
    ) -> schemas.SearchResponse:
        """The passages that best match a query, best first."""
        started = time.perf_counter()
        try:
            retrieval = await state.run(lambda: state.search(body.query, body.top_k))
        except (UserError, NotReadyError) as error:
            raise refusal(error) from None
        timings = {
            "retrieve": retrieval.timings_ms.get("retrieve", 0.0),
            "rerank": retrieval.timings_ms.get("rerank", 0.0),
            "total": since(started),
        }
        telemetry = state.telemetry
        telemetry.observe_stages("/v1/search", timings)
        if not retrieval.hits:
            telemetry.empty_results.labels("/v1/search").inc()
        return schemas.SearchResponse(
            results=[schemas.Passage.of(hit) for hit in retrieval.hits], timings_ms=timings
        )

    @router.post("/v1/ask", responses={502: {"model": schemas.ErrorBody}})
    async def ask(
        body: Annotated[schemas.AskRequest, Body(), request_schemas.ask_schema],
        state: State,
    ) -> schemas.AskResponse:
        """An answer with [n] citations of the passages found, or "I don't know"."""
        started = time.perf_counter()
        try:
            retrieval, generator = await state.run(
                lambda: state.retrieve_for_answer(body.question, body.top_k)
            )
            # Outside the index thread: a language model may take seconds to answer, and
            # searches should not wait for it.
            generating = time.perf_counter()
            answer = await run_in_threadpool(generator.answer, body.question, retrieval.hits)
            generated = since(generating)
        except (UserError, NotReadyError) as error:
            raise refusal(error) from None
        timings = {
            "retrieve": retrieval.timings_ms.get("retrieve", 0.0),
            "rerank": retrieval.timings_ms.get("rerank", 0.0),
            "generate": generated,
            "total": since(started),
        }
        telemetry = state.telemetry
        telemetry.observe_stages("/v1/ask", timings)
        telemetry.observe_answer(abstained=answer.abstained)
        if not retrieval.hits:
            telemetry.empty_results.labels("/v1/ask").inc()
        return schemas.AskResponse.of(answer, timings)

    return router


bearer = HTTPBearer(auto_error=False, description="INGEST_TOKEN, as `Authorization: Bearer …`.")


def ingest_router(token: str) -> APIRouter:
    """/v1/ingest, open only to requests that carry `token`; without a token there is no route."""

    async def authorised(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        # compare_digest: the time taken does not reveal how much of a guess was right.
        if credentials is None or not secrets.compare_digest(
            credentials.credentials.encode(), token.encode()
        ):
            raise HTTPException(
                401,
                detail="Send the ingest token (INGEST_TOKEN) as `Authorization: Bearer <token>`.",
                headers={"WWW-Authenticate": "Bearer"},
            )

    router = APIRouter(
        tags=["documents"],
        dependencies=[Depends(authorised)],
        responses={
            400: {"model": schemas.ErrorBody, "description": "Not readable multipart/form-data."},
            401: {"model": schemas.ErrorBody, "description": "No token, or the wrong one."},
            413: {"model": schemas.ErrorBody, "description": "Over MAX_UPLOAD_BYTES."},
            422: {
                "model": schemas.UploadRefusal,
                "description": "A file cannot be indexed (the detail names it and says why).",
            },
            **NOT_READY,
        },
    )

    @router.post("/v1/ingest")
    async def ingest(
        files: Annotated[
            list[UploadFile],
            File(description="Documents: .md, .txt, .html or .pdf, each under its file name."),
        ],
        state: State,
    ) -> schemas.IngestResponse:
        """Add or update documents; uploaded again unchanged, a document is left as it is."""
        received = [Upload(file.filename or "", await file.read()) for file in files]
        try:
            outcome = await state.run(lambda: state.ingest_uploads(received))
        except (UserError, NotReadyError) as error:
            raise refusal(error) from None
        telemetry = state.telemetry
        for kind in ("added", "updated", "unchanged"):
            telemetry.ingested.labels(kind).inc(len(getattr(outcome, kind)))
        loaded = state.loaded
        return schemas.IngestResponse(
            added=len(outcome.added),
            updated=len(outcome.updated),
            unchanged=len(outcome.unchanged),
            chunks=loaded.chunks if loaded else 0,
            documents=outcome.documents,
            skipped=outcome.skipped,
        )

    return router
