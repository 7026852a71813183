"""Helpers to test `copier update` on a throwaway, tagged template repository, like copier's."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import copier
import yaml

from ml_milestones.paths import TEMPLATE_ROOT
from ml_milestones.variants import VARIANTS, Variant

FIRST_TAG = "v1.0.0"
NEXT_TAG = "v1.1.0"
# Copier's inline conflict markers; any line starting with one means an unresolved conflict.
MARKERS = ("<<<<<<< ", "=======", ">>>>>>> ")
_IDENTITY = ["-c", "user.name=Update Test", "-c", "user.email=update-test@example.invalid"]


def first_variant(project_type: str) -> Variant:
    """The first variant of a type in the matrix: its defaults, or as close as the matrix has."""
    return next(v for v in VARIANTS if v.project_type == project_type)


def git(path: Path, *args: str) -> str:
    """Run git in `path` with a fixed identity and no hooks; return stdout, raise on failure."""
    completed = subprocess.run(
        ["git", *_IDENTITY, *args], cwd=path, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {path}:\n{completed.stderr}")
    return completed.stdout


def git_save(path: Path, message: str = "Test commit", tag: str | None = None) -> None:
    """Commit everything in `path` (a repository) and optionally tag the commit."""
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "--no-verify", "--allow-empty", "-m", message)
    if tag:
        git(path, "tag", tag)


def git_init(path: Path, message: str = "Initial commit") -> None:
    git(path, "init", "--quiet", "--initial-branch=main")
    git_save(path, message)


def git_status(path: Path) -> str:
    """`git status --porcelain` with untracked files listed one by one."""
    return git(path, "status", "--porcelain", "--untracked-files=all")


def build_file_tree(root: Path, spec: Mapping[str, str | bytes | None]) -> None:
    """Write each file of `spec` under `root` (folders created); a None value deletes the file."""
    for relpath, content in spec.items():
        path = root / relpath
        if content is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def working_tree_files(repo: Path) -> list[str]:
    """What `git add --all` would commit in `repo`: tracked and unignored untracked files."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return sorted(name for name in set(listed.split("\0")) if name and (repo / name).is_file())


def make_template_repo(destination: Path, source: Path = TEMPLATE_ROOT) -> Path:
    """A git repository of the template as `source`'s working tree holds it now, tagged v1.0.0."""
    for relpath in working_tree_files(source):
        (destination / relpath).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / relpath, destination / relpath)
    git_init(destination, "Template as in the working tree")
    git(destination, "tag", FIRST_TAG)
    return destination


def clone_template_repo(base: Path, destination: Path) -> Path:
    """A private copy of a template repository, tags included, that a test may edit and tag."""
    subprocess.run(
        ["git", "clone", "--quiet", str(base), str(destination)],
        check=True,
        capture_output=True,
    )
    return destination


def render_project(
    template: Path, variant: Variant, destination: Path, vcs_ref: str = FIRST_TAG
) -> Path:
    """Render `variant` from the template repository's ABSOLUTE path at a tag, and commit it."""
    copier.run_copy(
        str(template.resolve()),
        str(destination),
        data=variant.data(),
        defaults=True,
        unsafe=False,
        vcs_ref=vcs_ref,
        quiet=True,
    )
    git_init(destination, "Generated project")
    return destination


def release(template: Path, spec: Mapping[str, str | bytes | None], tag: str = NEXT_TAG) -> None:
    """Change template files (see build_file_tree), commit and tag a new release."""
    build_file_tree(template, spec)
    git_save(template, f"Template release {tag}", tag=tag)


def update(project: Path, **kwargs: Any) -> str:
    """`copier update` the way `ml-milestones update` runs it; return the project's git status."""
    options: dict[str, Any] = {
        "defaults": True,
        "conflict": "inline",
        "overwrite": True,
        "unsafe": False,
        "quiet": True,
        **kwargs,
    }
    copier.run_update(str(project), **options)
    return git_status(project)


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
