"""Every full variant, rendered from the template's absolute path, passes its own CI.

This is the slow part of the suite: a real install, lint, typecheck, test suite and demo run of
each rendered project, plus its workflow, Dockerfile and pre-commit checks.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ml_milestones.checks import ALL_CHECKS, run_checks
from ml_milestones.render import render
from ml_milestones.variants import VARIANTS, Variant

FULL = [v for v in VARIANTS if v.full]


def python_available(version: str) -> bool:
    uv = shutil.which("uv")
    return (
        uv is not None
        and subprocess.run(
            [uv, "python", "find", version], capture_output=True, check=False
        ).returncode
        == 0
    )


@pytest.mark.full
@pytest.mark.parametrize("variant", FULL, ids=[v.id for v in FULL])
def test_generated_project_passes_its_ci(variant: Variant, tmp_path: Path) -> None:
    python = str(variant.data().get("python_version", "3.11"))
    if not python_available(python):
        pytest.skip(f"Python {python} is not installed, so uv cannot build its environments")
    project = render(variant, tmp_path / variant.id)
    results = run_checks(project, list(ALL_CHECKS))
    failures = [f"{r.id} {r.name}:\n{r.detail}" for r in results if r.failed]
    assert not failures, "\n\n".join(failures)
    assert all(r.status == "pass" for r in results), results
