"""Podman for the container harness: a private configuration, the Podman runner, availability.

Podman runs as root with a private configuration written into a cache folder (runc, cgroupfs,
explicit ulimits, its own image store), so nothing global on the machine changes.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from . import process
from .process import tail

# Every `podman build` of the harness: a project image, or a stand-in base image.
BUILD_TIMEOUT_S = 1800
INSTALL_HINT = (
    "as root: apt-get install podman buildah runc debootstrap "
    "golang-github-containernetworking-plugin-dnsname"
)

Log = Callable[[str], None]


class ContainerError(RuntimeError):
    """A build, run or probe failed; the message carries the command's output tail."""


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
        "# Written by ml_milestones.podman: podman as root on a host without systemd.\n"
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
        "# Written by ml_milestones.podman: an image store of its own.\n"
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


class Podman:
    """Runs podman with the private configuration."""

    def __init__(self) -> None:
        self.env = podman_env()
        self.executable = shutil.which("podman") or "podman"

    def run(self, *args: str, timeout: float = 120, check: bool = True) -> process.Completed:
        """`podman ARGS`, output captured; with `check`, a failure raises with its tail."""
        return process.run(
            [self.executable, *args],
            env=self.env,
            timeout=timeout,
            check=check,
            error=ContainerError,
        )

    def build(
        self, context: Path, tag: str, *options: str, check: bool = True
    ) -> process.Completed:
        """`podman build` of the Containerfile or Dockerfile in `context`, tagged `tag`.

        The Docker image format keeps HEALTHCHECK, which the default OCI format drops; host
        networking lets uv inside the build reach the package index; `--pull=never`, since the
        base images are pulled (or their stand-ins built) beforehand, on purpose.
        """
        return self.run(
            "build",
            "--format",
            "docker",
            "--network",
            "host",
            "--pull=never",
            *options,
            "--tag",
            tag,
            str(context),
            timeout=BUILD_TIMEOUT_S,
            check=check,
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
