"""Start and stop the API exactly as the container does, on a loopback port."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from pathlib import Path

import httpx

from .errors import UserError

PACKAGE = __name__.rpartition(".")[0]
LOOPBACK = "127.0.0.1"
APP = f"{PACKAGE}.app:create_app()"


def gunicorn_argv(app: str = APP) -> list[str]:
    """The command the container runs (its Dockerfile CMD); the tests check they agree."""
    return ["gunicorn", "--config", f"python:{PACKAGE}.gunicorn_conf", app]


def installed_argv(app: str = APP) -> list[str]:
    """gunicorn_argv() with the gunicorn of this virtual environment, found without PATH.

    The console script sits next to the interpreter, so `.venv/bin/<tool> serve` works without
    an activated environment.
    """
    argv = gunicorn_argv(app)
    argv[0] = str(Path(sys.executable).with_name("gunicorn"))
    return argv


def free_port() -> int:
    """A port nothing listens on right now, on the loopback interface."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def wait_until_ready(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    """Poll /readyz until it answers 200; fail early if the server process has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise UserError(f"The server exited with code {process.returncode} at start-up.")
        try:
            if httpx.get(f"{url}/readyz", timeout=1.0).status_code == HTTPStatus.OK:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise UserError(f"The server at {url} was not ready within {timeout:.0f} s.")


@contextmanager
def running_server(
    app: str = APP,
    env: dict[str, str] | None = None,
    log_file: Path | None = None,
    timeout: float = 180.0,
) -> Iterator[str]:
    """Run gunicorn on a free loopback port; yield its URL; stop it with SIGTERM, as Docker does.

    `timeout` is a deadline for a broken start, not a speed target: on a busy 2-core CI machine
    two workers importing the model stack took over 60 s to answer /readyz.
    """
    port = free_port()
    environment = os.environ | {"HOST": LOOPBACK, "PORT": str(port)} | (env or {})
    argv = installed_argv(app)
    output = log_file.open("wb") if log_file else subprocess.DEVNULL
    process = subprocess.Popen(argv, env=environment, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://{LOOPBACK}:{port}"
    try:
        wait_until_ready(url, process, timeout)
        yield url
    finally:
        stop(process)
        if log_file and not isinstance(output, int):
            output.close()


def stop(process: subprocess.Popen[bytes], timeout: float = 30.0) -> int:
    """SIGTERM, wait for the graceful shutdown, and kill only if it does not come."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode
