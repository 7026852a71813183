"""Find and run the command-line tools the checks need, from this package's own environment."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from . import process
from .torch_index import with_local_torch

# Variables that would leak the caller's environment into the checked project's own sessions.
_LEAKY_VARIABLES = (
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "PYTHONPATH",
    "PYTHONHOME",
    "UV_PROJECT_ENVIRONMENT",
    # nox points uv at its session's interpreter; a project locks and syncs with its own Python.
    "UV_PYTHON",
    # Container images and some CI machines (this project's included) set it, so every process
    # compiles each module it imports from source again: seconds per command for a project that
    # imports MLflow, scikit-learn or torch. A user's Python caches the compiled modules, and the
    # checks and benchmarks run the project as its user does.
    "PYTHONDONTWRITEBYTECODE",
)


def clean_env() -> dict[str, str]:
    """The current environment, without our virtualenv, and with our tools first on PATH.

    Where torch wheels lie in a local folder (`UV_FIND_LINKS`, or pip's `PIP_FIND_LINKS`), the
    deep-learning projects' `pytorch` index points at them (see torch_index.py): offline, their
    sessions install the local CPU build.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _LEAKY_VARIABLES and not k.startswith("NOX_")
    }
    # Tools installed with this package (nox, uv, actionlint, hadolint...) live next to Python.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return with_local_torch(env)


def which(tool: str) -> str:
    """Absolute path of `tool`, preferring the copy installed with this package."""
    found = shutil.which(tool, path=clean_env()["PATH"])
    if found is None:
        raise FileNotFoundError(
            f"{tool} is not installed: install ml-milestones with its dependencies "
            f"(`uv pip install -e .`) or put {tool} on PATH"
        )
    return found


def run(command: list[str], cwd: Path, *, timeout: float = 1800) -> process.Completed:
    """Run `command` in `cwd` with the clean environment, capturing stdout and stderr together."""
    return process.run(command, cwd=cwd, env=clean_env(), timeout=timeout)
