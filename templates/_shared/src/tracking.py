"""MLflow tracking: where runs go, which experiment they join, and which commit made them."""

from __future__ import annotations

import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import mlflow

from . import PROJECT_NAME, __version__

if TYPE_CHECKING:
    from collections.abc import Iterator

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


def artifact_location(tracking_uri: str) -> str | None:
    """A SQLite store's artifact folder, beside the database; None for a tracking server."""
    # MLflow's own default, ./mlruns, would follow the working directory into any subfolder.
    if not tracking_uri.startswith("sqlite:///"):
        return None
    database = Path(tracking_uri.removeprefix("sqlite:///")).resolve()
    return (database.parent / "mlruns").as_uri()


def use_experiment(tracking_uri: str) -> None:
    """Send runs to the project's experiment, creating it (with its artifact folder) if needed."""
    mlflow.set_tracking_uri(tracking_uri)
    if mlflow.get_experiment_by_name(PROJECT_NAME) is None:
        mlflow.create_experiment(PROJECT_NAME, artifact_location=artifact_location(tracking_uri))
    mlflow.set_experiment(PROJECT_NAME)


@contextmanager
def start_run(
    settings: ProjectSettings, run_name: str, tags: dict[str, str] | None = None
) -> Iterator[mlflow.ActiveRun]:
    """Open a run in the project's MLflow experiment, tagged with the version and git commit."""
    # A file in the project folder keeps runs with the project and needs no server; a team
    # points MLFLOW_TRACKING_URI at a shared tracking server instead.
    with start_run_at(settings.tracking_uri, settings.project_root, run_name, tags) as run:
        yield run


@contextmanager
def start_run_at(
    tracking_uri: str, project_root: Path, run_name: str, tags: dict[str, str] | None = None
) -> Iterator[mlflow.ActiveRun]:
    """`start_run` for a process that has the tracking URI and project folder but no settings."""
    use_experiment(tracking_uri)
    run_tags = {"project.version": __version__, **(tags or {})}
    commit = git_commit(project_root)
    if commit:
        # The tag MLflow's UI shows as the run's source version.
        run_tags["mlflow.source.git.commit"] = commit
    with mlflow.start_run(run_name=run_name, tags=run_tags) as run:
        yield run
