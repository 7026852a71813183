"""Load test on loopback: the service against a bare endpoint calling the same model, same run."""

import asyncio
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from . import paths
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


async def drive(
    name: str, url: str, body: dict[str, Any], concurrency: int, seconds: float, max_requests: int
) -> LoadResult:
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
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    latencies.append(time.perf_counter() - began)
                else:
                    errors += 1

        await asyncio.gather(*(client_loop() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    p50, p95, p99 = (
        np.percentile(latencies, [50, 95, 99]) * 1000 if latencies else np.zeros(3)
    ).tolist()
    return LoadResult(
        name, len(latencies), errors, elapsed, len(latencies) / elapsed, p50, p95, p99
    )


def run_bench(
    concurrency: int = 8, seconds: float = 10.0, max_requests: int = 5000, warm_up: int = 50
) -> BenchResult:
    """Start both servers on loopback ports, warm them up, and load each in turn."""
    with running_server() as service_url, running_server(BARE_APP) as bare_url:
        body = httpx.get(f"{service_url}/v1/model").json()["example_request"]
        results = {}
        for name, url in (
            ("bare", f"{bare_url}/predict"),
            ("service", f"{service_url}/v1/predict"),
        ):
            asyncio.run(drive(name, url, body, concurrency, 60.0, warm_up))
            results[name] = asyncio.run(drive(name, url, body, concurrency, seconds, max_requests))
    return BenchResult(service=results["service"], bare=results["bare"], concurrency=concurrency)


def save(result: BenchResult, path: Path = paths.BENCH_JSON) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    summary = {
        "concurrency": result.concurrency,
        "ratio": result.ratio,
        "service": asdict(result.service),
        "bare": asdict(result.bare),
    }
    path.write_text(json.dumps(summary, indent=2) + "\n")
    return path
