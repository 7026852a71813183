"""What every benchmark section uses: a table row, timing, and running a project's commands."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from statistics import median

from . import process
from .tools import clean_env
from .variants import VARIANTS, Variant


@dataclass(frozen=True)
class Row:
    measure: str
    seconds: float
    target: str
    note: str = ""
    # The value's unit when it is not seconds (" ms", " chunks/s"; "" for a score).
    unit: str | None = None


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def median_of(repeats: int, action: Callable[[], object]) -> float:
    return median(timed(action) for _ in range(repeats))


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    completed = process.run(command, cwd=cwd, env=env or clean_env(), output="separate")
    if completed.returncode != 0:
        # Both streams: a failing script's traceback is on stderr.
        output = (completed.stdout or "") + (completed.stderr or "")
        raise RuntimeError(f"{' '.join(command)} failed in {cwd}:\n{output[-3000:]}")


def default_variant(project_type: str) -> Variant:
    return next(v for v in VARIANTS if v.project_type == project_type)


def nox(project: Path, *args: str, env: dict[str, str] | None = None) -> None:
    run([sys.executable, "-m", "nox", "--non-interactive", *args], project, env)
