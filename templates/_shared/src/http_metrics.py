"""The metrics every served API keeps: requests and latency by route and status, and /metrics."""

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from .config import PROMETHEUS_MULTIPROC_ENV

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class HttpMetrics:
    """Metrics in a registry of their own, so each app instance starts at zero.

    A type's Telemetry extends it with what that API does (predictions, drift; answers,
    stages); the request middleware only needs `observe_request`.
    """

    def __init__(self, latency_buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests",
            "HTTP requests served, by route template, method and status code.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time from the first byte in to the last byte out, by route and status code.",
            ["route", "status"],
            buckets=latency_buckets,
            registry=self.registry,
        )

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, str(status)).observe(seconds)

    def exposition(self) -> tuple[bytes, str]:
        """The metrics in Prometheus' text format, summed over workers when there are several."""
        registry = self.registry
        if os.environ.get(PROMETHEUS_MULTIPROC_ENV):
            registry = CollectorRegistry()
            # prometheus-client's multiprocess module has no type annotations.
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
