"""Releases read from the repository's history, so that a clone without tags still has them.

A release is the commit that adds its `## [X.Y.Z] - YYYY-MM-DD` entry to CHANGELOG.md, with
`__version__` in src/ml_milestones/__init__.py bumped to X.Y.Z (see the README's release rule).
Where tags can be pushed, that commit is also tagged `vX.Y.Z`, which is what Copier users render;
but a fresh clone often has no tags, and the history alone must then say where each release is.

For each version in CHANGELOG.md at a revision, the release commit is the newest commit in that
revision's history whose change to CHANGELOG.md adds the heading `## [X.Y.Z] - ` (git's pickaxe,
`git log -S`, finds the commits that change how often the text occurs; the newest one that
leaves it in the file added it). Fixing an entry's date or text later does not move the release.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from . import process
from .paths import TEMPLATE_ROOT

CHANGELOG = "CHANGELOG.md"
VERSION_FILE = "src/ml_milestones/__init__.py"
# A released entry: `## [0.1.0] - 2026-11-25`. `## [Unreleased]` is not a release.
RELEASE_HEADING = re.compile(r"^## \[(?P<version>[^\]]+)\] - \d{4}-\d{2}-\d{2}$", re.MULTILINE)
_VERSION_LINE = re.compile(r"^__version__ = \"(?P<version>[^\"]+)\"$", re.MULTILINE)


class ReleaseHistoryError(RuntimeError):
    """The repository cannot tell its releases: no history, a shallow clone, a bad entry."""


@dataclass(frozen=True)
class Release:
    version: Version
    commit: str  # the full hash of the commit that added the CHANGELOG entry

    @property
    def tag(self) -> str:
        """The tag Copier reads as this release: `v` and the version."""
        return f"v{self.version}"


def _git(repo: Path, *args: str) -> str:
    completed = process.run(["git", *args], cwd=repo, output="separate")
    if completed.returncode != 0:
        raise ReleaseHistoryError(f"git {' '.join(args)} failed in {repo}:\n{completed.stderr}")
    return completed.stdout


def changelog_versions(text: str) -> list[Version]:
    """The released versions of a CHANGELOG.md text, in the order of their entries."""
    versions = []
    for match in RELEASE_HEADING.finditer(text):
        try:
            versions.append(Version(match["version"]))
        except InvalidVersion as error:
            raise ReleaseHistoryError(
                f"{CHANGELOG} entry {match[0]!r} is not a PEP 440 version"
            ) from error
    return versions


def file_at(repo: Path, rev: str, relpath: str) -> str | None:
    """The text of `relpath` at commit `rev`, or None when the commit has no such file."""
    completed = process.run(["git", "show", f"{rev}:{relpath}"], cwd=repo, output="separate")
    return completed.stdout if completed.returncode == 0 else None


def package_version_at(repo: Path, rev: str) -> str | None:
    """`__version__` as src/ml_milestones/__init__.py sets it at `rev` (None: no such line)."""
    text = file_at(repo, rev, VERSION_FILE)
    match = _VERSION_LINE.search(text or "")
    return match["version"] if match else None


def is_shallow(repo: Path) -> bool:
    return _git(repo, "rev-parse", "--is-shallow-repository").strip() == "true"


def _release_commit(repo: Path, rev: str, version: Version) -> str:
    heading = f"## [{version}] - "
    changed = _git(repo, "log", "--format=%H", f"-S{heading}", rev, "--", CHANGELOG).split()
    for commit in changed:  # newest first: the newest change that leaves the heading in added it
        if any(v == version for v in changelog_versions(file_at(repo, commit, CHANGELOG) or "")):
            return commit
    raise ReleaseHistoryError(f"no commit in the history of {rev} adds {heading!r} to {CHANGELOG}")


def releases(repo: Path = TEMPLATE_ROOT, rev: str = "HEAD") -> list[Release]:
    """Every release in the history of `rev`, in CHANGELOG order (newest entry first).

    Raises ReleaseHistoryError in a shallow clone: its oldest commit would seem to add every
    entry. Fetch the whole history (`git fetch --unshallow`) to find the releases.
    """
    if is_shallow(repo):
        raise ReleaseHistoryError(
            f"{repo} is a shallow clone: its history cannot tell where each release is; "
            "run `git fetch --unshallow` (or clone without --depth)"
        )
    text = file_at(repo, rev, CHANGELOG)
    if text is None:
        raise ReleaseHistoryError(f"{rev} has no {CHANGELOG}")
    return [Release(v, _release_commit(repo, rev, v)) for v in changelog_versions(text)]


def tree(repo: Path, rev: str) -> str:
    return _git(repo, "rev-parse", f"{rev}^{{tree}}").strip()


def last_release(repo: Path = TEMPLATE_ROOT, rev: str = "HEAD") -> Release | None:
    """The newest release older than `rev`: in its history, and with different files.

    A release whose files are those of `rev` (rev is the release commit, or adds nothing to it)
    is skipped, so an update from the release to `rev` never goes from a tree to itself.
    """
    under_test = tree(repo, rev)
    older = [r for r in releases(repo, rev) if tree(repo, r.commit) != under_test]
    return max(older, key=lambda r: r.version, default=None)


def tags(repo: Path = TEMPLATE_ROOT) -> dict[Version, str]:
    """Every `vX.Y.Z` tag that reads as a PEP 440 version (as Copier reads them) -> its commit."""
    found = {}
    for name in _git(repo, "tag", "--list", "v*").split():
        try:
            version = Version(name.removeprefix("v"))
        except InvalidVersion:
            continue  # not a release tag; Copier ignores it too
        found[version] = _git(repo, "rev-list", "-n", "1", name).strip()
    return found


def tag_releases(repo: Path = TEMPLATE_ROOT, rev: str = "HEAD") -> list[str]:
    """Tag each release in the history of `rev` that has no tag yet; return the new tags.

    A tag that exists on another commit than the history says is an error, not overwritten.
    """
    existing = tags(repo)
    created = []
    for release in releases(repo, rev):
        tagged = existing.get(release.version)
        if tagged is None:
            _git(repo, "tag", release.tag, release.commit)
            created.append(release.tag)
        elif tagged != release.commit:
            raise ReleaseHistoryError(
                f"tag {release.tag} is on {tagged[:12]}, but {release.commit[:12]} is the commit "
                f"that adds its {CHANGELOG} entry"
            )
    return created
