"""The sampled prediction log: inputs, outputs, latency and model version, one JSON line each."""

import json
import logging
import logging.handlers
import queue
import random
from datetime import UTC, datetime
from pathlib import Path

from .schemas import JsonRecord

LOGGER_NAME = "prediction_log"


class PredictionLog:
    """Writes sampled predictions off the request path, through a queue, to a JSONL file.

    The file is one logging handler: swap it for any other (a socket, a cloud sink) to ship the
    log elsewhere. Writes happen in a background thread, so a slow disk never slows a request.
    """

    def __init__(self, path: Path, sample_rate: float) -> None:
        self.path = path
        self.sample_rate = sample_rate
        self.queue: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        self.logger = logging.getLogger(LOGGER_NAME)
        self.logger.propagate = False
        self.logger.setLevel(logging.INFO)
        self.listener: logging.handlers.QueueListener | None = None

    def start(self) -> None:
        """Open the file and start the writer thread; a second call while running does nothing."""
        if self.sample_rate == 0.0 or self.listener is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(self.path, encoding="utf-8")
        file_handler.setFormatter(logging.Formatter("%(message)s"))
        self.logger.handlers[:] = [logging.handlers.QueueHandler(self.queue)]
        self.listener = logging.handlers.QueueListener(self.queue, file_handler)
        self.listener.start()

    def stop(self) -> None:
        """Flush what is queued and close the file."""
        if self.listener is not None:
            self.listener.stop()
            for handler in self.listener.handlers:
                handler.close()
            self.listener = None
        self.logger.handlers[:] = []

    def write(
        self,
        records: list[JsonRecord],
        predictions: list[dict[str, float]],
        latency_ms: float,
        model_version: str,
        request_id: str,
    ) -> None:
        """Log one request's records, if it is sampled; the whole batch or none of it."""
        if self.listener is None or random.random() >= self.sample_rate:  # noqa: S311 (sampling)
            return
        time = datetime.now(UTC).isoformat(timespec="milliseconds")
        for record, prediction in zip(records, predictions, strict=True):
            entry = {
                "time": time,
                "request_id": request_id,
                "model_version": model_version,
                "latency_ms": round(latency_ms, 3),
                "inputs": record,
                **prediction,
            }
            self.logger.info(json.dumps(entry))


def read(path: Path) -> tuple[list[dict[str, object]], int]:
    """The logged entries of a JSONL file, and how many lines could not be parsed."""
    entries: list[dict[str, object]] = []
    bad = 0
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                bad += 1
    return entries, bad
