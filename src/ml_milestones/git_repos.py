"""Git repositories for update work: a throwaway, tagged copy of the template, and projects.

Used by the update tests (tests/update_harness.py), the benchmarks and `ml-milestones check`.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import copier

from . import process
from .paths import TEMPLATE_ROOT
from .render import render
from .variants import Variant

FIRST_TAG = "v1.0.0"
NEXT_TAG = "v1.1.0"
_IDENTITY = ["-c", "user.name=ml-milestones", "-c", "user.email=ml-milestones@example.invalid"]


def git(path: Path, *args: str) -> str:
    """Run git in `path` with a fixed identity and no hooks; return stdout, raise on failure."""
    completed = process.run(["git", *_IDENTITY, *args], cwd=path, output="separate")
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
    listed = process.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=repo,
        output="separate",
        check=True,
    ).stdout
    return sorted(name for name in set(listed.split("\0")) if name and (repo / name).is_file())


def copy_working_tree(source: Path, destination: Path) -> None:
    """Copy every file of `source`'s working tree (see working_tree_files) into `destination`."""
    for relpath in working_tree_files(source):
        (destination / relpath).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / relpath, destination / relpath)


def make_template_repo(destination: Path, source: Path = TEMPLATE_ROOT) -> Path:
    """A git repository of the template as `source`'s working tree holds it now, tagged v1.0.0."""
    copy_working_tree(source, destination)
    git_init(destination, "Template as in the working tree")
    git(destination, "tag", FIRST_TAG)
    return destination


def clone_template_repo(base: Path, destination: Path) -> Path:
    """A private copy of a template repository, tags included, that a test may edit and tag."""
    process.run(["git", "clone", "--quiet", str(base), str(destination)], check=True)
    return destination


def clone_with_working_tree(destination: Path, source: Path = TEMPLATE_ROOT) -> Path:
    """A full clone of `source` whose HEAD adds one commit to it: its working tree as it is now.

    Uncommitted changes and unignored new files are in that commit (it is empty for a clean
    tree), so the releases in the history and the tree under test are commits of one repository,
    where a test may add tags without touching `source`. The branch checked out is `under-test`.
    """
    process.run(
        ["git", "clone", "--quiet", "--no-local", str(source), str(destination)], check=True
    )
    git(
        destination,
        "checkout",
        "--quiet",
        "-B",
        "under-test",
        git(source, "rev-parse", "HEAD").strip(),
    )
    git(destination, "rm", "-r", "--quiet", "--", ".")
    copy_working_tree(source, destination)
    git_save(destination, "Working tree under test")
    return destination


def render_project(
    template: Path, variant: Variant, destination: Path, vcs_ref: str = FIRST_TAG
) -> Path:
    """Render `variant` from the template repository's ABSOLUTE path at a tag, and commit it."""
    render(variant, destination, template=template, vcs_ref=vcs_ref)
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
