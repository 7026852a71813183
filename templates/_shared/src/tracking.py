"""MLflow tracking: where runs go, which experiment they join, and which commit made them."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import mlflow

from . import PROJECT_NAME, __version__
from .settings import ProjectSettings


def git_commit(folder: Path) -> str | None:
    """The commit checked out in `folder`, or None outside a git repository."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=folder,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return result.stdout.strip() or None


@contextmanager
def start_run(
    settings: ProjectSettings, run_name: str, tags: dict[str, str] | None = None
) -> Iterator[mlflow.ActiveRun]:
    """Open a run in the project's MLflow experiment, tagged with the version and git commit."""
    # A file in the project folder keeps runs with the project and needs no server; a team
    # points MLFLOW_TRACKING_URI at a shared tracking server instead.
    mlflow.set_tracking_uri(settings.tracking_uri)
    mlflow.set_experiment(PROJECT_NAME)
    run_tags = {"project.version": __version__, **(tags or {})}
    commit = git_commit(settings.project_root)
    if commit:
        # The tag MLflow's UI shows as the run's source version.
        run_tags["mlflow.source.git.commit"] = commit
    with mlflow.start_run(run_name=run_name, tags=run_tags) as run:
        yield run
