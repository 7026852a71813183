"""Compose test: a generated project's compose.yaml up under podman-compose, probed, then removed.

Called by the container smoke test (ml_milestones.smoke) once a project's image has passed
its own probe; it reuses that image, the same podman configuration and the same stand-in base
images (MLflow, Prometheus, PostgreSQL with pgvector). What it proves: the compose file parses,
every service starts (every profile on), each one's health check passes, the containers reach
each other by service name, the project type's probe of the whole stack succeeds
(stack_probes.py), and `down` leaves no container, volume or network of the stack behind.

Two things podman 4.3 (Debian bookworm) cannot do are done here instead: it runs health checks
only from systemd timers, and podman-compose cannot make it wait for `condition:
service_healthy`. So after `up` each service's health check is run here until it passes, in
dependency order, as a health-aware engine does before it starts the dependants. Service names
resolve between containers through the CNI dnsname plugin.
"""

from __future__ import annotations

import secrets
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
from .probes import HEALTH_TIMEOUT_S, RUN_TIMEOUT_S, free_port
from .process import tail
from .stand_ins import ensure_base_image

COMPOSE_FILE = "compose.yaml"
UP_TIMEOUT_S = 300
# The host ports a stack may publish, each moved to a free one so that stacks run side by side.
PORT_VARIABLES = ("API_PORT", "MLFLOW_PORT", "POSTGRES_PORT", "PROMETHEUS_PORT")
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


def project_package(project: Path) -> str:
    """The project's import package: the folder under src/ holding __init__.py."""
    packages = [init.parent.name for init in (project / "src").glob("*/__init__.py")]
    if len(packages) != 1:
        raise ContainerError(f"expected one package under {project / 'src'}, found {packages}")
    return packages[0]


def project_script(project: Path) -> str:
    """The project's console script, the command its image puts on PATH."""
    scripts = tomllib.loads((project / "pyproject.toml").read_text())["project"]["scripts"]
    return str(next(iter(scripts)))


def run_stack(
    project_type: str,
    project: Path,
    image: str,
    podman: Podman,
    log: Log,
    probe: Callable[[Stack], None],
) -> None:
    """`up` the project's compose file with `image` as its built service; `probe`; `down`."""
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
    ports = {variable: str(free_port()) for variable in PORT_VARIABLES}
    # Fresh secrets, not the compose file's defaults: the stack must pass them on to work.
    credentials = {name: secrets.token_hex(16) for name in ("INGEST_TOKEN", "POSTGRES_PASSWORD")}
    stack = Stack(
        podman,
        project,
        f"mm-{project_type}-{uuid.uuid4().hex[:8]}",
        {**podman.env, **ports, **credentials},
        services,
        profiles,
        log,
    )
    left: dict[str, list[str]] = {}
    try:
        log(f"podman-compose up ({', '.join(services)}; profiles {profiles}) with {ports}")
        stack.compose("up", "--detach", "--no-build")
        for name in start_order(services):
            stack.wait_healthy(name)
            log(f"{name}: healthy")
        probe(stack)
    finally:
        try:
            stack.compose("down", "--volumes", "--timeout", "10")
        except ContainerError as error:
            log(f"podman-compose down failed: {error}")
        for service in services.values():
            if "build" in service:
                podman.run("rmi", "--force", service["image"], check=False)
        # Whatever `down` missed is removed here, even after a failed probe; a passing run
        # reports it below, since a compose file that leaves things behind is a bug to see.
        left = leftovers(podman, stack.name)
        remove(podman, left)
    if left:
        raise ContainerError(f"`down --volumes` left {left} of {stack.name} behind (now removed)")
    log(f"down: no container, volume or network of {stack.name} left")


def leftovers(podman: Podman, name: str) -> dict[str, list[str]]:
    """The containers, volumes and networks that podman-compose labelled as stack `name`'s."""
    label = f"label=io.podman.compose.project={name}"
    listings = {
        "container": ("ps", "--all", "--filter", label, "--format", "{{.Names}}"),
        "volume": ("volume", "ls", "--filter", label, "--format", "{{.Name}}"),
        "network": ("network", "ls", "--filter", label, "--format", "{{.Name}}"),
    }
    # Unchecked: called while cleaning up, where a failure must not hide the one being handled.
    found = {kind: podman.run(*listing, check=False) for kind, listing in listings.items()}
    return {kind: listed.stdout.split() for kind, listed in found.items() if listed.stdout.split()}


def remove(podman: Podman, left: dict[str, list[str]]) -> None:
    """Remove what a failed `down` left: containers first, which hold the others."""
    commands = {
        "container": ("rm", "--force"),
        "volume": ("volume", "rm", "--force"),
        "network": ("network", "rm", "--force"),
    }
    for kind, command in commands.items():
        for item in left.get(kind, []):
            podman.run(*command, item, check=False)


def has_stack(project: Path) -> bool:
    return (project / COMPOSE_FILE).is_file()
