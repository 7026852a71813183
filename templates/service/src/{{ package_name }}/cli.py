"""The command line: train, evaluate, serve, monitor, bench, and `demo` to see it all at once."""

import json
import math
import os
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.panel import Panel
from rich.table import Table

from . import ENV_PREFIX, PROJECT_NAME
from .config import Settings, load_service_settings, load_settings
from .console import DataOption, console, create_app, show_written, shown, user_errors
from .errors import UserError

app = create_app("Train, gate, serve and monitor a classifier behind an HTTP API.")

# Each command imports what it needs when it runs: scikit-learn and MLflow take seconds to
# load, and `--help` or a mistyped option should answer at once.

DEMO_BATCH = 20


def do_train(
    settings: Settings, csv: Path | None, target: str | None, register: str | None
) -> None:
    from . import train as training

    split = training.load_and_split(settings, csv, target)
    for column, count in split.replaced.items():
        console.print(
            f"[yellow]Replaced[/] {count} value(s) of '{column}' "
            f"({split.rules[column].describe()}) with missing ones: change the rules with "
            f"{ENV_PREFIX}DATA__MISSING_RULES."
        )
    with console.status("Cross-validating and fitting…"):
        result = training.train(split, settings)
        files = training.save_outputs(result, split, settings)
    meta = result.metadata
    cv = meta.cv_metrics[meta.model_name]
    console.print(
        f"[bold]Trained[/] {meta.model_name} on {meta.training_rows} rows: cross-validated AUROC "
        f"{cv['auroc_mean']:.3f} ± {cv['auroc_std']:.3f}, threshold {meta.threshold:.3f}."
    )
    show_written(files)
    if register:
        version = do_register(settings, register)
        console.print(f"Registered as [bold]models:/{register}/{version}[/] in MLflow.")


def do_register(settings: Settings, name: str) -> str:
    """Register the model in models/ under `name`, through the MLflow run that logged it."""
    from . import train as training
    from .persistence import load_metadata

    run_id = load_metadata(settings.paths.models_dir).mlflow_run_id
    if not run_id:
        raise UserError(
            f"Cannot register the model as {name!r}: {settings.paths.models_dir} names no MLflow "
            "run, so nothing was logged to register. Run `train --register NAME` again."
        )
    return training.register(settings, run_id, name)


def do_evaluate(settings: Settings, csv: Path | None) -> bool:
    from . import evaluate as evaluation_module

    evaluation = evaluation_module.evaluate(settings, csv)
    files = evaluation_module.save(evaluation, settings)
    metrics = ", ".join(f"{name} {value:.3f}" for name, value in evaluation.metrics.items())
    console.print(
        f"[bold]Evaluated[/] on {evaluation.rows} rows of the {evaluation.source}: {metrics}"
    )
    show_written(files)
    if evaluation.passed:
        console.print("[bold green]Gate passed.[/]")
    for failure in evaluation.failures:
        console.print(f"[bold red]Gate failed:[/] {failure}")
    return evaluation.passed


def do_monitor(settings: Settings, log: Path | None) -> bool:
    from .monitor import monitor as run_monitor

    # By default, the log the service writes (PREDICTION_LOG_PATH).
    report = run_monitor(settings, log or load_service_settings().prediction_log)
    table = Table("feature", "PSI", "KS", "missing", "drift", title=f"Drift ({report.rows} rows)")
    for row in report.table.to_dict(orient="records"):
        table.add_row(
            str(row["feature"]),
            f"{row['psi']:.3f}",
            "-" if math.isnan(row["ks_statistic"]) else f"{row['ks_statistic']:.3f}",
            f"{row['missing_reference']:.0%} → {row['missing_current']:.0%}",
            f"[red]{row['reason']}[/]" if row["drifted"] else "no",
        )
    console.print(table)
    show_written(report.files)
    if report.drifted:
        console.print(f"[bold red]Drift:[/] {', '.join(report.drifted)}.")
    return not report.drifted


@app.command()
def train(
    csv: DataOption = None,
    target: Annotated[str | None, typer.Option(help="Column to predict.")] = None,
    register: Annotated[
        str | None, typer.Option(help="Also register the model in MLflow under this name.")
    ] = None,
) -> None:
    """Split the data, fit the model, and save it to models/ (and log it to MLflow)."""
    with user_errors():
        do_train(load_settings(), csv, target, register)


@app.command()
def evaluate(
    csv: Annotated[
        Path | None,
        typer.Option("--data", help="Labelled CSV to score instead of the held-out rows."),
    ] = None,
) -> None:
    """Score held-out rows; exit 1 when a metric misses its threshold in config.py."""
    with user_errors():
        passed = do_evaluate(load_settings(), csv)
    if not passed:
        raise typer.Exit(code=1)


@app.command()
def gate() -> None:
    """Fail unless models/ holds the very model `evaluate` passed; the image build runs it."""
    from .evaluate import check_gate

    with user_errors():
        version = check_gate(load_settings())
    console.print(f"[bold green]Gate passed[/] for model {version}.")


@app.command()
def serve() -> None:
    """Run the service as the container does: gunicorn with uvicorn workers, on $HOST:$PORT."""
    from .server import gunicorn_argv

    # Checked here, so a bad setting is one line and exit code 2, not a worker's traceback.
    with user_errors():
        load_service_settings()
    argv = gunicorn_argv()
    # exec, not a child process: gunicorn gets the signals (SIGTERM for a graceful stop) itself.
    # The arguments are a list built by gunicorn_argv(), so no shell is wanted (S606).
    os.execvp(argv[0], argv)  # noqa: S606


@app.command()
def monitor(
    log: Annotated[
        Path | None,
        typer.Option(help="Prediction log to check [default: the service's, PREDICTION_LOG_PATH]."),
    ] = None,
) -> None:
    """Compare logged inputs with the training rows; exit 1 when a feature drifted."""
    with user_errors():
        stable = do_monitor(load_settings(), log)
    if not stable:
        raise typer.Exit(code=1)


@app.command()
def bench(
    concurrency: Annotated[int, typer.Option(min=1, max=256)] = 8,
    seconds: Annotated[float, typer.Option(min=1.0, max=300.0)] = 10.0,
    max_requests: Annotated[int, typer.Option(min=10)] = 5000,
) -> None:
    """Load-test the service and a bare endpoint on 127.0.0.1; report throughput and latency."""
    from .bench import run_bench, save

    with user_errors(), console.status("Load testing on 127.0.0.1…"):
        settings = load_settings()
        result = run_bench(concurrency, seconds, max_requests)
    table = Table("target", "requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms")
    for load in (result.bare, result.service):
        table.add_row(
            load.name,
            str(load.requests),
            str(load.errors),
            f"{load.throughput:.0f}",
            f"{load.p50_ms:.2f}",
            f"{load.p95_ms:.2f}",
            f"{load.p99_ms:.2f}",
        )
    console.print(table)
    console.print(
        f"Service throughput is [bold]{result.ratio:.2f}[/] of the bare endpoint's at "
        f"concurrency {result.concurrency} (target ≥ 0.80)."
    )
    show_written([save(result, settings.paths.bench_json)])


@app.command()
def site() -> None:
    """Build the results site in site/ from the latest reports: run `demo` first."""
    from .site import Page, build_for

    with user_errors():
        paths = load_settings().paths
        reports = [Page("Evaluation", paths.evaluation_md), Page("Drift", paths.drift_md)]
        built = build_for(paths, reports)
    console.print(f"[bold]Results site[/]: {built.summary()}")


@app.command()
def demo() -> None:
    """Train, gate, start the service on 127.0.0.1, send requests, show metrics, check drift."""
    import httpx

    from .data import load_split
    from .schemas import json_record
    from .server import running_server

    started = time.perf_counter()
    with user_errors():
        settings = load_settings()
        # The service started below logs where `monitor` reads: both use the project folder.
        log = load_service_settings().prediction_log
        do_train(settings, None, None, None)
        if not do_evaluate(settings, None):
            raise typer.Exit(code=1)
        log.unlink(missing_ok=True)
        with running_server() as url:
            console.print(f"[bold]Serving[/] on {url} with gunicorn, as the container does.")
            example = httpx.get(f"{url}/v1/model").json()["example_request"]
            answer = httpx.post(f"{url}/v1/predict", json=example).json()
            console.print("[bold]POST /v1/predict[/]", json.dumps(example), "\n→", answer)
            bad = {"records": [{**example["records"][0], "age": False}]}
            refused = httpx.post(f"{url}/v1/predict", json=bad)
            console.print(
                f"[bold]A boolean for a number[/] → {refused.status_code}: "
                f"{refused.json()['message']}"
            )
            split = load_split(settings.paths.data_dir)
            rows = split.holdout.drop(columns=split.target)
            records = [json_record(row) for _, row in rows.iterrows()]
            for start in range(0, len(records), DEMO_BATCH):
                batch = {"records": records[start : start + DEMO_BATCH]}
                httpx.post(f"{url}/v1/predict", json=batch).raise_for_status()
            console.print(f"Scored the {len(records)} held-out rows in batches of {DEMO_BATCH}.")
            watched = (
                "http_requests_total",
                "predictions_total",
                'feature_drift_psi{feature="age"}',
            )
            for line in httpx.get(f"{url}/metrics").text.splitlines():
                if line.startswith(watched):
                    console.print(f"  {line}")
        stable = do_monitor(settings, log)
    paths = settings.paths
    console.print(
        Panel(
            f"Model card: {shown(paths.model_card)}\n"
            f"Evaluation: {shown(paths.evaluation_md)}\n"
            f"Drift report: {shown(paths.drift_md)} "
            f"({'stable' if stable else 'drift found'})\n"
            f"Serve it: {PROJECT_NAME} serve, or docker compose up\n"
            f"Finished in {time.perf_counter() - started:.1f} s",
            title=f"{PROJECT_NAME} demo",
            expand=False,
        )
    )
