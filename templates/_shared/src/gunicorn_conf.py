"""Gunicorn settings, read from the same environment variables (HOST, PORT, ...) as the app.

Gunicorn with uvicorn workers rather than `uvicorn --workers`: gunicorn restarts a worker that
hangs (`timeout`) or dies, gives each one `graceful_timeout` to finish its requests on SIGTERM,
and has the `child_exit` hook that keeps multi-worker Prometheus metrics correct.
"""

import os
import tempfile
from typing import Protocol

from .config import PROMETHEUS_MULTIPROC_ENV, load_server_settings

_settings = load_server_settings()

bind = f"{_settings.host}:{_settings.port}"
workers = _settings.web_concurrency
worker_class = "uvicorn_worker.UvicornWorker"
graceful_timeout = _settings.graceful_timeout
# A worker silent for this long is stuck: gunicorn kills and replaces it.
timeout = 60
keepalive = 5
# The app writes one JSON line per request; gunicorn's own access log would repeat it.
accesslog = None
errorlog = "-"
loglevel = _settings.log_level.lower()
# Gunicorn's own messages (start, worker boot, shutdown) in the same JSON lines as the app's.
logconfig_dict: dict[str, object] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": f"{__package__}.logs.JsonFormatter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stdout",
        }
    },
    "root": {"handlers": ["stdout"], "level": _settings.log_level},
    "loggers": {"gunicorn.error": {"level": _settings.log_level}},
}

if workers > 1 and not os.environ.get(PROMETHEUS_MULTIPROC_ENV):
    # Set before the workers start, so each one's prometheus-client writes where /metrics reads.
    os.environ[PROMETHEUS_MULTIPROC_ENV] = tempfile.mkdtemp(prefix="prometheus-")

# Only now: prometheus-client chooses between in-memory and file-backed values when it is first
# imported, and the workers forked from this process inherit that choice.
from prometheus_client import multiprocess  # noqa: E402


class Worker(Protocol):
    """What the hook reads of gunicorn's worker object."""

    pid: int


def child_exit(_server: object, worker: Worker) -> None:
    """Drop a finished worker's live gauges from the metrics the others report."""
    if os.environ.get(PROMETHEUS_MULTIPROC_ENV):
        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
