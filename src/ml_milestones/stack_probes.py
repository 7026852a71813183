"""What each project type's compose stack must do once it is up and healthy (compose_stack.py).

A service stack: the API answers, trains in its container against the MLflow server, serves the
model it registered there, and Prometheus scrapes it. A rag stack: the API indexes the bundled
documents uploaded with the token into PostgreSQL and answers with citations of them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import PurePosixPath

from .compose_stack import COMPOSE_FILE, Stack, project_package, project_script
from .podman import ContainerError
from .probes import (
    HEALTH_TIMEOUT_S,
    RAG_QUESTION,
    check_cited_answer,
    expect_200,
    http_json,
    http_request,
    multipart_body,
    probe_api,
    wait_ready,
)
from .process import tail

# Prometheus scrapes every 15 s (prometheus.yml): two intervals and some start-up time.
PROMETHEUS_TIMEOUT_S = 60
# Uploading and indexing the whole bundled corpus in one request: embedding a thousand chunks on
# two busy cores takes tens of seconds.
INGEST_TIMEOUT_S = 300


def probe_service_stack(stack: Stack) -> None:
    """The API answers; it reaches MLflow by name, logs and registers a model, then serves it."""
    api = f"http://127.0.0.1:{stack.env['API_PORT']}"
    tracking = f"http://127.0.0.1:{stack.env['MLFLOW_PORT']}"
    probe_api(api, stack.log, lambda: stack.logs("api"))
    status, answer = http_json("GET", f"{tracking}/health")
    if status != 200:
        raise ContainerError(f"MLflow /health on the published port: {status} {answer!r}")
    stack.log("MLflow /health: 200 on the published port")
    # Training inside the API's container logs to MLFLOW_TRACKING_URI=http://mlflow:5000: the
    # service name must resolve, the server must accept that Host header, and artifacts must
    # reach the server's artifact store.
    script = project_script(stack.project)
    trained = stack.exec("api", script, "train", "--register", script)
    registered = re.search(r"models:/[\w.-]+/\d+", trained)
    if registered is None:
        raise ContainerError(f"`train --register` named no registered model:\n{tail(trained)}")
    # Projects log to an experiment named after the project, as their console script is.
    experiment = script
    status, answer = http_json(
        "GET", f"{tracking}/api/2.0/mlflow/experiments/get-by-name?experiment_name={experiment}"
    )
    if status != 200:
        raise ContainerError(f"no MLflow experiment {experiment!r} after training: {answer!r}")
    experiment_id = answer["experiment"]["experiment_id"]
    status, runs = http_json(
        "POST", f"{tracking}/api/2.0/mlflow/runs/search", {"experiment_ids": [experiment_id]}
    )
    listed = runs.get("runs", []) if isinstance(runs, dict) else []
    finished = [run for run in listed if run["info"]["status"] == "FINISHED"]
    if status != 200 or not finished:
        raise ContainerError(f"no finished MLflow run after training in the stack: {runs!r}")
    run_id = finished[0]["info"]["run_id"]
    status, artifacts = http_json(
        "GET", f"{tracking}/api/2.0/mlflow/artifacts/list?run_id={run_id}"
    )
    if status != 200 or not isinstance(artifacts, dict) or not artifacts.get("files"):
        raise ContainerError(f"the run logged no artifacts to the server: {artifacts!r}")
    stack.log(
        f"train in the api container: run {run_id[:8]} on the MLflow server, "
        f"artifacts {sorted(item['path'] for item in artifacts['files'])}"
    )
    if "prometheus" in stack.services:
        probe_prometheus(stack)
    serve_registered_model(stack, registered.group(0))


def serve_registered_model(stack: Stack, model_uri: str) -> None:
    """Recreate the API with MODEL_URI pointing at the registry: it loads that model and serves."""
    stack.env["MODEL_URI"] = model_uri
    stack.compose("up", "--detach", "--no-build", "--no-deps", "--force-recreate", "api")
    stack.wait_healthy("api")
    api = f"http://127.0.0.1:{stack.env['API_PORT']}"
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    # Healthy is alive; ready is the model downloaded from the server and warmed up.
    while http_json("GET", f"{api}/readyz")[0] != 200:
        if time.monotonic() > deadline:
            raise ContainerError(f"the API never got ready on {model_uri}:\n{stack.logs('api')}")
        time.sleep(1)
    status, model = http_json("GET", f"{api}/v1/model")
    if status != 200 or not isinstance(model, dict) or model.get("source") != model_uri:
        raise ContainerError(f"GET /v1/model after MODEL_URI={model_uri}: {status} {model!r}")
    probe_api(api, stack.log, lambda: stack.logs("api"))
    stack.log(f"the API serves {model_uri} from the stack's MLflow registry")


def probe_prometheus(stack: Stack, timeout: float = PROMETHEUS_TIMEOUT_S) -> None:
    """Prometheus scrapes the API by its service name, and the API's metrics arrive."""
    base = f"http://127.0.0.1:{stack.env['PROMETHEUS_PORT']}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            status, answer = http_json("GET", f"{base}/api/v1/targets")
        except OSError as error:
            status, answer = 0, error
        targets = answer.get("data", {}).get("activeTargets", []) if status == 200 else []
        if targets and all(target["health"] == "up" for target in targets):
            break
        if time.monotonic() > deadline:
            raise ContainerError(
                f"Prometheus targets not all up within {timeout:.0f} s: {status} {answer!r}\n"
                f"logs:\n{stack.logs('prometheus')}"
            )
        time.sleep(2)
    status, answer = http_json("GET", f"{base}/api/v1/query?query=model_ready")
    values = [sample["value"][1] for sample in answer.get("data", {}).get("result", [])]
    if status != 200 or values != ["1"]:
        raise ContainerError(f"Prometheus has no model_ready = 1 from the API: {answer!r}")
    stack.log(f"Prometheus: targets {[t['scrapeUrl'] for t in targets]} up; model_ready = 1")


def probe_rag_stack(stack: Stack) -> None:
    """The API indexes the bundled documents uploaded with the token into PostgreSQL, then
    answers a question citing passages it retrieved from them; a run logged from its container
    reaches MLflow (the `tracking` profile)."""
    api = f"http://127.0.0.1:{stack.env['API_PORT']}"
    package = project_package(stack.project)
    corpus = stack.project / "src" / package / "sample_data" / "corpus"
    files = [(path.name, path.read_bytes()) for path in sorted(corpus.iterdir()) if path.is_file()]
    body, content_type = multipart_body("files", files)
    # The database starts empty, and so must the API's index: it is on PostgreSQL, not on the
    # index its image was built with. Until an upload it has nothing to answer from.
    status, ready = http_json("GET", f"{api}/readyz")
    status_ask, answer = http_json("POST", f"{api}/v1/ask", {"question": RAG_QUESTION})
    empty = isinstance(ready, dict) and ready.get("chunks") == 0
    if status != 200 or not empty or status_ask != 503:
        raise ContainerError(
            "before any upload, expected /readyz 200 with 0 chunks and /v1/ask 503: got "
            f"{status} {ready!r} and {status_ask} {answer!r}"
        )
    stack.log(f"empty database: /readyz {ready!r}, /v1/ask 503")
    # Without the token the route refuses (401); a 404 would mean the token never reached it.
    status, answer = http_request("POST", f"{api}/v1/ingest", body, {"Content-Type": content_type})
    if status != 401:
        raise ContainerError(f"POST /v1/ingest without the token: expected 401, got {status}")
    headers = {"Content-Type": content_type, "Authorization": f"Bearer {stack.env['INGEST_TOKEN']}"}
    try:
        status, answer = http_request(
            "POST", f"{api}/v1/ingest", body, headers, timeout=INGEST_TIMEOUT_S
        )
    except OSError as error:
        # A hang is more often a lock than slowness: show what the database was doing.
        raise ContainerError(
            f"POST /v1/ingest of {len(files)} files: no answer in {INGEST_TIMEOUT_S} s ({error})"
            f"; the database's sessions:\n{sql(stack, SESSIONS)}\napi logs:\n{stack.logs('api')}"
        ) from None
    if status != 200 or not isinstance(answer, dict):
        raise ContainerError(f"POST /v1/ingest of {len(files)} files: {status} {answer!r}")
    names = {name for name, _ in files}
    # A fresh database holds nothing yet, so every file is added (the index may keep uploads
    # in a folder of their own: compared by file name).
    indexed = answer.get("documents") or []
    if {PurePosixPath(name).name for name in indexed} != names or answer.get("added") != len(files):
        raise ContainerError(
            f"POST /v1/ingest of {len(files)} files into the empty database did not add them "
            f"all: {answer!r}"
        )
    stack.log(
        f"POST /v1/ingest: {len(files)} files added; the index holds {answer.get('chunks')} chunks"
    )
    # In PostgreSQL, not in the embedded index the image was built with.
    in_database = sql(stack, "SELECT source FROM documents").splitlines()
    missing = sorted(names - {PurePosixPath(name).name for name in in_database})
    chunks = int(sql(stack, "SELECT count(*) FROM chunks"))
    if missing or not chunks or chunks != answer.get("chunks"):
        raise ContainerError(
            f"PostgreSQL holds {chunks} chunks (the API counts {answer.get('chunks')}) and no "
            f"document named {missing}"
        )
    stack.log(f"PostgreSQL: {len(in_database)} documents, {chunks} chunks in the stack's database")
    wait_ready(api, lambda: stack.logs("api"))
    answer = expect_200(
        api, "POST", "/v1/ask", stack.log, lambda: stack.logs("api"), {"question": RAG_QUESTION}
    )
    cited = check_cited_answer(answer, names)
    stack.log(f"POST /v1/ask cites {', '.join(cited)}, each among the retrieved sources")
    if "mlflow" in stack.services:
        probe_tracking_from_api(stack)


# A run logged from the API's container, with the MLflow client its image installs, the way
# `docker compose exec api <script> eval` logs to MLFLOW_TRACKING_URI=http://mlflow:5000.
LOG_A_RUN = """
import mlflow
mlflow.set_tracking_uri("http://mlflow:5000")
mlflow.set_experiment("stack-probe")
with mlflow.start_run() as run:
    mlflow.log_metric("answered", 1.0)
print(run.info.run_id)
"""


# What each connection to the database is doing, and what it waits for.
SESSIONS = (
    "SELECT pid, state, wait_event_type, wait_event, left(query, 80) FROM pg_stat_activity "
    "WHERE datname IS NOT NULL AND pid <> pg_backend_pid()"
)


def sql(stack: Stack, query: str) -> str:
    """One query's rows, unaligned, run by psql in the db service as the database's owner."""
    owner = stack.services["db"]["environment"]["POSTGRES_USER"]
    return stack.exec(
        "db", "psql", "--username", owner, "--dbname", owner, "--tuples-only", "--no-align",
        "--command", query,
    ).strip()  # fmt: skip


def probe_tracking_from_api(stack: Stack) -> None:
    """The API's container reaches MLflow by service name and a run it logs lands there."""
    run_id = stack.exec("api", "python", "-c", LOG_A_RUN).split()[-1]
    tracking = f"http://127.0.0.1:{stack.env['MLFLOW_PORT']}"
    status, answer = http_json("GET", f"{tracking}/api/2.0/mlflow/runs/get?run_id={run_id}")
    run = answer.get("run", {}) if isinstance(answer, dict) else {}
    metrics = {item["key"]: item["value"] for item in run.get("data", {}).get("metrics", [])}
    if (
        status != 200
        or run.get("info", {}).get("status") != "FINISHED"
        or metrics != {"answered": 1.0}
    ):
        raise ContainerError(f"the run logged from the api container is not on MLflow: {answer!r}")
    stack.log(f"MLflow: run {run_id[:8]} logged from the api container, by service name")


STACK_PROBES: dict[str, Callable[[Stack], None]] = {
    "service": probe_service_stack,
    "rag": probe_rag_stack,
}


def stack_probe_for(project_type: str) -> Callable[[Stack], None]:
    """The stack probe of `project_type`; a type with a compose file and none is a harness bug."""
    if project_type not in STACK_PROBES:
        raise ContainerError(
            f"project type {project_type!r} ships {COMPOSE_FILE} but has no stack probe: add one "
            "to STACK_PROBES in src/ml_milestones/stack_probes.py"
        )
    return STACK_PROBES[project_type]
