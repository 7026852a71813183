"""Around every request: its id, the body-size limit (413), one JSON log line and its metrics."""

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import logs

logger = logging.getLogger(__name__)

# Probes and scrapes arrive every few seconds: logged at DEBUG so they do not drown real traffic.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
MAX_LENGTH_DIGITS = 18


def route_label(scope: Scope) -> str:
    """The route that answered, as its template: one metrics series per route, not per URL."""
    # The router records the route it matched in the scope, which the middleware shares.
    template = getattr(scope.get("route"), "path", None)
    if isinstance(template, str):
        return template
    # FastAPI's own pages (/docs, /openapi.json) are matched without a route object.
    return str(scope["path"]) if "endpoint" in scope else "other"


class RequestObserver(Protocol):
    """What the middleware reports each request to: the app's metrics."""

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None: ...


@dataclass(frozen=True)
class BodyLimit:
    """The most bytes a request body may hold, the setting that says so, and what to do instead."""

    max_bytes: int
    setting: str
    advice: str

    def message(self) -> str:
        return (
            f"The request body is larger than {self.max_bytes:,} bytes ({self.setting}): "
            f"{self.advice}."
        )


class BodyTooLargeError(Exception):
    """The request body passed the size limit while it was being read."""

    def __init__(self, limit: BodyLimit) -> None:
        super().__init__(limit.message())
        self.limit = limit


class RequestMiddleware:
    """Request id, body-size limit (413), one JSON log line and the metrics of every request.

    Plain ASGI rather than @app.middleware("http"): it adds no extra task or body copy per
    request, which matters at thousands of requests a second.
    """

    def __init__(
        self,
        app: ASGIApp,
        telemetry: RequestObserver,
        body_limit: BodyLimit,
        route_limits: Mapping[str, BodyLimit] | None = None,
    ) -> None:
        self.app = app
        self.telemetry = telemetry
        self.body_limit = body_limit
        # Paths with a limit of their own, such as an upload route that takes whole files.
        self.route_limits = dict(route_limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        limit = self.route_limits.get(scope["path"], self.body_limit)
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
            if received > limit.max_bytes:
                raise BodyTooLargeError(limit)
            return message

        try:
            # A length that is not a number is left to the server; the count of bytes read
            # still applies. More digits than this is over any limit, and too long for int().
            declared = headers.get(b"content-length", b"")
            if declared.isdigit() and (
                len(declared) > MAX_LENGTH_DIGITS or int(declared) > limit.max_bytes
            ):
                raise BodyTooLargeError(limit)
            await self.app(scope, receive_limited, send_with_id)
        except BodyTooLargeError:
            # Raised here before the app ran (a Content-Length over the limit), or while a route
            # read the body itself; FastAPI's own body parsing answers with http_errors instead.
            if response_started:
                raise
            response = JSONResponse({"detail": limit.message()}, status_code=413)
            await response(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            path = scope["path"]
            self.telemetry.observe_request(route_label(scope), scope["method"], status, seconds)
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
