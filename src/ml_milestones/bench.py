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
from functools import partial
from pathlib import Path
from statistics import median

from .bench_rag import bench_rag
from .bench_tools import Row, default_variant, median_of, nox, run, timed
from .git_repos import NEXT_TAG, git, make_template_repo, release, render_project, update
from .paths import TEMPLATE_ROOT, project_types
from .render import project_name, render
from .tools import clean_env

RESULTS = TEMPLATE_ROOT / "benchmarks" / "results.md"
PLAIN_TRAIN = TEMPLATE_ROOT / "benchmarks" / "plain_train.py"
TRAIN_REPEATS = 5


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
