"""Deep-learning variants on Pythons that torch cannot be installed for here are still type-checked.

The local CPU wheel of torch is built for Python 3.11 only, so a project that requires 3.12 or
3.13 cannot install its own environment on this machine: the full check (tests, demo) runs for the
3.11 variant. These variants are rendered and linted by test_render.py, and here type-checked:
their locked dependencies are installed into a Python 3.11 environment, and mypy, configured by
the project for its own Python version (`python_version` in pyproject.toml), checks them against
that environment's torch. GitHub runs their tests on every supported Python (their CI).
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from ml_milestones.render import render
from ml_milestones.tools import run, which
from ml_milestones.variants import VARIANTS, Variant

LOCAL_TORCH_PYTHON = "3.11"
OTHER_PYTHONS = [
    v
    for v in VARIANTS
    if v.project_type == "deep-learning"
    and not v.full
    and v.answers.get("python_version", LOCAL_TORCH_PYTHON) != LOCAL_TORCH_PYTHON
]


def test_the_matrix_has_deep_learning_variants_on_other_pythons() -> None:
    assert {v.answers["python_version"] for v in OTHER_PYTHONS} == {"3.12", "3.13"}


def checked(command: list[str], cwd: Path) -> str:
    completed = run(command, cwd, timeout=900)
    assert completed.returncode == 0, f"`{' '.join(command)}` failed:\n{completed.stdout[-4000:]}"
    return completed.stdout


def requirements(pyproject: dict[str, Any]) -> list[str]:
    """The project's dependencies and its dev group, included groups expanded."""
    groups = pyproject["dependency-groups"]

    def group(name: str) -> list[str]:
        items = groups[name]
        return [
            r
            for item in items
            for r in (group(item["include-group"]) if isinstance(item, dict) else [item])
        ]

    return [*pyproject["project"]["dependencies"], *group("dev")]


@pytest.mark.full
@pytest.mark.parametrize("variant", OTHER_PYTHONS, ids=[v.id for v in OTHER_PYTHONS])
def test_variant_typechecks_against_the_local_torch(variant: Variant, tmp_path: Path) -> None:
    """The project's own dependencies at its tested versions (no lock: uv cannot lock a project
    that requires Python 3.12+ against a torch that has only a 3.11 wheel), then mypy."""
    project = render(variant, tmp_path / variant.id)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    wanted = tmp_path / "requirements.txt"
    wanted.write_text("\n".join(requirements(pyproject)) + "\n")
    tested = tmp_path / "constraints.txt"
    tested.write_text("\n".join(pyproject["tool"]["uv"]["constraint-dependencies"]) + "\n")
    uv = which("uv")
    env = tmp_path / "env311"
    checked([uv, "venv", "--python", LOCAL_TORCH_PYTHON, str(env)], project)
    python = env / ("Scripts" if sys.platform == "win32" else "bin") / "python"
    # torch from the `pytorch` index that clean_env points at the local wheel (torch_index.py).
    install = [uv, "pip", "install", "--python", str(python), "-r", str(wanted), "-c", str(tested)]
    checked(install, project)
    output = checked([str(python), "-m", "mypy"], project)
    assert "Success: no issues found" in output
