"""A generated project's `nox -s audit` skips in one line when the vulnerability database is
unreachable (as here, and in this repository's CI), and fails then under AUDIT_STRICT=1."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from ml_milestones import process
from ml_milestones.render import render
from ml_milestones.tools import clean_env, run, which
from ml_milestones.variants import get_variant

SKIPPED = "vulnerability database unreachable: audit skipped"


def _osv_reachable() -> bool:
    try:
        urllib.request.urlopen("https://api.osv.dev", timeout=10).close()
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


pytestmark = pytest.mark.skipif(
    _osv_reachable(), reason="the vulnerability database is reachable: the audit would run"
)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = render(get_variant("tabular-defaults"), tmp_path_factory.mktemp("audit") / "project")
    assert run([which("uv"), "lock"], folder).returncode == 0
    return folder


def nox_audit(project: Path, **env: str) -> tuple[int, str]:
    completed = process.run(
        [sys.executable, "-m", "nox", "--non-interactive", "-s", "audit"],
        cwd=project,
        env=clean_env() | env,
        timeout=300,
    )
    return completed.returncode, completed.stdout


def test_offline_audit_says_so_in_one_line_and_passes(project: Path) -> None:
    returncode, output = nox_audit(project)
    assert returncode == 0, output
    assert output.count(SKIPPED) == 1


def test_strict_audit_fails_when_offline(project: Path) -> None:
    returncode, output = nox_audit(project, AUDIT_STRICT="1")
    assert returncode != 0
    assert "vulnerability database unreachable" in output
