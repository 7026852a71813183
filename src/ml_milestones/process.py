"""The package's one subprocess runner: output captured as text, a timeout, errors with a tail."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal, TypeAlias

# Enough of a failed build or test run to see why, short enough to read in a terminal.
TAIL_LINES = 60

Output = Literal["merged", "separate", "terminal"]
# What `run` returns, so callers need not import subprocess for the type.
Completed: TypeAlias = "subprocess.CompletedProcess[str]"


class CommandError(RuntimeError):
    """A command failed or ran out of time; the message names it and carries its output's tail."""


def tail(text: str, lines: int = TAIL_LINES) -> str:
    """The last `lines` lines of `text`, trailing blank lines left out."""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def run(
    command: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    check: bool = False,
    output: Output = "merged",
    error: type[RuntimeError] = CommandError,
) -> Completed:
    """Run `command` and wait for it; never raises for its exit status unless `check`.

    `output`: "merged" captures stderr into stdout, in the order a terminal shows them;
    "separate" captures both apart; "terminal" leaves both to the caller's terminal.
    `env`: None inherits this process's environment. Running out of `timeout` always raises
    `error`, as does a non-zero exit with `check`: callers that catch their own error type
    (the container harness's ContainerError) pass it here.
    """
    pipe = None if output == "terminal" else subprocess.PIPE
    try:
        completed = subprocess.run(
            list(command),
            cwd=cwd,
            env=None if env is None else dict(env),
            stdout=pipe,
            stderr=subprocess.STDOUT if output == "merged" else pipe,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        # What the command printed before it was killed: bytes, as subprocess never decoded it.
        partial = expired.stdout or b""
        captured = partial.decode(errors="replace") if isinstance(partial, bytes) else partial
        raise error(
            f"`{' '.join(command)}` took over {timeout:.0f} s:\n{tail(captured)}"
        ) from expired
    if check and completed.returncode != 0:
        captured = (completed.stdout or "") + (completed.stderr or "")
        raise error(
            f"`{' '.join(command)}` failed (exit {completed.returncode}):\n{tail(captured)}"
        )
    return completed
