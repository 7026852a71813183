"""Prometheus metrics: requests and latency by route, time by stage, abstentions, empty results."""

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from .config import PROMETHEUS_MULTIPROC_ENV

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Telemetry:
    """The API's metrics, in a registry of their own so each app instance starts at zero.

    The abstention rate is `rate(answers_total{abstained="true"}) / rate(answers_total)`.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.requests = Counter(
            "http_requests",
            "HTTP requests served, by route template, method and status code.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time from the first byte in to the last byte out, by route and status code.",
            ["route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.stage_latency = Histogram(
            "rag_stage_duration_seconds",
            "Time spent in each stage of a search or an answer: retrieve, rerank, generate.",
            ["route", "stage"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.answers = Counter(
            "rag_answers",
            "Answers given, by whether the answer abstained (said it does not know).",
            ["abstained"],
            registry=registry,
        )
        self.empty_results = Counter(
            "rag_empty_results",
            "Searches and questions that retrieved no passage at all, by route.",
            ["route"],
            registry=registry,
        )
        self.ingested = Counter(
            "rag_ingested_documents",
            "Documents uploaded to /v1/ingest, by what happened to them.",
            ["outcome"],
            registry=registry,
        )
        self.index_chunks = Gauge(
            "rag_index_chunks",
            "Chunks in the index this worker searches.",
            registry=registry,
            multiprocess_mode="livemostrecent",
        )
        self.index_documents = Gauge(
            "rag_index_documents",
            "Documents in the index this worker searches.",
            registry=registry,
            multiprocess_mode="livemostrecent",
        )
        self.ready = Gauge(
            "rag_ready",
            "1 once the index is open and the models are loaded.",
            registry=registry,
            multiprocess_mode="livemin",
        )

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, str(status)).observe(seconds)

    def observe_stages(self, route: str, timings_ms: dict[str, float]) -> None:
        for stage, milliseconds in timings_ms.items():
            self.stage_latency.labels(route, stage).observe(milliseconds / 1000.0)

    def observe_answer(self, *, abstained: bool) -> None:
        self.answers.labels("true" if abstained else "false").inc()

    def observe_index(self, documents: int, chunks: int) -> None:
        self.index_documents.set(documents)
        self.index_chunks.set(chunks)

    def exposition(self) -> tuple[bytes, str]:
        """The metrics in Prometheus' text format, summed over workers when there are several."""
        registry = self.registry
        if os.environ.get(PROMETHEUS_MULTIPROC_ENV):
            registry = CollectorRegistry()
            # prometheus-client's multiprocess module has no type annotations.
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
