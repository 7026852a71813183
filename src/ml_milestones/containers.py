"""Container smoke test: build each project type's image with podman, run it, probe it, remove it.

Used by tests/test_containers.py, `nox -s containers` and `python -m ml_milestones.containers`.
Podman runs as root with a private configuration written into a cache folder (runc, cgroupfs,
explicit ulimits, its own image store), so nothing global on the machine changes. Where a base
image cannot be pulled, a local stand-in is built and tagged with the base image's name: Debian
bookworm's Python (3.11, from debootstrap) for `python:3.11-slim-bookworm`, this package's
own uv binary for `ghcr.io/astral-sh/uv:<tag>`, and that Python with MLflow from the package
index for `ghcr.io/mlflow/mlflow:v<version>`, and Debian's Prometheus binary on that Python
for `prom/prometheus:v<version>`. Stand-ins are kept between runs; project images
and containers never are. Projects that ship a compose.yaml are then brought up whole by
ml_milestones.compose_stack.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import resource
import shutil
import socket
import ssl
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .copier_config import questions
from .paths import TEMPLATE_ROOT, TEMPLATES_DIR, project_types
from .render import render
from .variants import VARIANTS, Variant

# The only Python a stand-in can provide: Debian bookworm's python3.
STAND_IN_PYTHON = "3.11"
DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = os.environ.get("ML_MILESTONES_DEBIAN_MIRROR", "http://deb.debian.org/debian")
PULL_TIMEOUT_S = 60
BUILD_TIMEOUT_S = 1800
RUN_TIMEOUT_S = 900
HEALTH_TIMEOUT_S = 60
LOG_TAIL_LINES = 60
INSTALL_HINT = (
    "as root: apt-get install podman buildah runc debootstrap "
    "golang-github-containernetworking-plugin-dnsname"
)
# Where `python -m ml_milestones.containers` renders projects and leaves their build logs.
WORKDIR = TEMPLATE_ROOT / "build" / "containers"

Log = Callable[[str], None]


class ContainerError(RuntimeError):
    """A build, run or probe failed; the message carries the command's output tail."""


def tail(text: str, lines: int = LOG_TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def cache_dir() -> Path:
    """Where the configuration and image store live: kept between runs, private to this tool."""
    override = os.environ.get("ML_MILESTONES_CONTAINER_CACHE")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ml-milestones" / "containers"


def _filesystem_type(path: Path) -> str:
    """The type of the filesystem mounted at the longest mount point above `path`."""
    best, kind = "", ""
    for line in Path("/proc/self/mounts").read_text().splitlines():
        _, mount_point, fs_type, *_ = line.split()
        inside = path.as_posix() == mount_point or path.as_posix().startswith(
            mount_point.rstrip("/") + "/"
        )
        if inside and len(mount_point) > len(best):
            best, kind = mount_point, fs_type
    return kind


def _ulimits() -> list[str]:
    """`nofile` and `nproc` for every container, within what this host lets runc set.

    Podman's defaults ask for more than a container host may allow (runc then fails with
    "error setting rlimit ... operation not permitted"), so both are capped at the host's hard
    limit, and `nproc` also at kernel.pid_max, above which some hosts refuse it.
    """
    pid_max = Path("/proc/sys/kernel/pid_max")
    limits = []
    for name, kind in (("nofile", resource.RLIMIT_NOFILE), ("nproc", resource.RLIMIT_NPROC)):
        hard = resource.getrlimit(kind)[1]
        value = 1_048_576 if hard == resource.RLIM_INFINITY else hard
        if name == "nproc" and pid_max.is_file():
            value = min(value, int(pid_max.read_text()))
        limits.append(f"{name}={value}:{value}")
    return limits


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def podman_env() -> dict[str, str]:
    """Write the private containers.conf and storage.conf; return the environment that uses them."""
    cache = cache_dir()
    runroot = cache / "run"
    runroot.joinpath("libpod").mkdir(parents=True, exist_ok=True)
    # Overlay cannot sit on overlay (a container's own root); vfs works anywhere, only slower.
    driver = os.environ.get("ML_MILESTONES_STORAGE_DRIVER") or (
        "vfs" if _filesystem_type(cache.resolve()) == "overlay" else "overlay"
    )
    # A store belongs to one driver: switching drivers must not reopen the other's store.
    graphroot = cache / f"storage-{driver}"
    graphroot.mkdir(exist_ok=True)
    containers_conf = cache / "containers.conf"
    containers_conf.write_text(
        "# Written by ml_milestones.containers: podman as root on a host without systemd.\n"
        "[containers]\n"
        f"default_ulimits = {_toml_list(_ulimits())}\n"
        "[engine]\n"
        'runtime = "runc"\n'
        'cgroup_manager = "cgroupfs"\n'
        'events_logger = "file"\n'
        f"tmp_dir = {json.dumps(str(runroot / 'libpod'))}\n"
    )
    storage_conf = cache / "storage.conf"
    storage_conf.write_text(
        "# Written by ml_milestones.containers: an image store of its own.\n"
        "[storage]\n"
        f"driver = {json.dumps(driver)}\n"
        f"graphroot = {json.dumps(str(graphroot))}\n"
        f"runroot = {json.dumps(str(runroot))}\n"
    )
    return {
        **os.environ,
        "CONTAINERS_CONF": str(containers_conf),
        "CONTAINERS_STORAGE_CONF": str(storage_conf),
    }


def run_command(
    command: list[str],
    env: dict[str, str],
    *,
    timeout: float,
    check: bool = True,
    stdin: Any = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `command` with its output captured; with `check`, a failure raises with its tail."""
    try:
        completed = subprocess.run(
            command,
            cwd=cwd,
            env=env,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        output = error.stdout if isinstance(error.stdout, str) else ""
        raise ContainerError(
            f"`{' '.join(command)}` took over {timeout:.0f} s:\n{tail(output)}"
        ) from error
    if check and completed.returncode != 0:
        raise ContainerError(
            f"`{' '.join(command)}` failed (exit {completed.returncode}):\n{tail(completed.stdout)}"
        )
    return completed


class Podman:
    """Runs podman with the private configuration."""

    def __init__(self) -> None:
        self.env = podman_env()
        self.executable = shutil.which("podman") or "podman"

    def run(
        self,
        *args: str,
        timeout: float = 120,
        check: bool = True,
        stdin: Any = None,
    ) -> subprocess.CompletedProcess[str]:
        """`podman ARGS`, output captured; with `check`, a failure raises with its tail."""
        return run_command(
            [self.executable, *args], self.env, timeout=timeout, check=check, stdin=stdin
        )

    def state(self, container: str) -> str:
        """The container's status (`running`, `exited`...), or "" when it is gone."""
        return self.run(
            "inspect", "--format", "{{.State.Status}}", container, check=False
        ).stdout.strip()

    def image_exists(self, name: str) -> bool:
        return self.run("image", "exists", name, check=False).returncode == 0

    def logs(self, container: str) -> str:
        return tail(self.run("logs", container, check=False).stdout)


def unavailable_reason() -> str | None:
    """Why containers cannot be built and run here, or None when podman works."""
    if sys.platform != "linux":
        return f"container tests need Linux with podman; this is {sys.platform}"
    if os.geteuid() != 0:
        return f"container tests run podman as root (no subuid setup needed); {INSTALL_HINT}"
    for tool in ("podman", "runc"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed; {INSTALL_HINT}"
    try:
        info = Podman().run("info", "--format", "{{.Store.GraphDriverName}}", check=False)
    except (OSError, ContainerError) as error:
        return f"podman cannot start: {error}"
    if info.returncode != 0:
        return f"`podman info` fails with the harness's configuration:\n{tail(info.stdout, 10)}"
    return None


# --- Base images: pull, or build a local stand-in -------------------------------------------


def base_images(dockerfile: Path) -> list[str]:
    """The images a Dockerfile builds from or copies from, in order; its own stages left out."""
    stages: set[str] = set()
    images: list[str] = []
    for line in dockerfile.read_text().splitlines():
        words = line.split()
        if not words:
            continue
        instruction = words[0].upper()
        if instruction == "FROM":
            args = [w for w in words[1:] if not w.startswith("--")]
            if args and args[0] not in stages and args[0] not in images:
                images.append(args[0])
            if len(args) >= 3 and args[1].upper() == "AS":
                stages.add(args[2])
        elif instruction == "COPY":
            for word in words[1:]:
                source = word.removeprefix("--from=")
                external = source not in stages and not source.isdigit()
                if source != word and external and source not in images:
                    images.append(source)
    return images


def qualified(name: str) -> str:
    """`python:3.11` -> `docker.io/library/python:3.11`, the name podman stores a pull under."""
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return name
    return f"docker.io/{name}" if rest else f"docker.io/library/{name}"


_PYTHON_IMAGE = re.compile(r"^docker\.io/library/python:(?P<version>\d+\.\d+)-slim-bookworm$")
_UV_IMAGE = re.compile(r"^ghcr\.io/astral-sh/uv:(?P<version>[\w.-]+)$")
_MLFLOW_IMAGE = re.compile(r"^ghcr\.io/mlflow/mlflow:v(?P<version>\d+\.\d+\.\d+)$")
_PROMETHEUS_IMAGE = re.compile(r"^docker\.io/prom/prometheus:v(?P<version>[\d.]+)$")


def host_ca_bundle() -> Path:
    """The host's CA bundle: a stand-in trusts what the host trusts, proxies included."""
    candidates = [
        os.environ.get("SSL_CERT_FILE"),
        ssl.get_default_verify_paths().cafile,
        "/etc/ssl/certs/ca-certificates.crt",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise ContainerError(
        "no CA bundle found on the host for the stand-in image: install ca-certificates "
        "or set SSL_CERT_FILE"
    )


def build_python_stand_in(podman: Podman, name: str, version: str, log: Log) -> None:
    """Debian minbase with python3 and the host's CA bundle, laid out like the official image."""
    if version != STAND_IN_PYTHON:
        raise ContainerError(
            f"{name} cannot be pulled and has no local stand-in: the stand-in is Debian "
            f"{DEBIAN_SUITE}'s Python {STAND_IN_PYTHON}; render a Python {STAND_IN_PYTHON} "
            "variant, or give this machine access to the registry"
        )
    if shutil.which("debootstrap") is None:
        raise ContainerError(f"{name} cannot be pulled and debootstrap is missing; {INSTALL_HINT}")
    log(f"building a stand-in for {name}: debootstrap {DEBIAN_SUITE} minbase + python3...")
    with tempfile.TemporaryDirectory(dir=cache_dir(), prefix="rootfs-") as scratch:
        rootfs = Path(scratch) / "rootfs"
        completed = subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=python3",
                DEBIAN_SUITE,
                str(rootfs),
                DEBIAN_MIRROR,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=BUILD_TIMEOUT_S,
            check=False,
        )
        if completed.returncode != 0:
            raise ContainerError(
                f"debootstrap from {DEBIAN_MIRROR} failed (set ML_MILESTONES_DEBIAN_MIRROR for "
                f"another mirror):\n{tail(completed.stdout)}"
            )
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for item in (rootfs / cache).glob("*"):
                if item.is_file():
                    item.unlink()
        certs = rootfs / "etc/ssl/certs"
        certs.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(host_ca_bundle(), certs / "ca-certificates.crt")
        # The official image's Python lives in /usr/local/bin; images may call it by that path.
        for link in ("python3", "python"):
            (rootfs / "usr/local/bin" / link).symlink_to("/usr/bin/python3")
        with subprocess.Popen(
            ["tar", "--numeric-owner", "-C", str(rootfs), "-cf", "-", "."],
            stdout=subprocess.PIPE,
        ) as archive:
            podman.run(
                "import",
                "--change",
                "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
                "--change",
                "ENV LANG=C.UTF-8",
                # uv and pip inside a build trust this bundle, as they do on the host.
                "--change",
                "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
                "--change",
                'CMD ["python3"]',
                "-",
                name,
                stdin=archive.stdout,
                timeout=600,
            )
        if archive.returncode != 0:
            raise ContainerError(f"tar of the stand-in's root filesystem failed: {rootfs}")


def build_uv_stand_in(podman: Podman, name: str, version: str, log: Log) -> None:
    """An image holding only this package's uv binary at /uv, like the official one."""
    import uv  # the uv wheel this package depends on

    binary = Path(uv.find_uv_bin())
    host_version = subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    log(f"building a stand-in for {name} from the host's {host_version} (pinned: {version})")
    with tempfile.TemporaryDirectory(dir=cache_dir(), prefix="uv-") as scratch:
        archive = Path(scratch) / "uv.tar"
        with tarfile.open(archive, "w") as tar:
            tar.add(binary, arcname="uv", filter=_root_owned)
        podman.run("import", "--change", 'CMD ["/uv"]', str(archive), name, timeout=300)


def build_mlflow_stand_in(podman: Podman, name: str, version: str, log: Log) -> None:
    """The Python stand-in with MLflow from PyPI, like the official image (pip install mlflow)."""
    import uv  # the uv wheel this package depends on

    python = qualified(f"python:{STAND_IN_PYTHON}-slim-bookworm")
    if not podman.image_exists(python):
        build_python_stand_in(podman, python, STAND_IN_PYTHON, log)
    log(f"building a stand-in for {name}: {python} + mlflow=={version} from the package index")
    with tempfile.TemporaryDirectory(dir=cache_dir(), prefix="mlflow-") as scratch:
        context = Path(scratch)
        shutil.copy2(uv.find_uv_bin(), context / "uv")
        (context / "Containerfile").write_text(
            f"FROM {python}\n"
            "COPY uv /tmp/uv\n"
            # Debian's python3 marks itself externally managed; this image is nothing else.
            "RUN /tmp/uv pip install --system --break-system-packages --no-cache "
            f"mlflow=={version} && rm /tmp/uv\n"
            "WORKDIR /mlflow\n"
        )
        podman.run(
            "build",
            "--network",
            "host",
            "--pull=never",
            "--tag",
            name,
            str(context),
            timeout=BUILD_TIMEOUT_S,
        )


def build_prometheus_stand_in(podman: Podman, name: str, version: str, log: Log) -> None:
    """Debian's Prometheus binary on the Python stand-in, started the way the official image is.

    Debian bookworm packages Prometheus 2.42, whatever `version` the project pins: the stand-in
    proves the compose wiring and the scrape configuration, not that release.
    """
    python = qualified(f"python:{STAND_IN_PYTHON}-slim-bookworm")
    if not podman.image_exists(python):
        build_python_stand_in(podman, python, STAND_IN_PYTHON, log)
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise ContainerError(f"{name} cannot be pulled, and a stand-in needs apt-get and dpkg-deb")
    log(f"building a stand-in for {name} from Debian {DEBIAN_SUITE}'s prometheus package")
    with tempfile.TemporaryDirectory(dir=cache_dir(), prefix="prometheus-") as scratch:
        context = Path(scratch)
        for command in (
            ["apt-get", "download", "prometheus"],
            ["sh", "-c", "dpkg-deb -x prometheus_*.deb root"],
        ):
            completed = subprocess.run(
                command, cwd=context, capture_output=True, text=True, timeout=300, check=False
            )
            if completed.returncode != 0:
                raise ContainerError(
                    f"`{' '.join(command)}` failed (run apt-get update first?):\n"
                    f"{tail(completed.stdout + completed.stderr)}"
                )
        shutil.copy2(context / "root/usr/bin/prometheus", context / "prometheus")
        (context / "Containerfile").write_text(
            f"FROM {python}\n"
            "COPY prometheus /bin/prometheus\n"
            "RUN mkdir -p /prometheus /etc/prometheus\n"
            "WORKDIR /prometheus\n"
            'ENTRYPOINT ["/bin/prometheus"]\n'
            'CMD ["--config.file=/etc/prometheus/prometheus.yml", '
            '"--storage.tsdb.path=/prometheus"]\n'
        )
        podman.run(
            "build",
            "--format",
            "docker",
            "--pull=never",
            "--tag",
            name,
            "--file",
            str(context / "Containerfile"),
            str(context),
            timeout=BUILD_TIMEOUT_S,
        )


def _root_owned(member: tarfile.TarInfo) -> tarfile.TarInfo:
    member.uid = member.gid = 0
    member.uname = member.gname = "root"
    member.mode = 0o755
    return member


_STAND_INS: dict[re.Pattern[str], Callable[[Podman, str, str, Log], None]] = {
    _PYTHON_IMAGE: build_python_stand_in,
    _UV_IMAGE: build_uv_stand_in,
    _MLFLOW_IMAGE: build_mlflow_stand_in,
    _PROMETHEUS_IMAGE: build_prometheus_stand_in,
}


@contextmanager
def _cache_lock() -> Iterator[None]:
    """One stand-in build at a time, even across parallel test processes."""
    with (cache_dir() / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_base_image(podman: Podman, image: str, log: Log) -> str:
    """Make `image` available locally; return how: cached, pulled, or stand-in."""
    name = qualified(image)
    with _cache_lock():
        if podman.image_exists(name):
            return "cached"
        try:
            pulled = podman.run("pull", "--quiet", name, timeout=PULL_TIMEOUT_S, check=False)
        except ContainerError:
            pulled = None
        if pulled is not None and pulled.returncode == 0:
            return "pulled"
        reason = tail(pulled.stdout, 1) if pulled is not None else "timed out"
        log(f"cannot pull {name} ({reason})")
        for pattern, build in _STAND_INS.items():
            match = pattern.match(name)
            if match:
                start = time.perf_counter()
                build(podman, name, match["version"], log)
                return f"stand-in, built in {time.perf_counter() - start:.0f} s"
        raise ContainerError(
            f"{image} cannot be pulled and no stand-in is known for it: add one to "
            "ml_milestones.containers._STAND_INS or give this machine access to the registry"
        )


# --- Probes: what running each project type's image must do ---------------------------------


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
        raise ContainerError(f"the demo did not report its held-out AUROC:\n{tail(demo.stdout)}")
    target.log(tail(demo.stdout, 5))


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


PROBES: dict[str, Callable[[Running], None]] = {
    "tabular": probe_batch_job,
    "service": probe_http_service,
}


def probe_for(project_type: str) -> Callable[[Running], None]:
    """The probe for `project_type`; a type with a Dockerfile and no probe is a harness bug."""
    if project_type not in PROBES:
        raise ContainerError(
            f"project type {project_type!r} has a Dockerfile but no container probe: add one to "
            "PROBES in src/ml_milestones/containers.py"
        )
    return PROBES[project_type]


# --- The smoke test -------------------------------------------------------------------------


def containerized_types() -> list[str]:
    """Project types whose template ships a Dockerfile."""
    return [t for t in project_types() if any((TEMPLATES_DIR / t).glob("*Dockerfile*"))]


def _python_version(variant: Variant) -> str:
    return str(variant.answers.get("python_version", questions()["python_version"]["default"]))


def container_variant(project_type: str) -> Variant | None:
    """The first variant of `project_type` on Python 3.11, the version a stand-in can provide."""
    return next(
        (
            v
            for v in VARIANTS
            if v.project_type == project_type and _python_version(v) == STAND_IN_PYTHON
        ),
        None,
    )


@dataclass
class SmokeResult:
    """What one image's smoke test did and how long it took."""

    variant: str
    base_images: dict[str, str] = field(default_factory=dict)
    build_seconds: float = 0.0
    probe_seconds: float = 0.0
    compose_seconds: float | None = None
    image_bytes: int = 0

    def summary(self) -> str:
        bases = ", ".join(f"{name}: {how}" for name, how in self.base_images.items())
        stack = "" if self.compose_seconds is None else f", compose {self.compose_seconds:.0f} s"
        return (
            f"{self.variant}: build {self.build_seconds:.0f} s, probe {self.probe_seconds:.0f} s"
            f"{stack}, image {self.image_bytes / 1e6:.0f} MB; base images: {bases}"
        )


def build_image(podman: Podman, project: Path, tag: str) -> None:
    """`podman build` with host networking, so the build's uv reaches the package index.

    The Docker image format keeps HEALTHCHECK, which the default OCI format drops.
    """
    log_file = project.parent / f"{project.name}-build.log"
    completed = podman.run(
        "build",
        "--format",
        "docker",
        "--network",
        "host",
        "--pull=never",
        "--layers=false",
        "--force-rm",
        "--tag",
        tag,
        str(project),
        timeout=BUILD_TIMEOUT_S,
        check=False,
    )
    log_file.write_text(completed.stdout)
    if completed.returncode != 0:
        raise ContainerError(
            f"building {project / 'Dockerfile'} failed (exit {completed.returncode}; whole log "
            f"in {log_file}):\n{tail(completed.stdout)}"
        )


def smoke_test(project_type: str, workdir: Path, log: Log = print) -> SmokeResult:
    """Render `project_type`, build its image, run its probe; always remove what was created."""
    probe = probe_for(project_type)
    variant = container_variant(project_type)
    if variant is None:
        raise ContainerError(
            f"no {project_type} variant uses Python {STAND_IN_PYTHON}, the only version a local "
            "stand-in base image can provide"
        )
    result = SmokeResult(variant.id)
    podman = Podman()
    project = render(variant, workdir / variant.id)
    dockerfile = project / "Dockerfile"
    if not dockerfile.is_file():
        raise ContainerError(f"{variant.id} rendered no Dockerfile into {project}")
    for image in base_images(dockerfile):
        result.base_images[image] = ensure_base_image(podman, image, log)
        log(f"{image}: {result.base_images[image]}")
    suffix = uuid.uuid4().hex[:8]
    tag = f"localhost/ml-milestones-smoke/{project_type}:{suffix}"
    container = f"ml-milestones-smoke-{project_type}-{suffix}"
    try:
        log(f"building {tag} from {variant.id}...")
        start = time.perf_counter()
        build_image(podman, project, tag)
        result.build_seconds = time.perf_counter() - start
        size = podman.run("image", "inspect", "--format", "{{.Size}}", tag).stdout.strip()
        result.image_bytes = int(size)
        log(f"built in {result.build_seconds:.0f} s, {result.image_bytes / 1e6:.0f} MB")
        start = time.perf_counter()
        probe(Running(podman, tag, container, log))
        result.probe_seconds = time.perf_counter() - start
        # Imported here: compose_stack builds on this module.
        from . import compose_stack

        if compose_stack.has_stack(project):
            start = time.perf_counter()
            compose_stack.run_stack(project_type, project, tag, podman, log)
            result.compose_seconds = time.perf_counter() - start
    finally:
        podman.run("rm", "--force", "--ignore", container, check=False)
        podman.run("rmi", "--force", tag, check=False)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ml_milestones.containers",
        description="Build, run and probe the container image of each project type.",
    )
    parser.add_argument(
        "--type",
        dest="types",
        action="append",
        choices=containerized_types(),
        help="only this project type (repeatable); default: every type with a Dockerfile",
    )
    args = parser.parse_args(argv)
    from copier.errors import DirtyLocalWarning
    from rich.console import Console

    # Rendering the working tree, uncommitted changes included, is the point here.
    warnings.filterwarnings("ignore", category=DirtyLocalWarning)
    console = Console(log_path=False)

    def log(message: str) -> None:
        console.log(message, markup=False, highlight=False)

    reason = unavailable_reason()
    if reason is not None:
        console.print(f"[yellow]skipped:[/yellow] {reason}", highlight=False)
        return 0
    log(f"podman configuration and image store: {cache_dir()}")
    failed = False
    for project_type in args.types or containerized_types():
        console.rule(project_type)
        if container_variant(project_type) is None:
            console.print(
                f"[yellow]skipped:[/yellow] no {project_type} variant uses Python "
                f"{STAND_IN_PYTHON}, the only version a local stand-in base image provides",
                highlight=False,
            )
            continue
        workdir = WORKDIR / project_type
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        try:
            result = smoke_test(project_type, workdir, log=log)
        except ContainerError as error:
            console.print("[red]failed:[/red]", end=" ")
            console.print(str(error), markup=False, highlight=False)
            failed = True
        else:
            console.print(f"[green]ok[/green] {result.summary()}", highlight=False)
    return 1 if failed else 0


if __name__ == "__main__":
    # Through the package's module, not this `__main__` copy of it: compose_stack imports the
    # package's, and only its ContainerError is the one main() must catch.
    from ml_milestones.containers import main as package_main

    sys.exit(package_main())
