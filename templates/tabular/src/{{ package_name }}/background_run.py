"""An MLflow run kept by a child process, so MLflow loads and opens its store beside training.

Importing MLflow and opening its store take seconds of Python. In a thread they would hold the
interpreter lock the cross-validation needs, so they run in a process of their own: it opens the
run while the models train, and logs what `train` sends it once they are done. The parent waits
for it before returning, so the run is complete, or its error reported, when `train` ends.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Self

from .errors import UserError

if TYPE_CHECKING:
    from types import TracebackType

    # Only a type here: the child never loads pydantic for it.
    from .settings import ProjectSettings


class TrackingError(UserError):
    """MLflow could not record the run: the tracking store or server refused or is down."""


class BackgroundRun:
    """The parent's side: start the child, read the run id, send what to log, wait for it."""

    def __init__(self, settings: ProjectSettings, run_name: str, tags: dict[str, str]) -> None:
        self.tracking_uri = settings.tracking_uri
        self.process = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            # The child ends without running exit hooks (see the end of this file), and
            # MLflow's usage telemetry uploads from one: it is off rather than cut short.
            env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
        )
        self._run_id: str | None = None
        self._send(
            {
                "tracking_uri": settings.tracking_uri,
                "project_root": str(settings.project_root),
                "run_name": run_name,
                # MLflow would name the child's module as the run's source: name the command.
                "tags": {"mlflow.source.name": sys.argv[0], **tags},
            }
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # Without `finish` (training failed), closing the pipe ends the run as FAILED.
        self._close()

    @property
    def run_id(self) -> str:
        """The run's id, once the child has opened it."""
        if self._run_id is None:
            self._run_id = str(self._answer()["run_id"])
        return self._run_id

    def finish(
        self, params: dict[str, Any], metrics: dict[str, float], artifacts: list[tuple[Path, str]]
    ) -> None:
        """Log the parameters, metrics and files (each into its artifact folder); end the run."""
        _ = self.run_id
        self._send(
            {
                "params": params,
                "metrics": metrics,
                "artifacts": [(str(path), folder) for path, folder in artifacts],
            }
        )
        self._answer()
        self._close()

    def _send(self, message: dict[str, Any]) -> None:
        pipe = self._pipe(self.process.stdin)
        pipe.write(json.dumps(message) + "\n")
        pipe.flush()

    def _answer(self) -> dict[str, Any]:
        line = self._pipe(self.process.stdout).readline()
        if not line:
            code = self.process.wait()
            raise TrackingError(
                f"The MLflow logging process stopped (exit code {code}) before the run was "
                f"recorded in {self.tracking_uri}: see its error above."
            )
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            self._close()
            raise TrackingError(
                f"MLflow at {self.tracking_uri} could not record the training run "
                f"({answer['error']}): check MLFLOW_TRACKING_URI and that its server is up, or "
                "unset it to log to mlflow.db in the project folder."
            )
        return answer

    def _close(self) -> None:
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    @staticmethod
    def _pipe(pipe: IO[str] | None) -> IO[str]:
        if pipe is None:
            raise RuntimeError("The MLflow logging process has no pipe.")
        return pipe


def serve(requests: IO[str], answers: IO[str]) -> None:
    """The child's side: open the run, answer its id, log what comes, say when it is done."""
    import mlflow

    from .tracking import start_run_at

    def answer(message: dict[str, Any]) -> None:
        answers.write(json.dumps(message) + "\n")
        answers.flush()

    opening = json.loads(requests.readline())
    try:
        with start_run_at(
            opening["tracking_uri"],
            Path(opening["project_root"]),
            opening["run_name"],
            opening["tags"],
        ) as run:
            answer({"run_id": run.info.run_id})
            line = requests.readline()
            if not line:
                # The parent failed before sending anything: the run ends as FAILED.
                raise TrainingStoppedError
            logged = json.loads(line)
            mlflow.log_params(logged["params"])
            mlflow.log_metrics(logged["metrics"])
            for path, folder in logged["artifacts"]:
                mlflow.log_artifact(path, artifact_path=folder)
    except TrainingStoppedError:
        return
    # MLflow raises its own error types (and SQLAlchemy's, and requests'); the parent reports it.
    except Exception as error:  # noqa: BLE001
        answer({"error": f"{type(error).__name__}: {error}"})
        return
    answer({"done": True})


class TrainingStoppedError(Exception):
    """The parent closed the pipe without sending what to log."""


if __name__ == "__main__":
    # The answers get the real stdout to themselves: anything MLflow prints goes to stderr.
    protocol = sys.stdout
    sys.stdout = sys.stderr
    serve(sys.stdin, protocol)
    # The run is ended and its store written: skip the interpreter's teardown (and exit
    # hooks), a second of freeing MLflow's, SQLAlchemy's and pandas' modules that `train`
    # would otherwise wait for.
    sys.stderr.flush()
    os._exit(0)
