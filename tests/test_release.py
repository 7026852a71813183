"""Release bookkeeping: the package version, the CHANGELOG and the git tags tell one story."""

from __future__ import annotations

import re
import subprocess

import pytest
from packaging.version import InvalidVersion, Version

from ml_milestones import __version__
from ml_milestones.paths import TEMPLATE_ROOT

CHANGELOG = TEMPLATE_ROOT / "CHANGELOG.md"
# A released entry: `## [0.1.0] - 2026-11-25`. `## [Unreleased]` is not a release.
RELEASE_HEADING = re.compile(r"^## \[(?P<version>[^\]]+)\] - \d{4}-\d{2}-\d{2}$", re.MULTILINE)


def changelog_versions() -> list[Version]:
    return [Version(m["version"]) for m in RELEASE_HEADING.finditer(CHANGELOG.read_text())]


def release_tags() -> list[Version]:
    """Every `vX.Y.Z` tag of this repository that reads as a PEP 440 version."""
    listed = subprocess.run(
        ["git", "tag", "--list", "v*"],
        cwd=TEMPLATE_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    versions = []
    for tag in listed:
        try:
            versions.append(Version(tag.removeprefix("v")))
        except InvalidVersion:
            continue  # not a release tag; Copier ignores it too
    return versions


def test_changelog_entries_are_newest_first() -> None:
    versions = changelog_versions()
    assert versions, f"{CHANGELOG} has no `## [X.Y.Z] - YYYY-MM-DD` entry"
    assert versions == sorted(versions, reverse=True)


def test_package_version_is_the_newest_changelog_entry() -> None:
    newest = changelog_versions()[0]
    assert Version(__version__) == newest, (
        f"__version__ is {__version__} but the newest CHANGELOG entry is {newest}: "
        "bump src/ml_milestones/__init__.py and CHANGELOG.md together"
    )


def test_newest_tag_is_not_newer_than_the_package() -> None:
    tags = release_tags()
    if not tags:
        pytest.skip("the repository has no vX.Y.Z tag yet")
    assert max(tags) <= Version(__version__), (
        f"tag v{max(tags)} is newer than __version__ {__version__}: "
        "a release must bump the version and add its CHANGELOG entry"
    )
