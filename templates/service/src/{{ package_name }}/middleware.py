"""Around every request: its id, the body-size limit (413), one JSON log line and its metrics."""

import logging
import time

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import logs
from .telemetry import Telemetry

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


class BodyTooLargeError(Exception):
    """The request body passed the size limit while it was being read."""


class RequestMiddleware:
    """Request id, body-size limit (413), one JSON log line and the metrics of every request.

    Plain ASGI rather than @app.middleware("http"): it adds no extra task or body copy per
    request, which matters at thousands of requests a second.
    """

    def __init__(self, app: ASGIApp, telemetry: Telemetry, max_body_bytes: int) -> None:
        self.app = app
        self.telemetry = telemetry
        self.max_body_bytes = max_body_bytes

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
            # A length that is not a number is left to the server; the count of bytes read
            # still applies. More digits than this is over any limit, and too long for int().
            declared = headers.get(b"content-length", b"")
            if declared.isdigit() and (
                len(declared) > MAX_LENGTH_DIGITS or int(declared) > self.max_body_bytes
            ):
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
