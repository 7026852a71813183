"""Release bookkeeping: the package version, the CHANGELOG, the history and any tags agree.

A release is the commit that adds its CHANGELOG entry (ml_milestones.releases); tags, where a
clone has them, must sit on those commits.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.version import Version

from ml_milestones import __version__
from ml_milestones.git_repos import git, git_init, git_save
from ml_milestones.paths import TEMPLATE_ROOT
from ml_milestones.releases import (
    CHANGELOG,
    VERSION_FILE,
    Release,
    ReleaseHistoryError,
    changelog_versions,
    is_shallow,
    last_release,
    package_version_at,
    releases,
    tag_releases,
    tags,
)

CHANGELOG_PATH = TEMPLATE_ROOT / CHANGELOG


@pytest.fixture(scope="module")
def history() -> list[Release]:
    """The releases in the history of HEAD, found without tags."""
    if is_shallow(TEMPLATE_ROOT):
        pytest.skip(f"{TEMPLATE_ROOT} is a shallow clone: run `git fetch --unshallow`")
    return releases(TEMPLATE_ROOT)


def test_changelog_entries_are_newest_first() -> None:
    versions = changelog_versions(CHANGELOG_PATH.read_text())
    assert versions, f"{CHANGELOG_PATH} has no `## [X.Y.Z] - YYYY-MM-DD` entry"
    assert versions == sorted(versions, reverse=True)


def test_package_version_is_the_newest_changelog_entry() -> None:
    newest = changelog_versions(CHANGELOG_PATH.read_text())[0]
    assert Version(__version__) == newest, (
        f"__version__ is {__version__} but the newest CHANGELOG entry is {newest}: "
        "bump src/ml_milestones/__init__.py and CHANGELOG.md together"
    )


def test_every_release_commit_has_its_package_version(history: list[Release]) -> None:
    """The commit that adds `## [X.Y.Z]` has __version__ X.Y.Z: it is the release, tag or not."""
    mismatched = [
        f"{r.commit[:12]} adds the {r.version} entry but has __version__ "
        f"{package_version_at(TEMPLATE_ROOT, r.commit)}"
        for r in history
        if package_version_at(TEMPLATE_ROOT, r.commit) != str(r.version)
    ]
    assert not mismatched, "\n".join(mismatched)


def test_tags_sit_on_the_release_commits(history: list[Release]) -> None:
    """Where this clone has tags, each is on the commit that adds its CHANGELOG entry."""
    by_version = {r.version: r.commit for r in history}
    tagged = tags(TEMPLATE_ROOT)
    wrong = [
        f"v{version} is on {commit[:12]}, but {by_version[version][:12]} adds its entry"
        for version, commit in tagged.items()
        if version in by_version and by_version[version] != commit
    ]
    assert not wrong, "\n".join(wrong)


def test_newest_tag_is_not_newer_than_the_package() -> None:
    tagged = tags(TEMPLATE_ROOT)
    if not tagged:
        pytest.skip("this clone has no vX.Y.Z tag; the releases come from history instead")
    assert max(tagged) <= Version(__version__), (
        f"tag v{max(tagged)} is newer than __version__ {__version__}: "
        "a release must bump the version and add its CHANGELOG entry"
    )


# --- the derivation itself, on a small repository with a known history ----------------------

ENTRY = "## [{version}] - 2026-11-{day:02d}\n\nSomething changed.\n\n"


def _changelog(*entries: tuple[str, int]) -> str:
    return "# Changelog\n\n## [Unreleased]\n\n" + "".join(
        ENTRY.format(version=v, day=d) for v, d in entries
    )


def _commit(repo: Path, changelog: str, version: str, message: str) -> str:
    (repo / CHANGELOG).write_text(changelog)
    (repo / VERSION_FILE).parent.mkdir(parents=True, exist_ok=True)
    (repo / VERSION_FILE).write_text(f'__version__ = "{version}"\n')
    git_save(repo, message)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "README.md").write_text("A template.\n")
    git_init(tmp_path)
    return tmp_path


def test_releases_are_the_commits_that_add_their_entries(repo: Path) -> None:
    first = _commit(repo, _changelog(("0.1.0", 1)), "0.1.0", "Release 0.1.0")
    _commit(repo, _changelog(("0.1.0", 2)), "0.1.0", "Fix the date of 0.1.0")
    (repo / "README.md").write_text("Work towards 0.2.0.\n")
    git_save(repo, "Work")
    second = _commit(repo, _changelog(("0.2.0", 3), ("0.1.0", 2)), "0.2.0", "Release 0.2.0")

    assert releases(repo) == [Release(Version("0.2.0"), second), Release(Version("0.1.0"), first)]
    assert package_version_at(repo, first) == "0.1.0"
    # HEAD is the 0.2.0 release: updating from it would go from a tree to itself.
    assert last_release(repo) == Release(Version("0.1.0"), first)
    (repo / "README.md").write_text("After 0.2.0.\n")
    git_save(repo, "Work after the release")
    assert last_release(repo) == Release(Version("0.2.0"), second)
    # A commit that changes nothing after the release is still the release's tree.
    git_save(repo, "Empty")
    git_save(repo, "Empty")
    assert last_release(repo, "HEAD~2") == Release(Version("0.2.0"), second)
    assert last_release(repo, second) == Release(Version("0.1.0"), first)


def test_the_first_release_has_nothing_older(repo: Path) -> None:
    _commit(repo, _changelog(("0.1.0", 1)), "0.1.0", "Release 0.1.0")

    assert last_release(repo) is None


def test_missing_tags_are_added_and_wrong_ones_refused(repo: Path) -> None:
    first = _commit(repo, _changelog(("0.1.0", 1)), "0.1.0", "Release 0.1.0")
    second = _commit(repo, _changelog(("0.2.0", 2), ("0.1.0", 1)), "0.2.0", "Release 0.2.0")

    assert tag_releases(repo) == ["v0.2.0", "v0.1.0"]
    assert tags(repo) == {Version("0.2.0"): second, Version("0.1.0"): first}
    assert tag_releases(repo) == []

    (repo / "README.md").write_text("Next.\n")
    git_save(repo, "Work")
    git(repo, "tag", "--force", "v0.2.0", "HEAD")
    with pytest.raises(ReleaseHistoryError, match=r"tag v0\.2\.0 is on"):
        tag_releases(repo)
