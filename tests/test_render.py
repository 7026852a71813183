"""The render contract: every variant renders a complete, clean project without --trust."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name as canonical

from ml_milestones.checks import select
from ml_milestones.paths import TEMPLATE_ROOT, TEMPLATES_DIR
from ml_milestones.variants import VARIANTS, Variant

# What every generated repository holds, whatever its type.
CONTRACT_FILES = [
    ".copier-answers.yml",
    ".dockerignore",
    ".editorconfig",
    ".github/ISSUE_TEMPLATE/bug_report.yml",
    ".github/ISSUE_TEMPLATE/config.yml",
    ".github/ISSUE_TEMPLATE/feature_request.yml",
    ".github/pull_request_template.md",
    ".github/workflows/ci.yml",
    ".github/workflows/security.yml",
    ".github/workflows/template-update.yml",
    ".github/zizmor.yml",
    ".gitignore",
    ".pre-commit-config.yaml",
    "CONTRIBUTING.md",
    "Dockerfile",
    "LICENSE",
    "MODEL_CARD.md",
    "README.md",
    "noxfile.py",
    "pyproject.toml",
]
# Jinja left in a rendered file: `{{ name }}`, `{% tag`, `{# comment`. GitHub's `${{ ... }}`
# expressions and Python's `{{` escapes in f-strings are not Jinja.
UNRENDERED = re.compile(r"(?<!\$)\{\{-?\s*[\w.]+\s*(\|[^}]*)?-?\}\}|\{%-?\s*\w+|\{#")


@pytest.fixture(params=VARIANTS, ids=[v.id for v in VARIANTS])
def rendered(request: pytest.FixtureRequest, copie: Any) -> tuple[Variant, Path]:
    variant: Variant = request.param
    result = copie.copy(extra_answers=variant.data(), template_dir=TEMPLATE_ROOT)
    assert result.exception is None, result.exception
    return variant, Path(result.project_dir)


def text_files(project: Path) -> list[Path]:
    files = [p for p in project.rglob("*") if p.is_file() and ".git" not in p.parts]
    # Data, not text: sample tables and images, and the deep-learning sample's zip of images. The
    # rag sample documents are data too, kept as published (pre-commit excludes them as well).
    return [
        p
        for p in files
        if p.suffix not in {".png", ".jpg", ".csv", ".zip"}
        and "sample_data/corpus" not in p.relative_to(project).as_posix()
    ]


def test_contract_files_are_present(rendered: tuple[Variant, Path]) -> None:
    variant, project = rendered
    package = (
        project
        / "src"
        / project.joinpath(".copier-answers.yml").read_text().split("package_name: ")[1].split()[0]
    )
    missing = [f for f in CONTRACT_FILES if not (project / f).is_file()]
    assert not missing, f"{variant.id} lacks {missing}"
    for module in ("__init__.py", "cli.py", "tracking.py"):
        assert (package / module).is_file(), f"{variant.id} lacks {package.name}/{module}"
    assert list((project / "tests").glob("test_*.py")), f"{variant.id} has no tests"


def test_no_unrendered_jinja(rendered: tuple[Variant, Path]) -> None:
    _, project = rendered
    leftovers = []
    for path in text_files(project):
        assert "{{" not in str(path) and ".jinja" not in path.name, f"unrendered name {path}"
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if UNRENDERED.search(line):
                leftovers.append(f"{path.relative_to(project)}:{number}: {line.strip()}")
    assert not leftovers, "\n".join(leftovers)


def test_answers_file_records_the_answers(rendered: tuple[Variant, Path]) -> None:
    variant, project = rendered
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    # An absolute source path: a relative one breaks `copier update` once the project moves.
    assert Path(answers["_src_path"]).is_absolute()
    assert answers["_commit"]
    for question, value in variant.data().items():
        assert answers[question] == value


def test_rendered_code_is_formatted_and_lint_clean(rendered: tuple[Variant, Path]) -> None:
    _, project = rendered
    ruff = [sys.executable, "-m", "ruff"]
    for command in (["check", "--no-cache", "."], ["format", "--check", "--no-cache", "."]):
        completed = subprocess.run(
            [*ruff, *command], cwd=project, capture_output=True, text=True, check=False
        )
        assert completed.returncode == 0, completed.stdout + completed.stderr


def test_text_files_end_cleanly(rendered: tuple[Variant, Path]) -> None:
    """What end-of-file-fixer and trailing-whitespace would otherwise rewrite on first commit."""
    _, project = rendered
    problems = []
    for path in text_files(project):
        text = path.read_text()
        if text and (not text.endswith("\n") or text.endswith("\n\n")):
            problems.append(f"{path.relative_to(project)}: bad end of file")
        if any(line != line.rstrip() for line in text.splitlines()):
            problems.append(f"{path.relative_to(project)}: trailing whitespace")
    assert not problems, "\n".join(problems)


def test_workflows_grant_each_job_only_its_permissions(rendered: tuple[Variant, Path]) -> None:
    """No workflow-wide token permission, none left to GitHub's defaults, no persisted token,
    and CI runs the official zizmor action."""
    variant, project = rendered
    uses = []
    for path in sorted((project / ".github" / "workflows").glob("*.yml")):
        workflow = yaml.safe_load(path.read_text())
        assert workflow["permissions"] == {}, f"{variant.id}: {path.name}"
        for name, job in workflow["jobs"].items():
            assert "permissions" in job, f"{variant.id}: {path.name} job {name}"
            for step in job["steps"]:
                uses.append((path.name, step.get("uses", "")))
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False, f"{path.name} {name}"
    assert any(f == "ci.yml" and u.startswith("zizmorcore/zizmor-action@v") for f, u in uses)


# Seconds per variant and no install: every variant gets them, not only the full ones, so a
# Dockerfile or workflow only some answers write (Dockerfile.gpu) is checked too.
STATIC_CHECKS = select(["actionlint", "workflow-schema", "dependabot-schema", "zizmor", "hadolint"])


def test_static_checks_pass(rendered: tuple[Variant, Path]) -> None:
    """actionlint, the workflow and Dependabot schemas, zizmor and hadolint on every file."""
    variant, project = rendered
    failures = [
        f"{r.id} {r.name}:\n{r.detail}" for c in STATIC_CHECKS if (r := c.run(project)).failed
    ]
    assert not failures, f"{variant.id}:\n" + "\n\n".join(failures)
    assert len(list(project.glob("Dockerfile*"))) == 1 + bool(variant.data().get("gpu_image"))


def test_readme_lines_fit_the_editor(rendered: tuple[Variant, Path]) -> None:
    """Prose wraps at 100 columns, as .editorconfig says. A Jinja branch that drops a phrase can
    join two template lines into one long rendered line, which no hook re-wraps (mdformat keeps
    line breaks): tables and lines with a link are exempt, since they cannot break."""
    variant, project = rendered
    for name in ("README.md", "CONTRIBUTING.md"):
        long_lines = [
            f"{name}:{number}: {line}"
            for number, line in enumerate((project / name).read_text().splitlines(), 1)
            if len(line) > 100 and not line.startswith("|") and "://" not in line
        ]
        assert not long_lines, f"{variant.id}:\n" + "\n".join(long_lines)


def test_each_dependency_is_declared_once(rendered: tuple[Variant, Path]) -> None:
    """A type's block repeating a shared requirement renders a pyproject that still installs,
    so only this catches it; the reader would wonder which of the two lines is meant."""
    variant, project = rendered
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    lists = {"dependencies": pyproject["project"]["dependencies"]}
    lists |= {f"group {name}": group for name, group in pyproject["dependency-groups"].items()}
    for where, requirements in lists.items():
        # Entries that are tables ({ include-group = ... }) name a group, not a package.
        names = [canonical(Requirement(r).name) for r in requirements if isinstance(r, str)]
        repeated = sorted({name for name in names if names.count(name) > 1})
        assert not repeated, f"{variant.id}: {where} names {repeated} more than once"


def test_license_matches_the_answer(rendered: tuple[Variant, Path]) -> None:
    variant, project = rendered
    license_text = (project / "LICENSE").read_text()
    expected = {
        "MIT": "MIT License",
        "Apache-2.0": "Apache License",
        "BSD-3-Clause": "BSD 3-Clause License",
        "proprietary": "All rights reserved",
    }[variant.data().get("license", "MIT")]
    assert expected in license_text


def test_copy_needs_no_trust(tmp_path: Path) -> None:
    """pytest-copie always trusts; this copy does not, so an unsafe template feature fails here."""
    copier.run_copy(
        str(TEMPLATE_ROOT),
        str(tmp_path / "project"),
        data={"project_type": "tabular"},
        defaults=True,
        unsafe=False,
        vcs_ref="HEAD",
        quiet=True,
    )
    assert (tmp_path / "project" / "pyproject.toml").exists()


# The variants whose type ships a compose.yaml.
COMPOSE_VARIANTS = [
    v for v in VARIANTS if any((TEMPLATES_DIR / v.project_type).glob("compose.yaml*"))
]


@pytest.mark.parametrize("variant", COMPOSE_VARIANTS, ids=[v.id for v in COMPOSE_VARIANTS])
def test_compose_stays_on_loopback_and_waits_for_health(variant: Variant, copie: Any) -> None:
    result = copie.copy(extra_answers=variant.data(), template_dir=TEMPLATE_ROOT)
    assert result.exception is None, result.exception
    services = yaml.safe_load((Path(result.project_dir) / "compose.yaml").read_text())["services"]
    for name, service in services.items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
        for dependency, how in (service.get("depends_on") or {}).items():
            assert how == {"condition": "service_healthy"}, f"{name} -> {dependency}: {how}"
            # A health check of its own, or the image's HEALTHCHECK (the built one).
            assert {"healthcheck", "build"} & set(services[dependency]), dependency
        if "build" in service:
            # .env holds HOST=127.0.0.1 for local runs; in a container that would be unreachable.
            assert service["environment"]["HOST"] == "0.0.0.0"
