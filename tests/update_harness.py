"""Helpers to test `copier update` on a throwaway, tagged template repository, like copier's."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ml_milestones.variants import VARIANTS, Variant

# Copier's inline conflict markers; any line starting with one means an unresolved conflict.
MARKERS = ("<<<<<<< ", "=======", ">>>>>>> ")


def first_variant(project_type: str) -> Variant:
    """The first variant of a type in the matrix: its defaults, or as close as the matrix has."""
    return next(v for v in VARIANTS if v.project_type == project_type)


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text + "\n")


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` (its .git folder included) with its bytes."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def lost_lines(project: Path, written: Mapping[str, list[str]]) -> list[str]:
    """The lines the user wrote (file -> lines) that are no longer in the project's files."""
    lost = []
    for relpath, lines in written.items():
        path = project / relpath
        present = set(path.read_text().splitlines()) if path.is_file() else set()
        lost.extend(f"{relpath}: {line!r}" for line in lines if line not in present)
    return lost


def assert_nothing_lost(project: Path, written: Mapping[str, list[str]]) -> None:
    lost = lost_lines(project, written)
    assert not lost, "the update dropped lines the user wrote:\n" + "\n".join(lost)


def marker_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.startswith(MARKERS)]


def answers(project: Path) -> dict[str, Any]:
    """The project's .copier-answers.yml as a dict."""
    loaded: dict[str, Any] = yaml.safe_load((project / ".copier-answers.yml").read_text())
    return loaded
