"""Prometheus metrics: requests and latency by route, time by stage, abstentions, empty results."""

from prometheus_client import Counter, Gauge, Histogram

from .http_metrics import LATENCY_BUCKETS, HttpMetrics

# A language model may take seconds to answer: the shared buckets plus one at 10 s.
STAGE_BUCKETS = (*LATENCY_BUCKETS, 10.0)


class Telemetry(HttpMetrics):
    """The API's metrics: the shared request metrics, and what searching and answering did.

    The abstention rate is `rate(answers_total{abstained="true"}) / rate(answers_total)`.
    """

    def __init__(self) -> None:
        super().__init__(STAGE_BUCKETS)
        registry = self.registry
        self.stage_latency = Histogram(
            "rag_stage_duration_seconds",
            "Time spent in each stage of a search or an answer: retrieve, rerank, generate.",
            ["route", "stage"],
            buckets=STAGE_BUCKETS,
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

    def observe_stages(self, route: str, timings_ms: dict[str, float]) -> None:
        for stage, milliseconds in timings_ms.items():
            self.stage_latency.labels(route, stage).observe(milliseconds / 1000.0)

    def observe_answer(self, *, abstained: bool) -> None:
        self.answers.labels("true" if abstained else "false").inc()

    def observe_index(self, documents: int, chunks: int) -> None:
        self.index_documents.set(documents)
        self.index_chunks.set(chunks)
