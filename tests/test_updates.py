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
from dataclasses import dataclass
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
    clone_with_working_tree,
    git,
    git_save,
    git_status,
    make_template_repo,
    release,
    render_project,
    update,
)
from ml_milestones.paths import project_types
from ml_milestones.releases import (
    Release,
    ReleaseHistoryError,
    is_shallow,
    releases,
    tag_releases,
    tree,
)
from ml_milestones.releases import last_release as last_release_of
from ml_milestones.shared_stubs import EXTENDED_BASES, SHARED_STUBS
from ml_milestones.update import conflicted_files, update_command

TYPES = project_types()

# Shared files every type includes or extends (see shared_stubs), so one edit reaches every type.
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


@dataclass(frozen=True)
class Adds:
    """What switching an option on adds to a project: a dependency, or a file; or, for an option
    that makes the project lighter, the dependency it drops (`without`)."""

    dependency: str | None = None
    file: str | None = None
    without: str | None = None

    def found_in(self, project: Path) -> bool:
        if self.file is not None:
            return (project / self.file).is_file()
        if self.without is not None:
            return not any(d.startswith(self.without) for d in _dependencies(project))
        return any(d.startswith(str(self.dependency)) for d in _dependencies(project))


# Per type: the answers that switch an option on at update time, and what the option adds.
# Every project type needs an entry: test_changing_an_answer_applies_its_effect fails without one.
OPTION_TO_ENABLE: dict[str, tuple[dict[str, Any], Adds]] = {
    "tabular": ({"boosting_models": True}, Adds(dependency="xgboost")),
    "service": ({"fast_event_loop": True}, Adds(dependency="uvicorn[standard]")),
    "deep-learning": ({"gpu_image": True}, Adds(file="Dockerfile.gpu")),
    # rag's only option switches torch off: lite retrieval is BM25 alone (and its check is quick).
    "rag": ({"retrieval": "lite"}, Adds(without="torch")),
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
    """The partials the scenarios edit are in every type, so every type is tested."""
    shared = [*SHARED_STUBS.values(), *EXTENDED_BASES.values()]
    partials = {f"templates/_shared/{partial}" for partial in shared}
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
    changes, adds = OPTION_TO_ENABLE[project_type]
    project = render_project(template, first_variant(project_type), tmp_path / "project")
    assert not adds.found_in(project), (
        f"{adds} is there before the update: pick an option the first variant leaves off"
    )
    data = [f"{key}={str(value).lower()}" for key, value in changes.items()]

    code, printed = run_update_command(project, data=data, check=False)

    assert code == 0, printed
    assert adds.found_in(project), f"{adds} missing after the update"
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


@dataclass(frozen=True)
class UserEdit:
    """What the user did to one generated file: a block appended, and maybe one line changed.

    The changed line is a setting's default: the user rewrites the start of the line that starts
    with `changed[0]` to `changed[1]` and leaves the rest (the constraints) as it is. `apply` is
    idempotent, so it is both the user's edit and how the test resolves a conflict the way a
    person would: take the template's side, then make the same edit on it again.
    """

    path: str  # relative to the project; {package} is the package name
    appended: str
    changed: tuple[str, str] | None = None  # (the line's start as generated, as the user has it)

    def relpath(self, project: Path) -> str:
        return self.path.format(package=answers(project)["package_name"])

    def appended_lines(self) -> list[str]:
        return [line for line in self.appended.splitlines() if line.strip()]

    def changed_line(self, text: str) -> str | None:
        """The line of `text` that holds the user's change, if it is there."""
        if self.changed is None:
            return None
        return next((line for line in text.splitlines() if line.startswith(self.changed[1])), None)

    def written(self, project: Path) -> list[str]:
        """The lines the user wrote, as they are in the project now: no update may drop them."""
        text = (project / self.relpath(project)).read_text()
        changed = self.changed_line(text)
        return self.appended_lines() + ([changed] if changed else [])

    def is_applied(self, project: Path) -> bool:
        text = (project / self.relpath(project)).read_text()
        present = set(text.splitlines())
        return set(self.appended_lines()) <= present and (
            self.changed is None or self.changed_line(text) is not None
        )

    def apply(self, project: Path) -> None:
        path = project / self.relpath(project)
        lines = path.read_text().splitlines(keepends=True)
        if self.changed and self.changed_line("".join(lines)) is None:
            old, new = self.changed
            index = next((i for i, line in enumerate(lines) if line.startswith(old)), None)
            if index is None:
                raise AssertionError(
                    f"{path} has no line starting {old!r} for the user's change: if the template "
                    "moved or renamed that setting on purpose, point SETTING_LINES at its new text "
                    "(a person resolving the conflict carries the edit over likewise)"
                )
            lines[index] = new + lines[index].removeprefix(old)
        text = "".join(lines)
        if not set(self.appended_lines()) <= set(text.splitlines()):
            text = text.rstrip("\n") + "\n" + self.appended
        path.write_text(text)


def _user_function(name: str) -> str:
    # Two blank lines before it, as ruff format wants; only builtins, so any restructure of the
    # module around it leaves it valid.
    return (
        f"\n\ndef {name}() -> str:\n"
        f'    """Written by the user after generation; no update may drop it."""\n'
        f'    return "{name}"\n'
    )


# Per type: a setting line of config.py as generated, the default the user gives it, and the
# change the conflict test makes to the rest of that line (its constraint) in the template.
SETTING_LINES: dict[str, tuple[str, str, tuple[str, str]]] = {
    "tabular": ("    min_rows: int = Field(default=100, ge=20)", "150", ("ge=20", "ge=30")),
    "service": ("    min_rows: int = Field(default=100, ge=20)", "150", ("ge=20", "ge=30")),
    "deep-learning": ("    width: int = Field(default=32, ge=4)", "48", ("ge=4", "ge=8")),
    "rag": ("    rrf_k: int = Field(default=60, ge=1)", "30", ("ge=1", "ge=2")),
}
# Per type with a shipped config file that lists every setting at its default (a generated test
# holds them equal): the same change made there, as the user must to keep their tests green.
SHIPPED_CONFIG_LINES: dict[str, tuple[str, str, str]] = {
    "deep-learning": ("configs/default.toml", "width = 32", "width = 48"),
}


def user_edits(project_type: str) -> list[UserEdit]:
    """The files issue 8 restructures, as the user edits them.

    Appending survives any restructure of the text above it; the one changed line (a setting's
    default) conflicts if the template changes that line or its neighbours, which is the only
    kind of conflict allowed.
    """
    line, default, _ = SETTING_LINES[project_type]
    start = line[: line.index("default=") + len("default=")]
    generated = line[: line.index(",", len(start)) + 1]  # up to the default's comma
    return [
        UserEdit(
            "src/{package}/config.py",
            _user_function("user_settings_note"),
            changed=(generated, f"{start}{default},"),
        ),
        UserEdit("src/{package}/cli.py", _user_function("user_cli_note")),
        UserEdit("src/{package}/paths.py", _user_function("user_exports_dir")),
        UserEdit(
            "tests/conftest.py",
            "\n\n@pytest.fixture\n"
            "def user_fixture() -> str:\n"
            '    """Written by the user after generation; no update may drop it."""\n'
            '    return "user_fixture"\n',
        ),
        *[
            UserEdit(path, "", changed=(generated_line, user_line))
            for kind, (path, generated_line, user_line) in SHIPPED_CONFIG_LINES.items()
            if kind == project_type
        ],
    ]


def project_edits(project: Path) -> list[UserEdit]:
    return user_edits(answers(project)["project_type"])


def conflict_blocks(path: Path) -> list[tuple[list[str], list[str]]]:
    """Each inline conflict of `path` as (the project's side, the template's side)."""
    blocks: list[tuple[list[str], list[str]]] = []
    side: list[str] | None = None
    ours: list[str] = []
    for line in path.read_text().splitlines():
        if line.startswith("<<<<<<< "):
            ours, side = [], []
            blocks.append((ours, side))
            side = ours
        elif line.startswith("||||||| ") and side is not None:
            side = []  # the merge base (diff3 style): neither side
        elif line.startswith("=======") and side is not None:
            side = blocks[-1][1]
        elif line.startswith(">>>>>>> "):
            side = None
        elif side is not None:
            side.append(line)
    return blocks


def take_template_side(path: Path) -> None:
    """Resolve every inline conflict of `path` with the template's side."""
    kept, side = [], "both"
    for line in path.read_text().splitlines(keepends=True):
        if line.startswith("<<<<<<< "):
            side = "project"
        elif line.startswith("||||||| ") and side != "both":
            side = "base"
        elif line.startswith("=======") and side != "both":
            side = "template"
        elif line.startswith(">>>>>>> "):
            side = "both"
        elif side in ("both", "template"):
            kept.append(line)
    path.write_text("".join(kept))


def edit_as_the_user(project: Path) -> dict[str, list[str]]:
    """Make the user's edits in `project` and commit them; return the lines written, per file."""
    edits = project_edits(project)
    for edit in edits:
        edit.apply(project)
        assert edit.is_applied(project)
    git_save(project, "The user's edits")
    return {edit.relpath(project): edit.written(project) for edit in edits}


def check_and_resolve_conflicts(project: Path, written: dict[str, list[str]]) -> list[str]:
    """After an update: nothing the user wrote is lost, and conflicts are only where they wrote.

    Every conflict must hold some of the user's lines on the project's side. Each conflicted file
    is then resolved as a person would (the template's side, the user's edit made again on it)
    and staged; every edit is then in place (the changed setting keeps the user's default, on
    whatever the template made of the rest of its line). Returns the files that had conflicts.
    """
    assert_nothing_lost(project, written)
    conflicted = conflicted_files(project)
    assert set(conflicted) <= set(written), (
        f"conflicts in files the user never edited: {conflicted}"
    )
    for relpath in conflicted:
        blocks = conflict_blocks(project / relpath)
        assert blocks, f"{relpath} is unmerged but holds no inline conflict"
        for ours, theirs in blocks:
            assert set(ours) & set(written[relpath]), (
                f"{relpath}: a conflict where the user changed nothing:\n"
                + "\n".join(["project's side:", *ours, "template's side:", *theirs])
            )
        take_template_side(project / relpath)
        edit = next(e for e in project_edits(project) if e.relpath(project) == relpath)
        edit.apply(project)
        assert marker_lines(project / relpath) == []
    if conflicted:
        git(project, "add", "--", *conflicted)
    assert conflicted_files(project) == []
    edited = [edit for edit in project_edits(project) if edit.relpath(project) in written]
    assert [edit.relpath(project) for edit in edited if not edit.is_applied(project)] == []
    return conflicted


def test_user_edits_survive_a_restructure_with_conflicts(template: Path, project: Path) -> None:
    """The checks of scenario 10, made to bite: the template changes what the user changed.

    The template changes the user's setting line and appends to config.py as the user did (two
    conflicts, both over the user's lines), and puts a line at the top of cli.py (merges).
    """
    written = edit_as_the_user(project)
    source = f"templates/{answers(project)['project_type']}/src/{{{{ package_name }}}}"
    generated, _, (constraint, new_constraint) = SETTING_LINES[answers(project)["project_type"]]
    setting = project_edits(project)[0]
    assert setting.changed and generated.startswith(setting.changed[0])
    changed = generated.replace(constraint, new_constraint)
    replace_line(template / source / "config.py.jinja", generated, changed)
    append(template / source / "config.py.jinja", '\n\nSCRATCH_DIR_NAME = "scratch"')
    top = first_line(template / source / "cli.py")
    replace_line(template / source / "cli.py", top, f"{TEMPLATE_LINE}\n{top}")
    git_save(template, "Release", tag=NEXT_TAG)

    update(project)

    conflicted = check_and_resolve_conflicts(project, written)
    package = f"src/{answers(project)['package_name']}"
    assert conflicted == [f"{package}/config.py"]
    assert (project / package / "cli.py").read_text().startswith(TEMPLATE_LINE)
    assert 'SCRATCH_DIR_NAME = "scratch"' in (project / package / "config.py").read_text()
    config = (project / package / "config.py").read_text().splitlines()
    assert setting.changed[1] + changed.removeprefix(setting.changed[0]) in config
    results = run_checks(project, select(["lint"]))
    assert not [r.detail for r in results if r.failed]


def test_conflict_blocks_are_read_and_resolved_to_the_template_side(tmp_path: Path) -> None:
    path = tmp_path / "module.py"
    path.write_text(
        "a = 1\n<<<<<<< before updating\nb = 2  # user\n=======\nb = 3\n>>>>>>> after updating\n"
        "c = 4\n<<<<<<< before updating\nd = 5\n||||||| last update\nd = 0\n=======\n"
        ">>>>>>> after updating\n"
    )

    assert conflict_blocks(path) == [(["b = 2  # user"], ["b = 3"]), (["d = 5"], [])]
    take_template_side(path)
    assert path.read_text() == "a = 1\nb = 3\nc = 4\n"


@pytest.fixture(scope="session")
def release_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone of this repository: its releases tagged from history, HEAD the working tree.

    Fresh clones have no tags, so each release is found as the commit that added its CHANGELOG
    entry (ml_milestones.releases) and tagged `vX.Y.Z` in the clone, as it is where tags are
    pushed. Rendering from that tag records `_commit: vX.Y.Z`, just as in a user's project.
    """
    repo = clone_with_working_tree(tmp_path_factory.mktemp("release-repo") / "template")
    try:
        tag_releases(repo)
    except ReleaseHistoryError as error:
        if is_shallow(repo):
            pytest.skip(str(error))
        raise
    return repo


@pytest.fixture(scope="session")
def last_release(release_repo: Path) -> Release:
    release = last_release_of(release_repo)
    if release is None:
        pytest.skip("no release is older than the tree under test: nothing to update from")
    return release


def test_the_last_release_is_older_than_the_tree_under_test(
    release_repo: Path, last_release: Release
) -> None:
    """The update goes from a release in the history to different files, never to itself."""
    head = git(release_repo, "rev-parse", "HEAD").strip()
    git(release_repo, "merge-base", "--is-ancestor", last_release.commit, head)
    assert tree(release_repo, last_release.commit) != tree(release_repo, head)
    assert git(release_repo, "rev-list", "-n", "1", last_release.tag).strip() == (
        last_release.commit
    )
    newer = [r for r in releases(release_repo) if r.version > last_release.version]
    assert all(tree(release_repo, r.commit) == tree(release_repo, head) for r in newer)


@pytest.mark.full
@pytest.mark.parametrize("project_type", project_types())
def test_update_from_the_last_release_passes_ci(
    project_type: str, release_repo: Path, last_release: Release, tmp_path: Path
) -> None:
    """Scenario 10: a project made from the last release, edited, updated to the working tree.

    The user edits the files issue 8 restructures (user_edits) and commits. After the update,
    every line the user wrote is still there, and every conflict holds some of the user's lines
    on the project's side: a conflict only where the user changed the text the template changed.
    Then the conflicts are resolved as a person would (the template's side, the user's edits made
    again on it), and the project must pass its whole CI.
    """
    variant = first_variant(project_type)
    type_folder = f"{last_release.tag}:templates/{variant.project_type}"
    if subprocess.run(["git", "cat-file", "-e", type_folder], cwd=release_repo).returncode:
        pytest.skip(f"{variant.project_type} did not exist at {last_release.tag}")
    project = render_project(release_repo, variant, tmp_path / variant.id, last_release.tag)
    assert answers(project)["_commit"] == last_release.tag
    written = edit_as_the_user(project)

    update(project, vcs_ref="HEAD")

    assert answers(project)["_commit"] != last_release.tag
    check_and_resolve_conflicts(project, written)
    results = run_checks(project, list(ALL_CHECKS))
    failures = [f"{r.id} {r.name}:\n{r.detail}" for r in results if r.failed]
    assert not failures, "\n\n".join(failures)
