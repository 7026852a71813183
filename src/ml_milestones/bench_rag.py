"""The rag section of `nox -s bench`: demo and CI times, retrieval, stores, the API under load."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .bench_tools import Row, default_variant, median_of, nox, run, timed
from .render import render


def bench_rag(workdir: Path) -> list[Row]:
    """Demo and CI times, then the project's own benchmarks/retrieval_bench.py (ingest
    throughput, retrieval latency on the bundled corpus, the embedded store at 100k synthetic
    chunks, pgvector HNSW against it at 10k and 100k), benchmarks/load_bench.py (the API at
    concurrency 8) and the test-split quality the demo's evaluation wrote."""
    project = render(default_variant("rag"), workdir / "rag")
    first = timed(lambda: nox(project, "-s", "demo"))
    warm = median_of(2, lambda: nox(project, "-s", "demo", "--reuse-existing-virtualenvs"))
    ci = timed(lambda: nox(project))
    # The tests' environment: it has the dev dependencies, whose PostgreSQL step 4 starts.
    python = project / ".nox" / "tests" / "bin" / "python"
    out = workdir / "retrieval-bench.json"
    bench_command = ["benchmarks/retrieval_bench.py", "--start-postgres", "--json", str(out)]
    run([str(python), *bench_command], project)
    bench = json.loads(out.read_text())
    corpus, store = bench["corpus"], bench["store"]
    latency = corpus["latency"]
    on_corpus = f"{corpus['chunks']} chunks, {corpus['questions']} questions x 3"
    rows = [
        Row("rag `nox -s demo`, warm cache, fresh env", first, "-", "the first demo run"),
        Row("rag `nox -s demo`, warm cache, env reused (median of 2)", warm, "≤ 120 s"),
        Row("rag generated CI (`nox`: lint, typecheck, tests), warm", ci, "≤ 150 s"),
        Row(
            f"rag retrieval p95 ({corpus['configuration']}: BM25 + dense + fusion, no answer)",
            latency["retrieve"]["p95_ms"],
            "≤ 50 ms",
            f"p50 {latency['retrieve']['p50_ms']:.1f} ms; {on_corpus}",
            unit=" ms",
        ),
        Row(
            f"rag embedded store dense query p95 at {store['chunks']:,} synthetic chunks",
            store["dense"]["p95_ms"],
            "≤ 20 ms",
            f"p50 {store['dense']['p50_ms']:.1f} ms; exact NumPy, top {store['k']}",
            unit=" ms",
        ),
        Row(
            f"rag embedded store BM25 query p95 at {store['chunks']:,} synthetic chunks",
            store["lexical"]["p95_ms"],
            "-",
            f"p50 {store['lexical']['p50_ms']:.1f} ms",
            unit=" ms",
        ),
        Row(
            "rag ingest throughput (parse, chunk, embed, index)",
            corpus["chunks_per_s"],
            "report",
            f"{on_corpus.split(',')[0]} in {corpus['ingest_s']:.1f} s, {os.cpu_count()} cores",
            unit=" chunks/s",
        ),
    ]
    for size in bench.get("pgvector", []):
        for name, label in (("embedded", "embedded store, exact"), ("pgvector", "pgvector HNSW")):
            numbers = size[name]
            build = f"; index built in {size['hnsw_build_s']:.1f} s" if name == "pgvector" else ""
            rows.append(
                Row(
                    f"rag dense top-10 query p95 at {size['chunks']:,} chunks: {label}",
                    numbers["p95_ms"],
                    "report",
                    f"p50 {numbers['p50_ms']:.1f} ms; recall@10 {numbers['recall_at_10']:.3f} "
                    f"against exact search{build}",
                    unit=" ms",
                )
            )
    if corpus["embedded_chunks_per_s"]:
        rows.append(
            Row(
                "rag embedding throughput (the embed stage alone)",
                corpus["embedded_chunks_per_s"],
                "report",
                f"model load {corpus['model_load_s']:.1f} s",
                unit=" chunks/s",
            )
        )
    rows += rag_load_rows(python, project, workdir / "load-bench.json")
    return rows + rag_quality_rows(project / "reports" / "metrics.json")


def rag_load_rows(python: Path, project: Path, out: Path) -> list[Row]:
    """The project's benchmarks/load_bench.py: /v1/search and /v1/ask (extractive) served by
    gunicorn on a loopback port at concurrency 8, over the index the demo built."""
    run([str(python), "benchmarks/load_bench.py", "--json", str(out)], project)
    load = json.loads(out.read_text())
    rows = []
    for route in load["routes"]:
        note = (
            f"p50 {route['p50_ms']:.1f} ms, p95 {route['p95_ms']:.1f} ms; {route['requests']} "
            f"requests, {route['errors']} errors, {load['workers']} worker"
        )
        rows.append(
            Row(
                f"rag API {route['route']} throughput at concurrency {load['concurrency']}",
                route["requests_per_s"],
                "report",
                note,
                unit=" req/s",
            )
        )
        rows.append(
            Row(
                f"rag API {route['route']} p99 at concurrency {load['concurrency']}",
                route["p99_ms"],
                "report",
                "extractive answers" if route["route"] == "/v1/ask" else "search only",
                unit=" ms",
            )
        )
    return rows


HYBRID_TARGET = "hybrid ≥ max(BM25, dense) + 0.03"


def rag_quality_rows(metrics_file: Path) -> list[Row]:
    """recall@5 and nDCG@10 of each configuration on the evaluated split, with their bootstrap
    intervals, and the default configuration's answer scores, from the demo's metrics.json
    (nothing when the file is missing or has another shape)."""
    try:
        metrics = json.loads(metrics_file.read_text())
        split, default = metrics["split"], metrics["default"]
        rows = []
        for config in metrics["configurations"]:
            chosen = " (the default)" if config["name"] == default else ""
            for key, label in (("recall_at_5", "recall@5"), ("ndcg_at_10", "nDCG@10")):
                low, high = config["intervals"][key]
                rows.append(
                    Row(
                        f"rag {label}, {split} split: {config['name']}{chosen}",
                        config["scores"][key],
                        HYBRID_TARGET if key == "recall_at_5" else "-",
                        f"95% CI {low:.3f} to {high:.3f}, {config['questions']} questions",
                        unit="",
                    )
                )
        answers = metrics["answers"]
        for key in ("token_f1", "containment", "citation_precision", "abstention_accuracy"):
            rows.append(Row(f"rag answers, {split} split: {key}", answers[key], "-", default, ""))
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return []
    return rows
