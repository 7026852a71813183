"""The package's one subprocess runner: what it captures, and what its errors say."""

from __future__ import annotations

import sys

import pytest

from ml_milestones import process

PY = sys.executable


def test_output_is_merged_by_default_and_kept_apart_on_request() -> None:
    script = "import sys; print('out'); print('err', file=sys.stderr)"
    merged = process.run([PY, "-c", script])
    assert merged.returncode == 0
    assert merged.stdout.split() == ["out", "err"]
    separate = process.run([PY, "-c", script], output="separate")
    assert (separate.stdout, separate.stderr) == ("out\n", "err\n")


def test_a_failure_is_an_answer_unless_checked() -> None:
    command = [PY, "-c", "print('why'); raise SystemExit(3)"]
    assert process.run(command).returncode == 3
    with pytest.raises(process.CommandError, match=r"failed \(exit 3\):\nwhy$"):
        process.run(command, check=True)


def test_a_timeout_raises_the_callers_error_with_what_was_printed() -> None:
    class Mine(RuntimeError):
        pass

    command = [PY, "-u", "-c", "import time; print('started'); time.sleep(30)"]
    with pytest.raises(Mine, match=r"took over 1 s:\nstarted$"):
        process.run(command, timeout=1, error=Mine)


def test_tail_keeps_the_last_lines() -> None:
    assert process.tail("a\nb\nc\n\n", 2) == "b\nc"
