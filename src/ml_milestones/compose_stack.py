"""Compose test: a generated project's compose.yaml up under podman-compose, probed, then removed.

Called by the container smoke test (ml_milestones.smoke) once a project's image has passed
its own probe; it reuses that image, the same podman configuration and the same stand-in base
images (the MLflow and Prometheus images included). What it proves: the compose file parses,
every service starts (every profile on), each one's health check passes, the containers reach
each other by service name, and the project's own probe of the whole stack succeeds.

Two things podman 4.3 (Debian bookworm) cannot do are done here instead: it runs health checks
only from systemd timers, and podman-compose cannot make it wait for `condition:
service_healthy`. So after `up` each service's health check is run here until it passes, in
dependency order, as a health-aware engine does before it starts the dependants. Service names
resolve between containers through the CNI dnsname plugin.
"""

from __future__ import annotations

import re
import shutil
import sys
import time
import tomllib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from . import process
from .podman import INSTALL_HINT, ContainerError, Log, Podman
from .probes import HEALTH_TIMEOUT_S, RUN_TIMEOUT_S, free_port, http_json, probe_api
from .process import tail
from .stand_ins import ensure_base_image

COMPOSE_FILE = "compose.yaml"
UP_TIMEOUT_S = 300
# Prometheus scrapes every 15 s (prometheus.yml): two intervals and some start-up time.
PROMETHEUS_TIMEOUT_S = 60
# Where Debian's CNI plugins live; dnsname is the one that lets containers resolve service names.
CNI_PLUGIN_DIRS = ("/usr/lib/cni", "/usr/libexec/cni", "/opt/cni/bin")


def compose_executable() -> str | None:
    """podman-compose from this package's environment, else from PATH."""
    beside = Path(sys.executable).with_name("podman-compose")
    return str(beside) if beside.is_file() else shutil.which("podman-compose")


def unavailable_reason() -> str | None:
    """Why a compose stack cannot run here (podman itself is checked by the caller)."""
    if compose_executable() is None:
        return "podman-compose is not installed (it is a dependency of ml-milestones)"
    if not any(Path(folder, "dnsname").is_file() for folder in CNI_PLUGIN_DIRS):
        return (
            f"the CNI dnsname plugin is missing, so services cannot find each other; {INSTALL_HINT}"
        )
    return None


def start_order(services: dict[str, Any]) -> list[str]:
    """Services with every `depends_on` before its dependants (compose refuses cycles too)."""
    ordered: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in ordered:
            return
        if name in path:
            raise ContainerError(f"{COMPOSE_FILE}: depends_on cycle {' -> '.join((*path, name))}")
        needs = services[name].get("depends_on") or []
        for dependency in needs if isinstance(needs, list) else list(needs):
            if dependency not in services:
                raise ContainerError(f"{COMPOSE_FILE}: {name} depends on unknown {dependency}")
            visit(dependency, (*path, name))
        ordered.append(name)

    for name in services:
        visit(name, ())
    return ordered


@dataclass
class Stack:
    """A running compose project: its folder, name, environment and the harness's podman."""

    podman: Podman
    project: Path
    name: str
    env: dict[str, str]
    services: dict[str, Any]
    profiles: list[str]
    log: Log

    def compose(self, *args: str, timeout: float = UP_TIMEOUT_S) -> str:
        command = [compose_executable() or "podman-compose", "--project-name", self.name]
        for profile in self.profiles:
            command += ["--profile", profile]
        command += args
        return process.run(
            command,
            cwd=self.project,
            env=self.env,
            timeout=timeout,
            check=True,
            error=ContainerError,
        ).stdout

    def container(self, service: str) -> str:
        """The container podman-compose started for `service`, found by its compose labels."""
        names = self.podman.run(
            "ps",
            "--all",
            "--filter",
            f"label=io.podman.compose.project={self.name}",
            "--filter",
            f"label=com.docker.compose.service={service}",
            "--format",
            "{{.Names}}",
        ).stdout.split()
        if len(names) != 1:
            raise ContainerError(f"expected one container for service {service}, found {names}")
        return names[0]

    def logs(self, service: str) -> str:
        return self.podman.logs(self.container(service))

    def wait_healthy(self, service: str, timeout: float = HEALTH_TIMEOUT_S) -> None:
        """Run the service's health check until it passes; fail if the container stops."""
        container = self.container(service)
        deadline = time.monotonic() + timeout
        while True:
            check = self.podman.run("healthcheck", "run", container, check=False)
            if check.returncode == 0 or "no defined healthcheck" in check.stdout:
                # Without a health check, running is all a compose engine waits for.
                return
            state = self.podman.state(container)
            if state != "running" or time.monotonic() > deadline:
                raise ContainerError(
                    f"{service} never reported healthy within {timeout:.0f} s (container {state}, "
                    f"last check: {check.stdout.strip()}); logs:\n{self.logs(service)}"
                )
            time.sleep(1)

    def exec(self, service: str, *command: str, timeout: float = RUN_TIMEOUT_S) -> str:
        completed = self.podman.run(
            "exec", self.container(service), *command, timeout=timeout, check=False
        )
        if completed.returncode != 0:
            raise ContainerError(
                f"`{' '.join(command)}` in {service} exited {completed.returncode}:\n"
                f"{tail(completed.stdout)}"
            )
        return completed.stdout


def project_script(project: Path) -> str:
    """The project's console script, the command its image puts on PATH."""
    scripts = tomllib.loads((project / "pyproject.toml").read_text())["project"]["scripts"]
    return str(next(iter(scripts)))


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


STACK_PROBES: dict[str, Callable[[Stack], None]] = {"service": probe_service_stack}


def run_stack(project_type: str, project: Path, image: str, podman: Podman, log: Log) -> None:
    """`up` the project's compose file with `image` as its built service; probe; `down`."""
    if project_type not in STACK_PROBES:
        raise ContainerError(
            f"project type {project_type!r} ships {COMPOSE_FILE} but has no stack probe: add one "
            "to STACK_PROBES in src/ml_milestones/compose_stack.py"
        )
    reason = unavailable_reason()
    if reason is not None:
        raise ContainerError(reason)
    spec = yaml.safe_load((project / COMPOSE_FILE).read_text())
    services: dict[str, Any] = spec["services"]
    # Every profile on (Prometheus is behind `monitoring`): the whole file is under test.
    profiles = sorted({name for svc in services.values() for name in svc.get("profiles", [])})
    for service in services.values():
        if "build" in service:
            # The image the smoke test just built and probed stands for `build: .`.
            podman.run("tag", image, service["image"])
        else:
            log(f"{service['image']}: {ensure_base_image(podman, service['image'], log)}")
    ports = {
        variable: str(free_port()) for variable in ("API_PORT", "MLFLOW_PORT", "PROMETHEUS_PORT")
    }
    stack = Stack(
        podman,
        project,
        f"mm-{project_type}-{uuid.uuid4().hex[:8]}",
        {**podman.env, **ports},
        services,
        profiles,
        log,
    )
    try:
        log(f"podman-compose up ({', '.join(services)}; profiles {profiles}) with {ports}")
        stack.compose("up", "--detach", "--no-build")
        for name in start_order(services):
            stack.wait_healthy(name)
            log(f"{name}: healthy")
        STACK_PROBES[project_type](stack)
    finally:
        try:
            stack.compose("down", "--volumes", "--timeout", "10")
        except ContainerError as error:
            log(f"podman-compose down failed: {error}")
        for service in services.values():
            if "build" in service:
                podman.run("rmi", "--force", service["image"], check=False)


def has_stack(project: Path) -> bool:
    return (project / COMPOSE_FILE).is_file()
