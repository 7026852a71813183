"""Checks that a generated project passes its own CI, each with a stable id a user can look up.

Each check is a small class: its docstring is the rule, its `id` never changes meaning, and
`run` returns a result. `ml-milestones check` runs them in a throwaway copy of the project, so
checking never writes into the user's folder.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

from . import process
from .git_repos import working_tree_files
from .process import tail
from .render import project_name
from .site_links import dead_links
from .tools import run, which

# Left behind by earlier runs; never part of what CI would see in a fresh clone.
_LOCAL_STATE = (
    ".git",
    ".nox",
    ".venv",
    "__pycache__",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    "mlruns",
    "mlflow.db",
)


@dataclass(frozen=True)
class CheckResult:
    """What one check found."""

    id: str
    name: str
    status: str  # "pass", "fail" or "skip"
    seconds: float
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "fail"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class Check:
    """Base class: subclasses set `id` and `name`, write the rule as their docstring, and `run`."""

    id: ClassVar[str]
    name: ClassVar[str]

    @classmethod
    def rule(cls) -> str:
        return " ".join((cls.__doc__ or "").split())

    def applies(self, project: Path) -> str | None:
        """None when the check applies to `project`, else the reason it is skipped."""
        return None

    def commands(self, project: Path) -> list[list[str]]:
        raise NotImplementedError

    def run(self, project: Path) -> CheckResult:
        start = time.perf_counter()
        reason = self.applies(project)
        if reason is not None:
            return CheckResult(self.id, self.name, "skip", 0.0, reason)
        outputs = []
        for command in self.commands(project):
            completed = run(command, project)
            outputs.append(completed.stdout)
            if completed.returncode != 0:
                return CheckResult(
                    self.id,
                    self.name,
                    "fail",
                    time.perf_counter() - start,
                    tail("".join(outputs))
                    + f"\n(`{' '.join(command)}` exited {completed.returncode})",
                )
        return self.verify(project, time.perf_counter() - start)

    def verify(self, project: Path, seconds: float) -> CheckResult:
        """Hook for checks that must also inspect the project after their commands passed."""
        return CheckResult(self.id, self.name, "pass", seconds)


class Lock(Check):
    """`uv.lock` matches pyproject.toml (`uv lock --check`); a project without one gets it created
    from its tested versions first, as its first `uvx nox` does."""

    id, name = "MM100", "lock"

    def commands(self, project: Path) -> list[list[str]]:
        if (project / "uv.lock").exists():
            return [[which("uv"), "lock", "--check"]]
        return [[which("uv"), "lock"]]


class NoxSession(Check):
    session: ClassVar[str]

    def commands(self, project: Path) -> list[list[str]]:
        nox = [sys.executable, "-m", "nox", "--non-interactive", "-s", self.session]
        # A project's nox sessions install from uv.lock and, under CI, refuse to create it: a
        # check run alone (`--only lint`) locks first, as the project's first local run does.
        if not (project / "uv.lock").exists():
            return [[which("uv"), "lock"], nox]
        return [nox]


class Lint(NoxSession):
    """`nox -s lint` passes: ruff reports no lint error and no file it would reformat."""

    id, name, session = "MM101", "lint", "lint"


class Typecheck(NoxSession):
    """`nox -s typecheck` passes: mypy in strict mode finds no type error."""

    id, name, session = "MM102", "typecheck", "typecheck"


class Tests(NoxSession):
    """`nox -s tests` passes: the project's own test suite is green on the bundled data."""

    id, name, session = "MM103", "tests", "tests"


class Demo(NoxSession):
    """`nox -s demo` passes: the main job runs end to end on the bundled data."""

    id, name, session = "MM104", "demo", "demo"


class ResultsSite(NoxSession):
    """`nox -s site` passes, and the results site it builds in `site/` (README, reports, model
    card, figures) has a home page and no link or image that leads to nothing."""

    id, name, session = "MM105", "site", "site"

    def commands(self, project: Path) -> list[list[str]]:
        # `nox -s site` is the demo, then the project's `site` command. Where MM104 has just run
        # the demo in this workspace, only the second half runs, in the demo's own environment:
        # training twice would double the slowest check and test nothing more.
        demo_env = project / ".nox" / "demo"
        cli = demo_env / ("Scripts" if sys.platform == "win32" else "bin") / project_name(project)
        if cli.exists() or cli.with_suffix(".exe").exists():
            return [[str(cli), "site"]]
        return super().commands(project)

    def verify(self, project: Path, seconds: float) -> CheckResult:
        dead = dead_links(project / "site")
        if dead:
            return CheckResult(self.id, self.name, "fail", seconds, "\n".join(dead))
        return CheckResult(self.id, self.name, "pass", seconds)


def _workflows(project: Path) -> list[str]:
    folder = project / ".github" / "workflows"
    return (
        sorted(str(p.relative_to(project)) for p in folder.glob("*.y*ml"))
        if folder.is_dir()
        else []
    )


class Actionlint(Check):
    """Every GitHub Actions workflow passes actionlint: syntax, expressions, inputs, shell."""

    id, name = "MM201", "actionlint"

    def applies(self, project: Path) -> str | None:
        return None if _workflows(project) else "no workflows in .github/workflows"

    def commands(self, project: Path) -> list[list[str]]:
        return [[which("actionlint"), *_workflows(project)]]


class WorkflowSchema(Check):
    """Every GitHub Actions workflow validates against the published workflow JSON schema."""

    id, name = "MM202", "workflow-schema"

    def applies(self, project: Path) -> str | None:
        return None if _workflows(project) else "no workflows in .github/workflows"

    def commands(self, project: Path) -> list[list[str]]:
        schema = ["--builtin-schema", "vendor.github-workflows"]
        return [[which("check-jsonschema"), *schema, *_workflows(project)]]


class DependabotSchema(Check):
    """`.github/dependabot.yml` validates against the published Dependabot JSON schema."""

    id, name = "MM203", "dependabot-schema"

    def applies(self, project: Path) -> str | None:
        return None if (project / ".github" / "dependabot.yml").exists() else "no dependabot.yml"

    def commands(self, project: Path) -> list[list[str]]:
        schema = ["--builtin-schema", "vendor.dependabot"]
        return [[which("check-jsonschema"), *schema, ".github/dependabot.yml"]]


class Zizmor(Check):
    """`.github` passes zizmor's offline security audits: no template injection, no broad token
    permission, no persisted credential, actions pinned as `.github/zizmor.yml` requires."""

    id, name = "MM204", "zizmor"

    def applies(self, project: Path) -> str | None:
        return None if (project / ".github").is_dir() else "no .github folder"

    def commands(self, project: Path) -> list[list[str]]:
        # A file zizmor cannot parse is an error, not a file silently left unaudited.
        return [[which("zizmor"), "--offline", "--no-progress", "--strict-collection", ".github"]]


class Hadolint(Check):
    """Every Dockerfile passes hadolint with no finding, info level included."""

    id, name = "MM301", "hadolint"

    def applies(self, project: Path) -> str | None:
        return None if list(project.glob("Dockerfile*")) else "no Dockerfile"

    def commands(self, project: Path) -> list[list[str]]:
        files = sorted(p.name for p in project.glob("Dockerfile*"))
        return [[which("hadolint"), *files]]


class PreCommit(Check):
    """`pre-commit run --all-files` passes and changes no file: the project is committed clean."""

    id, name = "MM401", "pre-commit"

    def applies(self, project: Path) -> str | None:
        return (
            None if (project / ".pre-commit-config.yaml").exists() else "no .pre-commit-config.yaml"
        )

    def commands(self, project: Path) -> list[list[str]]:
        return [
            [which("pre-commit"), "run", "--all-files", "--show-diff-on-failure", "--color=never"]
        ]

    def verify(self, project: Path, seconds: float) -> CheckResult:
        changed = run(["git", "status", "--porcelain"], project).stdout.strip()
        if changed:
            return CheckResult(
                self.id, self.name, "fail", seconds, f"hooks changed files:\n{changed}"
            )
        return CheckResult(self.id, self.name, "pass", seconds)


# Fast static checks first, so a broken file fails in seconds rather than after the test suite;
# the lock before the nox sessions, which install from it.
ALL_CHECKS: tuple[Check, ...] = (
    Actionlint(),
    WorkflowSchema(),
    DependabotSchema(),
    Zizmor(),
    Hadolint(),
    PreCommit(),
    Lock(),
    Lint(),
    Typecheck(),
    Tests(),
    Demo(),
    ResultsSite(),
)


def select(only: list[str] | None = None, skip: list[str] | None = None) -> list[Check]:
    """Checks by id or name; unknown names raise with the list of valid ones."""
    known = {key for check in ALL_CHECKS for key in (check.id, check.name)}
    for key in [*(only or []), *(skip or [])]:
        if key not in known:
            names = ", ".join(f"{c.id} ({c.name})" for c in ALL_CHECKS)
            raise ValueError(f"unknown check {key!r}; choose from: {names}")

    def chosen(check: Check) -> bool:
        keys = {check.id, check.name}
        return (not only or bool(keys & set(only))) and not keys & set(skip or [])

    return [check for check in ALL_CHECKS if chosen(check)]


def _project_files(project: Path) -> list[str]:
    """The files a fresh clone would hold: git's view when it is a repository, else the tree."""
    if (project / ".git").exists():
        return working_tree_files(project)
    return [
        str(path.relative_to(project))
        for path in project.rglob("*")
        if path.is_file() and not set(path.relative_to(project).parts) & set(_LOCAL_STATE)
    ]


@contextmanager
def workspace(project: Path) -> Iterator[Path]:
    """A committed copy of `project` in a temporary folder: checks run there, never in place."""
    with tempfile.TemporaryDirectory(prefix="ml-milestones-check-") as tmp:
        copy = Path(tmp) / project.resolve().name
        for relpath in _project_files(project):
            (copy / relpath).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(project / relpath, copy / relpath)
        git = [
            "git",
            "-c",
            "user.name=ml-milestones",
            "-c",
            "user.email=check@ml-milestones.invalid",
        ]
        for command in (
            ["init", "--quiet"],
            ["add", "--all"],
            ["commit", "--quiet", "--no-verify", "-m", "check"],
        ):
            process.run([*git, *command], cwd=copy, check=True)
        yield copy


# What the demo and the site write, kept for a caller that asks (`outputs=`): the tests open the
# rag project's dashboard and report in a browser without running its demo a second time.
OUTPUT_FOLDERS = ("reports", "site")


def run_checks(
    project: Path, checks: list[Check], *, outputs: Path | None = None
) -> list[CheckResult]:
    """Run `checks` on a throwaway copy of `project`, in order; every check runs. With `outputs`,
    the copy's reports/ and site/ are copied there before the copy is removed."""
    if not (project / "pyproject.toml").exists():
        raise FileNotFoundError(
            f"{project} has no pyproject.toml: give the folder of a generated project"
        )
    with workspace(project) as copy:
        results = [check.run(copy) for check in checks]
        if outputs is not None:
            for name in OUTPUT_FOLDERS:
                if (copy / name).is_dir():
                    shutil.copytree(copy / name, outputs / name, dirs_exist_ok=True)
        return results
