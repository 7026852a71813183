"""`copier update` keeps generated projects safe: template changes arrive, user work stays.

Each scenario runs for every project type: a throwaway repository of this template (as the
working tree holds it) is tagged v1.0.0, a project is rendered from it and committed, the user
and the template change things, the template is tagged v1.1.0, and the project is updated.
Template edits go into shared partials, so they reach every type the same way.
"""

from __future__ import annotations

import io
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import copier
import pytest
from rich.console import Console
from update_harness import (
    answers,
    append,
    assert_nothing_lost,
    first_variant,
    lost_lines,
    marker_lines,
    snapshot,
)

from ml_milestones.checks import ALL_CHECKS, run_checks, select
from ml_milestones.git_repos import (
    NEXT_TAG,
    clone_template_repo,
    git_save,
    git_status,
    make_template_repo,
    release,
    render_project,
    update,
)
from ml_milestones.paths import TEMPLATE_ROOT, project_types
from ml_milestones.shared_stubs import SHARED_STUBS
from ml_milestones.update import conflicted_files, update_command

TYPES = project_types()

# Shared partials every type includes (see SHARED_STUBS), so one edit reaches every type.
NOXFILE = "templates/_shared/noxfile.py.jinja"
README = "templates/_shared/README.md.jinja"
TRACKING = "templates/_shared/src/tracking.py"
TEMPLATE_LINE = "# Added by template release 1.1.0."
# Two blank lines before it, as ruff format wants after a function at the end of a module.
NOXFILE_ADDITION = "\n\n" + TEMPLATE_LINE
USER_FUNCTION = '''

def user_helper() -> str:
    """Written by the user after generation; no update may drop it."""
    return "kept"
'''

# Per type: the answers that switch an option on at update time, and a dependency it adds.
# Every project type needs an entry: test_changing_an_answer_applies_its_effect fails without one.
OPTION_TO_ENABLE: dict[str, tuple[dict[str, Any], str]] = {
    "tabular": ({"boosting_models": True}, "xgboost"),
    "service": ({"fast_event_loop": True}, "uvicorn[standard]"),
}
FAST_STATIC_CHECKS = ["actionlint", "workflow-schema", "hadolint", "lint"]


@pytest.fixture(scope="session")
def template_v1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template as the working tree holds it, committed once per session and tagged v1.0.0."""
    return make_template_repo(tmp_path_factory.mktemp("template-v1"))


@pytest.fixture
def template(template_v1: Path, tmp_path: Path) -> Path:
    """A private clone of the template repository that a test may edit and tag."""
    return clone_template_repo(template_v1, tmp_path / "template")


@pytest.fixture(params=TYPES)
def project(request: pytest.FixtureRequest, template: Path, tmp_path: Path) -> Path:
    """The first variant of each project type, rendered at v1.0.0 and committed."""
    return render_project(template, first_variant(request.param), tmp_path / "project")


def package_dir(project: Path) -> Path:
    return project / "src" / answers(project)["package_name"]


def tracking(project: Path) -> Path:
    return package_dir(project) / "tracking.py"


def replace_line(path: Path, old: str, new: str) -> None:
    """Replace the first line equal to `old`; fail loudly when the file has no such line."""
    lines = path.read_text().splitlines(keepends=True)
    for index, line in enumerate(lines):
        if line.rstrip("\n") == old:
            lines[index] = new + "\n"
            path.write_text("".join(lines))
            return
    raise AssertionError(f"{path} has no line {old!r}: the scenario needs a new anchor line")


def first_line(path: Path) -> str:
    return path.read_text().splitlines()[0]


def assert_clean_update(project: Path) -> None:
    """No conflict, and the fast static checks of the generated CI still pass (scenario 9)."""
    assert conflicted_files(project) == []
    results = run_checks(project, select(FAST_STATIC_CHECKS))
    failures = [f"{r.id} {r.name}:\n{r.detail}" for r in results if r.failed]
    assert not failures, "after the update:\n" + "\n\n".join(failures)


def run_update_command(project: Path, **kwargs: Any) -> tuple[int, str]:
    """`ml-milestones update` through its function; (exit code, what it printed)."""
    out = io.StringIO()
    console = Console(file=out, width=200, color_system=None)
    code = update_command(project, console=console, **kwargs)
    return code, out.getvalue()


def test_template_edits_reach_every_type() -> None:
    """The partials the scenarios edit are included by every type, so every type is tested."""
    partials = {f"templates/_shared/{partial}" for partial in SHARED_STUBS.values()}
    assert {NOXFILE, README, TRACKING} <= partials


def test_template_change_to_an_untouched_file_is_applied(template: Path, project: Path) -> None:
    """Scenario 1."""
    append(template / NOXFILE, NOXFILE_ADDITION)
    append(template / README, "\nA paragraph added by template release 1.1.0.")
    git_save(template, "Release", tag=NEXT_TAG)

    status = update(project)

    assert (project / "noxfile.py").read_text().endswith(TEMPLATE_LINE + "\n")
    assert "added by template release 1.1.0" in (project / "README.md").read_text()
    assert answers(project)["_commit"] == NEXT_TAG
    assert " M noxfile.py" in status.splitlines()
    assert_clean_update(project)


def test_user_edit_and_template_edit_in_one_file_merge(template: Path, project: Path) -> None:
    """Scenario 2: the user appends a function, the template adds a line at the top."""
    module = tracking(project)
    relpath = str(module.relative_to(project))
    append(module, USER_FUNCTION.rstrip("\n"))
    git_save(project, "Add my helper")
    top = first_line(template / TRACKING)
    replace_line(template / TRACKING, top, f"{TEMPLATE_LINE}\n{top}")
    git_save(template, "Release", tag=NEXT_TAG)

    update(project)

    assert_nothing_lost(project, {relpath: USER_FUNCTION.strip("\n").splitlines()})
    text = module.read_text()
    assert text.startswith(TEMPLATE_LINE + "\n")
    assert text.endswith(USER_FUNCTION.lstrip("\n"))
    assert marker_lines(module) == []
    assert_clean_update(project)


def test_same_lines_changed_by_both_conflict_inline(template: Path, project: Path) -> None:
    """Scenario 3, through `ml-milestones update`: markers, both texts, exit code 1."""
    module = tracking(project)
    relpath = str(module.relative_to(project))
    user_line = '"""MLflow tracking, as our team set it up."""'
    template_line = '"""MLflow tracking for every run, with the template 1.1.0 defaults."""'
    original = first_line(module)
    replace_line(module, original, user_line)
    git_save(project, "Reword the tracking docstring")
    replace_line(template / TRACKING, original, template_line)
    git_save(template, "Release", tag=NEXT_TAG)

    code, printed = run_update_command(project)

    assert code == 1, printed
    assert relpath in printed and "git add" in printed and "uvx nox" in printed
    assert conflicted_files(project) == [relpath]
    assert f"UU {relpath}" in git_status(project).splitlines()
    text = module.read_text()
    assert user_line in text and template_line in text
    assert len(marker_lines(module)) == 3, marker_lines(module)
    assert_nothing_lost(project, {relpath: [user_line]})


def test_a_file_the_user_deleted_stays_deleted(template: Path, project: Path) -> None:
    """Scenario 4."""
    (project / "MODEL_CARD.md").unlink()
    git_save(project, "We keep no model card")
    release(template, {README: (template / README).read_text() + "\nRelease 1.1.0.\n"})

    status = update(project)

    assert not (project / "MODEL_CARD.md").exists()
    assert "MODEL_CARD.md" not in status
    assert_clean_update(project)


def test_a_file_the_user_added_is_untouched(template: Path, project: Path) -> None:
    """Scenario 5."""
    added = {
        "notes/ideas.md": "# Ideas\n\nTry target encoding.\n",
        str(package_dir(project).relative_to(project) / "user_features.py"): (
            '"""Features only this project needs."""\n\nSCALE = 2\n'
        ),
    }
    for relpath, text in added.items():
        (project / relpath).parent.mkdir(parents=True, exist_ok=True)
        (project / relpath).write_text(text)
    git_save(project, "My own files")
    append(template / NOXFILE, NOXFILE_ADDITION)
    git_save(template, "Release", tag=NEXT_TAG)

    status = update(project)

    for relpath, text in added.items():
        assert (project / relpath).read_text() == text
        assert relpath not in status
    assert_clean_update(project)


def test_a_new_question_is_answered_by_its_default(template: Path, project: Path) -> None:
    """Scenario 6: an update with --defaults records the new question's default."""
    append(
        template / "copier.yml",
        "\nupdate_probe:\n  type: str\n  help: A question added in 1.1.0\n  default: added-later",
    )
    git_save(template, "Release with a new question", tag=NEXT_TAG)

    update(project)

    assert answers(project)["update_probe"] == "added-later"
    assert answers(project)["_commit"] == NEXT_TAG
    assert_clean_update(project)


@pytest.mark.parametrize("project_type", TYPES)
def test_every_type_names_an_option_to_enable(project_type: str) -> None:
    """Fails (never skips) for a new type, so it must add an OPTION_TO_ENABLE entry."""
    assert project_type in OPTION_TO_ENABLE, (
        f"add {project_type!r} to OPTION_TO_ENABLE in {__file__}: the answers that switch one "
        "of its options on, and a dependency that option adds"
    )


def _dependencies(project: Path) -> list[str]:
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    return list(pyproject["project"]["dependencies"])


@pytest.mark.full
@pytest.mark.parametrize("project_type", TYPES)
def test_changing_an_answer_applies_its_effect(
    project_type: str, template: Path, tmp_path: Path
) -> None:
    """Scenario 7: `ml-milestones update --data` switches an option on; the CI still passes."""
    if project_type not in OPTION_TO_ENABLE:
        pytest.fail(f"{project_type!r} has no OPTION_TO_ENABLE entry in {__file__}")
    changes, dependency = OPTION_TO_ENABLE[project_type]
    project = render_project(template, first_variant(project_type), tmp_path / "project")
    assert not any(d.startswith(dependency) for d in _dependencies(project)), (
        f"{dependency} is there before the update: pick an option the first variant leaves off"
    )
    data = [f"{key}={str(value).lower()}" for key, value in changes.items()]

    code, printed = run_update_command(project, data=data, check=False)

    assert code == 0, printed
    assert any(d.startswith(dependency) for d in _dependencies(project)), _dependencies(project)
    for key, value in changes.items():
        assert answers(project)[key] == value
    assert conflicted_files(project) == []
    results = run_checks(project, list(ALL_CHECKS))
    failures = [f"{r.id} {r.name}:\n{r.detail}" for r in results if r.failed]
    assert not failures, "\n\n".join(failures)


def test_a_dirty_tree_is_refused_and_left_alone(template: Path, project: Path) -> None:
    """Scenario 8: the refusal names each dirty file, and not one byte changes."""
    append(template / NOXFILE, NOXFILE_ADDITION)
    git_save(template, "Release", tag=NEXT_TAG)
    append(project / "README.md", "Work in progress.")
    (project / "scratch.py").write_text("x = 1\n")
    before = snapshot(project)

    code, printed = run_update_command(project)

    assert code == 2, printed
    assert "uncommitted changes" in printed
    assert "README.md" in printed and "scratch.py" in printed
    assert snapshot(project) == before


def test_a_folder_without_answers_is_refused(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("Not generated.\n")

    code, printed = run_update_command(tmp_path)

    assert code == 2
    assert ".copier-answers.yml" in printed


def test_bad_data_is_refused_before_anything_runs(project: Path) -> None:
    before = snapshot(project)

    code, printed = run_update_command(project, data=["boosting_models"])

    assert code == 2
    assert "key=value" in printed
    assert snapshot(project) == before


def test_an_invalid_answer_is_refused_with_the_validator_message(project: Path) -> None:
    before = snapshot(project)

    code, printed = run_update_command(project, data=["project_name=Not Valid"])

    assert code == 2, printed
    assert "is not a valid project name" in printed
    assert snapshot(project) == before


def test_a_misspelt_data_key_is_reported(project: Path) -> None:
    code, printed = run_update_command(project, data=["no_such_question=1"], check=False)

    assert code == 0, printed
    assert "no_such_question" in printed and "ignored" in printed


def test_a_clean_update_runs_the_check_when_asked(template: Path, project: Path) -> None:
    append(template / NOXFILE, NOXFILE_ADDITION)
    git_save(template, "Release", tag=NEXT_TAG)
    checked: list[Path] = []

    def fake_check(path: Path) -> int:
        checked.append(path)
        return 0

    code, printed = run_update_command(project, check=True, run_check=fake_check)

    assert code == 0, printed
    assert checked == [project]
    assert "Updated cleanly" in printed


def test_a_clean_update_on_a_terminal_offers_the_check(
    template: Path, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    append(template / NOXFILE, NOXFILE_ADDITION)
    git_save(template, "Release", tag=NEXT_TAG)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    questions: list[str] = []

    def decline(question: str) -> bool:
        questions.append(question)
        return False

    code, printed = run_update_command(
        project, confirm=decline, run_check=lambda path: pytest.fail("ran")
    )

    assert code == 0, printed
    assert len(questions) == 1 and f"ml-milestones check {project}" in questions[0]


def test_a_clean_update_without_a_terminal_prints_the_check(
    template: Path, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    append(template / NOXFILE, NOXFILE_ADDITION)
    git_save(template, "Release", tag=NEXT_TAG)
    monkeypatch.setattr("sys.stdin", io.StringIO())

    code, printed = run_update_command(project, run_check=lambda path: pytest.fail("ran"))

    assert code == 0, printed
    assert f"ml-milestones check {project}" in printed


def test_the_loss_check_detects_a_destructive_update(template: Path, project: Path) -> None:
    """The suite can fail: a recopy with overwrite drops the user's line, and the check sees it."""
    module = tracking(project)
    relpath = str(module.relative_to(project))
    user_line = '"""MLflow tracking, as our team set it up."""'
    replace_line(module, first_line(module), user_line)
    git_save(project, "Reword the tracking docstring")
    append(template / NOXFILE, NOXFILE_ADDITION)
    git_save(template, "Release", tag=NEXT_TAG)

    copier.run_recopy(str(project), defaults=True, overwrite=True, unsafe=False, quiet=True)

    assert lost_lines(project, {relpath: [user_line]}) == [f"{relpath}: {user_line!r}"]
    with pytest.raises(AssertionError, match="dropped lines the user wrote"):
        assert_nothing_lost(project, {relpath: [user_line]})


# --- from the last release of this repository to the working tree ---------------------------


def last_release_tag() -> str | None:
    completed = subprocess.run(
        ["git", "describe", "--tags", "--abbrev=0"],
        cwd=TEMPLATE_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    # git describe fails in a repository without tags.
    if completed.returncode != 0:
        return None
    return completed.stdout.strip() or None


@pytest.fixture
def last_release() -> Iterator[str]:
    tag = last_release_tag()
    if tag is None:
        pytest.skip(f"{TEMPLATE_ROOT} has no release tag yet: nothing to update from")
    yield tag


@pytest.mark.full
@pytest.mark.parametrize("project_type", project_types())
def test_update_from_the_last_release_passes_ci(
    project_type: str, last_release: str, tmp_path: Path
) -> None:
    """Scenario 10: a project made from the last tag, updated to the working tree, stays green."""
    variant = first_variant(project_type)
    type_folder = f"{last_release}:templates/{variant.project_type}"
    if subprocess.run(["git", "cat-file", "-e", type_folder], cwd=TEMPLATE_ROOT).returncode:
        pytest.skip(f"{variant.project_type} did not exist at {last_release}")
    project = render_project(TEMPLATE_ROOT, variant, tmp_path / variant.id, vcs_ref=last_release)

    update(project, vcs_ref="HEAD")

    assert conflicted_files(project) == []
    results = run_checks(project, list(ALL_CHECKS))
    failures = [f"{r.id} {r.name}:\n{r.detail}" for r in results if r.failed]
    assert not failures, "\n\n".join(failures)
