"""Probes for the container harness: what running each project type's image must do, over HTTP.

A probe gets a built image and runs it under podman: a batch image runs its demo, a service
image must answer /healthz, /readyz, /v1/model and /v1/predict, a question-answering image
/readyz, /v1/search and /v1/ask with citations. compose_stack.py reuses the HTTP helpers and
the API probes for a whole compose stack.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from .podman import ContainerError, Log, Podman
from .process import tail

# A batch image's demo trains a model end to end on the bundled data.
RUN_TIMEOUT_S = 900
# From `podman run` (or compose `up`) to a service answering its health check. A deadline, not a
# speed target: the MLflow server alone takes about 30 s to create its tables and start its workers
# on a quiet 2-core machine, and CI's run of it timed out at 60 s with the tests running beside it.
HEALTH_TIMEOUT_S = 180


@dataclass
class Running:
    """What a probe needs: podman, the image under test, and a name for its containers."""

    podman: Podman
    image: str
    container: str
    log: Log


def probe_batch_job(target: Running) -> None:
    """A batch image: its default command runs the demo on the bundled sample data."""
    podman = target.podman
    help_run = podman.run("run", "--rm", "--network", "host", target.image, "--help", check=False)
    if help_run.returncode != 0:
        raise ContainerError(f"`--help` exited {help_run.returncode}:\n{tail(help_run.stdout)}")
    target.log("--help: ok; running the default command (the demo)...")
    demo = podman.run(
        "run",
        "--rm",
        "--network",
        "host",
        "--name",
        target.container,
        target.image,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    if demo.returncode != 0:
        raise ContainerError(f"the default command exited {demo.returncode}:\n{tail(demo.stdout)}")
    if "Held-out" not in demo.stdout:
        raise ContainerError(f"the demo did not report held-out metrics:\n{tail(demo.stdout)}")
    target.log(tail(demo.stdout, 5))


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http_json(
    method: str, url: str, body: object | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    """Status and decoded JSON (or text) of one request; errors are answers, not exceptions."""
    data = None if body is None else json.dumps(body).encode()
    return http_request(method, url, data, {"Content-Type": "application/json", **(headers or {})})


def multipart_body(field: str, files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body holding each (name, content) as a file in `field`, and its
    Content-Type; what a browser or `curl -F field=@path` sends."""
    boundary = f"ml-milestones-{uuid.uuid4().hex}"
    parts = []
    for name, content in files:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
            f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
            + content
            + b"\r\n"
        )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def http_request(
    method: str, url: str, data: bytes | None, headers: dict[str, str], timeout: float = 10
) -> tuple[int, Any]:
    """Status and decoded JSON (or text) of one request with a ready body."""
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = response.read()
            status: int = response.status
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
    try:
        return status, json.loads(payload)
    except ValueError:
        return status, payload.decode(errors="replace")


def probe_http_service(target: Running) -> None:
    """A service image: healthy on /healthz, ready, describes its model, and predicts."""
    probe_http_image(target, probe_api)


def probe_question_answering(target: Running) -> None:
    """A question-answering image: healthy, ready on the documents indexed at build time,
    finds passages, and answers with citations of what it retrieved."""
    probe_http_image(target, probe_rag_api)


def probe_http_image(target: Running, probe: Callable[[str, Log, Callable[[], str]], None]) -> None:
    """Run an API image on a free port: /healthz answers, its own HEALTHCHECK passes, then
    `probe` checks the API itself; the container is stopped after."""
    podman = target.podman
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    podman.run(
        "run",
        "--detach",
        "--network",
        "host",
        "--env",
        f"PORT={port}",
        "--name",
        target.container,
        target.image,
    )
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    while True:
        try:
            status, _ = http_json("GET", f"{base}/healthz")
        except OSError:
            status = 0
        if status == 200:
            break
        state = podman.state(target.container)
        if state != "running" or time.monotonic() > deadline:
            raise ContainerError(
                f"/healthz never answered 200 within {HEALTH_TIMEOUT_S} s (container {state}); "
                f"logs:\n{podman.logs(target.container)}"
            )
        time.sleep(1)
    target.log(f"/healthz: 200 on port {port}")
    # The image's own HEALTHCHECK, run once: podman's timers need systemd, which is absent here.
    health = podman.run("healthcheck", "run", target.container, check=False)
    if health.returncode != 0:
        raise ContainerError(
            f"the image's HEALTHCHECK fails ({health.stdout.strip()}) although /healthz answers; "
            f"logs:\n{podman.logs(target.container)}"
        )
    target.log("HEALTHCHECK: healthy")

    probe(base, target.log, lambda: podman.logs(target.container))
    podman.run("stop", "--time", "10", target.container, check=False)


def expect_200(
    base: str, method: str, path: str, log: Log, logs: Callable[[], str], body: object = None
) -> Any:
    """The decoded answer of one request that must succeed; else an error with the logs."""
    try:
        status, answer = http_json(method, f"{base}{path}", body)
    except OSError as error:
        status, answer = 0, error
    if status != 200:
        raise ContainerError(f"{method} {path}: {status} {answer!r}\nlogs:\n{logs()}")
    log(f"{method} {path}: 200")
    return answer


def wait_ready(base: str, logs: Callable[[], str], timeout: float = HEALTH_TIMEOUT_S) -> None:
    """Poll /readyz until 200: alive (/healthz) comes first, ready once the index or the model
    is loaded."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            status, answer = http_json("GET", f"{base}/readyz")
        except OSError as error:
            status, answer = 0, error
        if status == 200:
            return
        if time.monotonic() > deadline:
            raise ContainerError(
                f"/readyz not 200 within {timeout:.0f} s: {status} {answer!r}\nlogs:\n{logs()}"
            )
        time.sleep(1)


def probe_api(base: str, log: Log, logs: Callable[[], str]) -> None:
    """The model API at `base`: ready, describes its model, and predicts its own example."""
    expect_200(base, "GET", "/readyz", log, logs)
    model = expect_200(base, "GET", "/v1/model", log, logs)
    if not isinstance(model, dict) or "example_request" not in model:
        raise ContainerError(f"GET /v1/model: expected JSON with `example_request`: {model!r}")
    answer = expect_200(base, "POST", "/v1/predict", log, logs, model["example_request"])
    if not isinstance(answer, dict) or not isinstance(answer.get("predictions"), list):
        raise ContainerError(f"POST /v1/predict: expected a `predictions` list: {answer!r}")


# A question the bundled documents (Click's user guide) answer, so an answer must cite them.
RAG_QUESTION = "How can my tool ask the user for their name when they did not pass --name?"


def check_cited_answer(answer: Any, sources: set[str] | None = None) -> list[str]:
    """A POST /v1/ask answer that answers, and cites only passages it retrieved (and, given
    `sources`, only passages of documents with those file names); returns the cited documents."""
    if not isinstance(answer, dict) or not isinstance(answer.get("sources"), list):
        raise ContainerError(f"POST /v1/ask: expected JSON with `sources`: {answer!r}")
    if answer.get("abstained") or not answer.get("citations"):
        raise ContainerError(
            f"POST /v1/ask abstained or cited nothing for {RAG_QUESTION!r}: {answer!r}"
        )
    retrieved = {source["id"]: source["source"] for source in answer["sources"]}
    strays = [citation for citation in answer["citations"] if citation not in retrieved]
    if strays:
        raise ContainerError(
            f"POST /v1/ask cites {strays}, which are not among the retrieved sources "
            f"{sorted(retrieved)}: {answer!r}"
        )
    cited = sorted({retrieved[citation] for citation in answer["citations"]})
    # By file name: the index may keep uploaded documents in a folder of their own.
    unknown = [
        name for name in cited if sources is not None and PurePosixPath(name).name not in sources
    ]
    if unknown:
        raise ContainerError(f"POST /v1/ask cites documents never ingested: {unknown}")
    return cited


def probe_rag_api(base: str, log: Log, logs: Callable[[], str]) -> None:
    """The question-answering API at `base`: ready, finds passages, answers with citations."""
    wait_ready(base, logs)
    log("GET /readyz: 200")
    found = expect_200(
        base, "POST", "/v1/search", log, logs, {"query": "prompt for a value", "top_k": 3}
    )
    if not isinstance(found, dict) or len(found.get("results") or []) != 3:
        raise ContainerError(f"POST /v1/search with top_k 3: expected 3 results: {found!r}")
    answer = expect_200(base, "POST", "/v1/ask", log, logs, {"question": RAG_QUESTION})
    log(f"the answer cites {', '.join(check_cited_answer(answer))}")


# What a project of the type runs before `docker build`, as its CI does: the service image is
# built around the model that `evaluate` passed, which the build copies from models/.
BEFORE_BUILD: dict[str, list[list[str]]] = {"service": [["train"], ["evaluate"]]}

PROBES: dict[str, Callable[[Running], None]] = {
    "tabular": probe_batch_job,
    "service": probe_http_service,
    "deep-learning": probe_batch_job,
    "rag": probe_question_answering,
}


def probe_for(project_type: str) -> Callable[[Running], None]:
    """The probe for `project_type`; a type with a Dockerfile and no probe is a harness bug."""
    if project_type not in PROBES:
        raise ContainerError(
            f"project type {project_type!r} has a Dockerfile but no container probe: add one to "
            "PROBES in src/ml_milestones/probes.py"
        )
    return PROBES[project_type]
