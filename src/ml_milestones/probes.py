"""Probes for the container harness: what running each project type's image must do, over HTTP.

A probe gets a built image and runs it under podman: a batch image runs its demo, a service
image must answer /healthz, /readyz, /v1/model and /v1/predict. compose_stack.py reuses the
HTTP helpers and the model API probe for a whole compose stack.
"""

from __future__ import annotations

import json
import re
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
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


# What the rag image's default command asks (its Dockerfile's CMD), and the mark of a cited
# answer: a question about the bundled documents, answered with [n] citations.
CITATION = re.compile(r"\[\d+\]")


def probe_question_answering(target: Running) -> None:
    """A question-answering image: its default command answers a question about the documents
    indexed at build time, with at least one [n] citation, and no network."""
    podman = target.podman
    help_run = podman.run("run", "--rm", "--network", "none", target.image, "--help", check=False)
    if help_run.returncode != 0:
        raise ContainerError(f"`--help` exited {help_run.returncode}:\n{tail(help_run.stdout)}")
    target.log("--help: ok; asking the default question, without network...")
    answer = podman.run(
        "run",
        "--rm",
        "--network",
        "none",
        "--name",
        target.container,
        target.image,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    if answer.returncode != 0:
        raise ContainerError(
            f"the default command exited {answer.returncode}:\n{tail(answer.stdout)}"
        )
    if not CITATION.search(answer.stdout):
        raise ContainerError(f"the answer cites no source ([n]):\n{tail(answer.stdout)}")
    target.log(tail(answer.stdout, 8))


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http_json(method: str, url: str, body: object | None = None) -> tuple[int, Any]:
    """Status and decoded JSON (or text) of one request; errors are answers, not exceptions."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
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

    probe_api(base, target.log, lambda: podman.logs(target.container))
    podman.run("stop", "--time", "10", target.container, check=False)


def probe_api(base: str, log: Log, logs: Callable[[], str]) -> None:
    """The model API at `base`: ready, describes its model, and predicts its own example."""

    def expect_200(method: str, path: str, body: object | None = None) -> Any:
        try:
            status, answer = http_json(method, f"{base}{path}", body)
        except OSError as error:
            status, answer = 0, error
        if status != 200:
            raise ContainerError(f"{method} {path}: {status} {answer!r}\nlogs:\n{logs()}")
        log(f"{method} {path}: 200")
        return answer

    expect_200("GET", "/readyz")
    model = expect_200("GET", "/v1/model")
    if not isinstance(model, dict) or "example_request" not in model:
        raise ContainerError(f"GET /v1/model: expected JSON with `example_request`: {model!r}")
    answer = expect_200("POST", "/v1/predict", model["example_request"])
    if not isinstance(answer, dict) or not isinstance(answer.get("predictions"), list):
        raise ContainerError(f"POST /v1/predict: expected a `predictions` list: {answer!r}")


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
