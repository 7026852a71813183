"""Tasks for the template repository: lint, tests, one session per variant, demo and bench.

`nox` runs lint and tests (what CI runs, through `python3 dev.py test`). The variant list comes
from src/ml_milestones/variants.py, the same list the tests read.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nox

sys.path.insert(0, str(Path(__file__).parent / "src"))
from ml_milestones.variants import VARIANTS, get_variant, uses_torch

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv"
nox.options.sessions = ["lint", "tests"]

ROOT = Path(__file__).parent
BUILD = ROOT / "build"


def install(session: nox.Session, group: str = "test") -> None:
    """The package and one dependency group, exactly as uv.lock pins them (`--locked` stops if
    the lock is stale: run `uv lock` and commit it)."""
    session.run_install(
        "uv",
        "sync",
        "--locked",
        "--no-default-groups",
        f"--group={group}",
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location},
        external=True,
    )


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff and mypy on the generator's own code."""
    install(session, "dev")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")


@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite: questions, render contract, and every full variant's generated CI."""
    install(session)
    # loadgroup: tests marked with one xdist_group (the podman image builds) share a worker.
    parallel = ["--numprocesses=2", "--dist=loadgroup"]
    session.run("pytest", *parallel, "--durations=15", *session.posargs)


@nox.session
def fast(session: nox.Session) -> None:
    """The suite without the slow generated-CI runs: seconds, for quick feedback."""
    install(session)
    session.run("pytest", "-m", "not full", *session.posargs)


@nox.session
@nox.parametrize("variant", [v.id for v in VARIANTS], ids=[v.id for v in VARIANTS])
def generated(session: nox.Session, variant: str) -> None:
    """Render one variant into build/variants/ and run its CI with `ml-milestones check`."""
    answers = get_variant(variant).data()
    if uses_torch(get_variant(variant)) and answers.get("python_version", "3.11") != "3.11":
        # tests/test_typecheck_without_torch_wheel.py type-checks it; test_render.py lints it.
        session.skip(f"{variant}: the local CPU torch wheel is for Python 3.11 only")
    install(session)
    destination = BUILD / "variants" / variant
    shutil.rmtree(destination, ignore_errors=True)
    session.run("ml-milestones", "render", variant, str(destination))
    session.run("ml-milestones", "check", str(destination), *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """Render the tabular milestone into build/demo/ and run its demo, as a new user would."""
    install(session)
    variant = get_variant("tabular-defaults")
    destination = BUILD / "demo" / "heart-disease-risk"
    shutil.rmtree(destination, ignore_errors=True)
    session.run("ml-milestones", "render", variant.id, str(destination))
    session.chdir(destination)
    # The project's first `uvx nox` creates its uv.lock; lock explicitly so this also works
    # where CI is set (the project's sessions refuse to create a lock under CI).
    session.run("uv", "lock", external=True)
    session.run("nox", "-s", "demo", external=True)
    session.log(f"The project, its report and model card are in {destination}")


@nox.session
def bench(session: nox.Session) -> None:
    """Time render, demo (cold and warm cache), generated CI and training; write a table."""
    install(session)
    session.run("python", "-m", "ml_milestones.bench", *session.posargs)


@nox.session
def containers(session: nox.Session) -> None:
    """Build, run and probe each project type's image with podman (as root; skips otherwise)."""
    install(session)
    session.run("ml-milestones", "containers", *session.posargs)
