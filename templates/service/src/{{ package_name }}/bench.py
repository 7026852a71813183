"""Load test on loopback: the service against a bare endpoint calling the same model, same run."""

import asyncio
import json
import time
from dataclasses import asdict, dataclass
from http import HTTPStatus
from pathlib import Path

import httpx
import numpy as np

from .server import running_server

BARE_APP = f"{__name__.rpartition('.')[0]}.bare_app:create_bare_app()"


@dataclass(frozen=True)
class LoadResult:
    """Throughput and latency of one target at a fixed concurrency."""

    name: str
    requests: int
    errors: int
    seconds: float
    throughput: float
    p50_ms: float
    p95_ms: float
    p99_ms: float


@dataclass(frozen=True)
class BenchResult:
    """Both targets, and the service's throughput as a share of the bare endpoint's."""

    service: LoadResult
    bare: LoadResult
    concurrency: int

    @property
    def ratio(self) -> float:
        return self.service.throughput / self.bare.throughput if self.bare.throughput else 0.0


@dataclass(frozen=True)
class Sample:
    """What one timed round against one target saw."""

    latencies: list[float]
    errors: int
    seconds: float


async def drive(
    url: str, body: dict[str, object], concurrency: int, seconds: float, max_requests: int
) -> Sample:
    """`concurrency` clients post `body` back to back until the time or request budget ends."""
    latencies: list[float] = []
    errors = 0
    sent = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=10.0) as client:
        started = time.perf_counter()
        deadline = started + seconds

        async def client_loop() -> None:
            nonlocal errors, sent
            while time.perf_counter() < deadline and sent < max_requests:
                sent += 1
                began = time.perf_counter()
                try:
                    response = await client.post(url, json=body)
                    ok = response.status_code == HTTPStatus.OK
                except httpx.HTTPError:
                    ok = False
                if ok:
                    latencies.append(time.perf_counter() - began)
                else:
                    errors += 1

        await asyncio.gather(*(client_loop() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return Sample(latencies, errors, elapsed)


def summarize(name: str, samples: list[Sample]) -> LoadResult:
    """One target's rounds as a whole: total throughput, percentiles over every request."""
    latencies = [latency for sample in samples for latency in sample.latencies]
    seconds = sum(sample.seconds for sample in samples)
    p50, p95, p99 = (
        np.percentile(latencies, [50, 95, 99]) * 1000 if latencies else np.zeros(3)
    ).tolist()
    errors = sum(sample.errors for sample in samples)
    throughput = len(latencies) / seconds if seconds else 0.0
    return LoadResult(name, len(latencies), errors, seconds, throughput, p50, p95, p99)


def run_bench(
    concurrency: int = 8,
    seconds: float = 10.0,
    max_requests: int = 5000,
    warm_up: int = 50,
    rounds: int = 4,
) -> BenchResult:
    """Start both servers on loopback ports, warm them up, then load them in alternate rounds.

    Each target gets `seconds` and `max_requests` in all, split over `rounds` that alternate
    bare, service, bare, service...: on a shared machine, load from elsewhere then falls on both
    alike instead of on whichever ran second.
    """
    with running_server() as service_url, running_server(BARE_APP) as bare_url:
        body = httpx.get(f"{service_url}/v1/model").json()["example_request"]
        urls = {"bare": f"{bare_url}/predict", "service": f"{service_url}/v1/predict"}
        samples: dict[str, list[Sample]] = {name: [] for name in urls}
        for url in urls.values():
            asyncio.run(drive(url, body, concurrency, 60.0, warm_up))
        for _ in range(rounds):
            for name, url in urls.items():
                budget = max(1, max_requests // rounds)
                samples[name].append(
                    asyncio.run(drive(url, body, concurrency, seconds / rounds, budget))
                )
    return BenchResult(
        service=summarize("service", samples["service"]),
        bare=summarize("bare", samples["bare"]),
        concurrency=concurrency,
    )


def save(result: BenchResult, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    summary = {
        "concurrency": result.concurrency,
        "ratio": result.ratio,
        "service": asdict(result.service),
        "bare": asdict(result.bare),
    }
    path.write_text(json.dumps(summary, indent=2) + "\n")
    return path
