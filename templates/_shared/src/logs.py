"""Structured logging: one JSON object per line, each carrying the id of the request it serves."""

import json
import logging
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

# Set per request by the HTTP middleware; log lines written while serving it carry it.
REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="-")
MAX_REQUEST_ID_LENGTH = 64


class JsonFormatter(logging.Formatter):
    """Formats a record as JSON; fields passed as `extra={"fields": {...}}` join the object."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": REQUEST_ID.get(),
            # Which worker wrote it, when gunicorn runs several.
            "pid": record.process,
        }
        entry |= getattr(record, "fields", {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(level: str) -> None:
    """Send every logger's records to stdout as JSON lines, replacing earlier handlers."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's own access log would duplicate the one line per request the middleware writes.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error", "gunicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


def request_id_from(header: str | None) -> str:
    """The caller's X-Request-ID when it is short printable text, else a fresh one."""
    if header and len(header) <= MAX_REQUEST_ID_LENGTH and header.isprintable():
        return header
    return uuid.uuid4().hex
