"""Benchmarks for `nox -s bench`: render, demo, generated CI and training times, as a table.

Numbers, never assertions: these machines are shared and noisy, so targets are compared by a
person reading benchmarks/results.md, not by a test.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from statistics import median

from . import process
from .git_repos import NEXT_TAG, git, make_template_repo, release, render_project, update
from .paths import TEMPLATE_ROOT, project_types
from .render import project_name, render
from .tools import clean_env
from .variants import VARIANTS, Variant

RESULTS = TEMPLATE_ROOT / "benchmarks" / "results.md"
PLAIN_TRAIN = TEMPLATE_ROOT / "benchmarks" / "plain_train.py"
TRAIN_REPEATS = 5


@dataclass(frozen=True)
class Row:
    measure: str
    seconds: float
    target: str
    note: str = ""
    # The value's unit when it is not seconds (" ms", " chunks/s"; "" for a score).
    unit: str | None = None


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def median_of(repeats: int, action: Callable[[], object]) -> float:
    return median(timed(action) for _ in range(repeats))


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    completed = process.run(command, cwd=cwd, env=env or clean_env(), output="separate")
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed in {cwd}:\n{completed.stdout[-3000:]}")


def default_variant(project_type: str) -> Variant:
    return next(v for v in VARIANTS if v.project_type == project_type)


def bench_copy(workdir: Path, repeats: int = 5) -> list[Row]:
    rows = []
    for project_type in project_types():
        variant = default_variant(project_type)
        times = [
            timed(partial(render, variant, workdir / f"copy-{project_type}-{i}"))
            for i in range(repeats)
        ]
        rows.append(
            Row(f"`copier copy` {project_type} (median of {repeats})", median(times), "≤ 1 s")
        )
    return rows


def bench_update(workdir: Path, repeats: int = 5) -> list[Row]:
    """`copier update` from one template release to the next, on a committed project."""
    template = make_template_repo(workdir / "template-repo")
    readme = template / "templates" / "_shared" / "README.md.jinja"
    release(template, {readme.relative_to(template).as_posix(): readme.read_text() + "\nNew.\n"})
    rows = []
    for project_type in project_types():
        project = render_project(
            template, default_variant(project_type), workdir / f"up-{project_type}"
        )
        times = []
        for _ in range(repeats):
            times.append(timed(partial(update, project, vcs_ref=NEXT_TAG)))
            git(project, "reset", "--hard", "--quiet")
            git(project, "clean", "-fdq")
        rows.append(
            Row(f"`copier update` {project_type} (median of {repeats})", median(times), "≤ 3 s")
        )
    return rows


def nox(project: Path, *args: str, env: dict[str, str] | None = None) -> None:
    run([sys.executable, "-m", "nox", "--non-interactive", *args], project, env)


def bench_tabular(workdir: Path) -> list[Row]:
    project = render(default_variant("tabular"), workdir / "tabular")
    cold_env = {**clean_env(), "UV_CACHE_DIR": str(workdir / "empty-uv-cache")}
    cold = timed(lambda: nox(project, "-s", "demo", env=cold_env))
    warm = median_of(3, lambda: nox(project, "-s", "demo", "--reuse-existing-virtualenvs"))
    fresh_envs = timed(lambda: nox(project, "-s", "demo"))
    ci = timed(lambda: nox(project))
    first, train, plain = bench_train_ratio(project)
    return [
        Row("tabular `nox -s demo`, cold uv cache", cold, "-", "downloads every wheel once"),
        Row("tabular `nox -s demo`, warm cache, env reused (median of 3)", warm, "≤ 60 s"),
        Row("tabular `nox -s demo`, warm cache, fresh env", fresh_envs, "≤ 60 s"),
        Row("tabular generated CI (`nox`: lint, typecheck, tests), warm", ci, "≤ 90 s"),
        Row("tabular `train`, first run: fresh MLflow store", first, "-", "one run"),
        Row(f"tabular `train`, existing store (median of {TRAIN_REPEATS})", train, "-"),
        Row(f"plain scikit-learn script, same CV (median of {TRAIN_REPEATS})", plain, "-"),
        Row("ratio train / plain script", train / plain, "≤ 1.3", "existing store; a ratio"),
        Row("ratio first-run train / plain script", first / plain, "-", "fresh store"),
    ]


def bench_train_ratio(project: Path) -> tuple[float, float, float]:
    """`train` against benchmarks/plain_train.py: (first run, second run, plain), in seconds.

    The protocol, fixed so that figures compare across machines and changes:
    - the baseline is benchmarks/plain_train.py, the same CV in plain scikit-learn, run by the
      project's own Python on the bundled data;
    - every run is a new process (imports included), alternating `train` and the baseline so
      a change in the machine's load hits both;
    - `train` finds the MLflow store a user has on a second run (`mlflow.db` made by the demo),
      and the first-run figure, with the store deleted beforehand, is reported beside it.
    """
    python = project / ".nox" / "demo" / "bin" / "python"
    cli = project / ".nox" / "demo" / "bin" / project_name(project)

    def train() -> None:
        run([str(cli), "train"], project)

    def plain() -> None:
        run([str(python), str(PLAIN_TRAIN)], project)

    (project / "mlflow.db").unlink(missing_ok=True)
    shutil.rmtree(project / "mlruns", ignore_errors=True)
    first = timed(train)
    trains, plains = [], []
    for _ in range(TRAIN_REPEATS):
        trains.append(timed(train))
        plains.append(timed(plain))
    return first, median(trains), median(plains)


def bench_service(workdir: Path) -> list[Row]:
    """The service's own load test: throughput and latency next to a bare endpoint, same run."""
    variant = default_variant("service")
    project = render(variant, workdir / "service")
    nox(project, "-s", "demo")  # trains the model the bench serves
    cli = project / ".nox" / "demo" / "bin" / project_name(project)
    run([str(cli), "bench", "--concurrency", "8", "--seconds", "10"], project)
    result = json.loads((project / "reports" / "bench.json").read_text())
    rows = []
    for target in ("bare", "service"):
        load = result[target]
        note = f"{load['requests']} requests, {load['errors']} errors, concurrency 8"
        rows.append(
            Row(f"service bench: {target} throughput (req/s)", load["throughput"], "-", note)
        )
        for pct in ("p50", "p95", "p99"):
            rows.append(Row(f"service bench: {target} {pct} latency (ms)", load[f"{pct}_ms"], "-"))
    rows.append(Row("ratio service / bare throughput", result["ratio"], "≥ 0.8", "a ratio"))
    return rows


def bench_deep_learning(workdir: Path) -> list[Row]:
    """Demo and CI times, then the training loop against a bare loop and CPU bf16 against fp32.

    Offline here torch comes from the local wheel (clean_env points the projects' `pytorch`
    index at it), so the cold-cache demo copies that wheel instead of downloading ~200 MB.
    """
    variant = default_variant("deep-learning")
    project = render(variant, workdir / "deep-learning")
    cold_env = {**clean_env(), "UV_CACHE_DIR": str(workdir / "empty-uv-cache")}
    cold = timed(lambda: nox(project, "-s", "demo", env=cold_env))
    warm = median_of(2, lambda: nox(project, "-s", "demo", "--reuse-existing-virtualenvs"))
    fresh_envs = timed(lambda: nox(project, "-s", "demo"))
    ci = timed(lambda: nox(project))
    # The project's own benchmark (benchmarks/train_overhead.py in every deep-learning project):
    # its loop against a bare loop that must end with the same weights, then bf16 against fp32.
    python = project / ".nox" / "demo" / "bin" / "python"
    out = workdir / "train-overhead.json"
    run([str(python), "benchmarks/train_overhead.py", "--json", str(out)], project)
    train = json.loads(out.read_text())
    epochs = f"{train['epochs']} epochs of {train['train_images']} images, fp32"
    flags = [name for name, present in train["cpu_bf16_flags"].items() if present]
    bf16_note = (
        f"native bf16 ({', '.join(flags)})" if flags else "no native bf16: the project keeps fp32"
    )
    same = "same final weights" if train["same_final_weights"] else "WEIGHTS DIFFER"
    return [
        Row("deep-learning `nox -s demo`, cold uv cache", cold, "-", "torch from the local wheel"),
        Row("deep-learning `nox -s demo`, warm cache, env reused (median of 2)", warm, "≤ 90 s"),
        Row("deep-learning `nox -s demo`, warm cache, fresh env", fresh_envs, "-"),
        Row("deep-learning generated CI (`nox`: lint, typecheck, tests), warm", ci, "≤ 120 s"),
        Row("deep-learning `train` loop (fastest of 2)", train["project_seconds"], "-", epochs),
        Row("bare PyTorch loop (fastest of 2)", train["bare_seconds"], "-", f"{epochs}; {same}"),
        Row(
            "ratio loop / bare loop",
            train["overhead_ratio"],
            "≤ 1.10",
            "logging, metrics, checkpoints, progress; a ratio",
        ),
        Row("images/s: the project's loop", train["project_images_per_second"], "report", epochs),
        Row("images/s: the bare loop", train["bare_images_per_second"], "report", epochs),
        Row("fp32 training step", train["fp32_step_ms"] / 1000, "-", f"{train['threads']} threads"),
        Row("bf16 autocast training step", train["bf16_step_ms"] / 1000, "-", bf16_note),
        Row(
            "ratio CPU bf16 speedup (fp32 / bf16 step)", train["bf16_speedup"], "report", bf16_note
        ),
    ]


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


def results_file(sections: list[str]) -> Path:
    """results.md for every section; results-<sections>.md for some, leaving the others' table."""
    if not sections or set(sections) == set(SECTIONS):
        return RESULTS
    return RESULTS.with_name(f"results-{'-'.join(sections)}.md")


def load() -> str:
    """The machine's load average (1, 5 and 15 minutes): shared machines make timings noisy."""
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


def write_table(rows: list[Row], path: Path = RESULTS, load_at_start: str = "") -> str:
    started = f" at the start, {load_at_start}" if load_at_start else ""
    lines = [
        "# Benchmarks",
        "",
        f"Written by `nox -s bench` on {time.strftime('%Y-%m-%d %H:%M')} UTC; "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"load average (1, 5, 15 min){started}, at the end {load()}.",
        "",
        "| measure | value | target | note |",
        "| --- | ---: | --- | --- |",
    ]
    for row in rows:
        unitless = ("ratio", "service bench", "images/s")
        unit = "" if row.measure.startswith(unitless) else " s"
        unit = unit if row.unit is None else row.unit
        lines.append(f"| {row.measure} | {row.seconds:.2f}{unit} | {row.target} | {row.note} |")
    text = "\n".join(lines) + "\n"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return text


SECTIONS: dict[str, Callable[[Path], list[Row]]] = {
    "copy": bench_copy,
    "update": bench_update,
    "tabular": bench_tabular,
    "service": bench_service,
    "deep-learning": bench_deep_learning,
    "rag": bench_rag,
}


def main(sections: list[str]) -> None:
    """Run the named sections (all by default) and write the table."""
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        raise SystemExit(f"unknown section(s) {sorted(unknown)}; choose from {list(SECTIONS)}")
    load_at_start = load()
    with tempfile.TemporaryDirectory(prefix="ml-milestones-bench-") as tmp:
        workdir = Path(tmp)
        rows = [row for name in sections or SECTIONS for row in SECTIONS[name](workdir)]
    print(write_table(rows, results_file(sections), load_at_start))


if __name__ == "__main__":
    main(sys.argv[1:])
