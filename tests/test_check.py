"""`ml-milestones check` reports what a broken project breaks, by stable id, and fails."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ml_milestones.checks import ALL_CHECKS, select
from ml_milestones.cli import app
from ml_milestones.render import render
from ml_milestones.variants import get_variant

STATIC = ["actionlint", "workflow-schema", "zizmor", "hadolint"]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(get_variant("tabular-defaults"), tmp_path_factory.mktemp("check") / "project")


def check_json(path: Path, *checks: str) -> tuple[int, dict[str, dict[str, object]]]:
    args = ["check", str(path), "--json"] + [arg for c in checks for arg in ("--only", c)]
    result = CliRunner().invoke(app, args)
    by_name = {r["name"]: r for r in json.loads(result.stdout)}
    return result.exit_code, by_name


def test_check_ids_are_unique_and_have_rules() -> None:
    ids = [c.id for c in ALL_CHECKS]
    assert len(set(ids)) == len(ids)
    assert all(c.rule() for c in ALL_CHECKS)


def test_unknown_check_is_refused_with_the_list() -> None:
    with pytest.raises(ValueError, match="MM101"):
        select(["no-such-check"])


def test_static_checks_pass_on_a_fresh_render(project: Path) -> None:
    exit_code, results = check_json(project, *STATIC)
    assert exit_code == 0, results
    assert {r["status"] for r in results.values()} == {"pass"}


def test_broken_files_fail_their_checks(project: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    render(get_variant("tabular-defaults"), broken)
    workflow = broken / ".github" / "workflows" / "ci.yml"
    workflow.write_text(workflow.read_text().replace("runs-on: ubuntu-latest", "runs-on: 42", 1))
    dockerfile = broken / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("USER 10001:10001", "USER root"))
    exit_code, results = check_json(broken, *STATIC)
    assert exit_code == 1
    assert results["hadolint"]["status"] == "fail"
    assert "DL3002" in str(results["hadolint"]["detail"])  # last USER should not be root
    assert results["workflow-schema"]["status"] == "fail"
    assert results["zizmor"]["status"] == "fail"  # a workflow it cannot read is not audited


def test_zizmor_finds_a_template_injection(tmp_path: Path) -> None:
    broken = render(get_variant("tabular-defaults"), tmp_path / "broken")
    # A pull request's title expanded into a shell script: code injection.
    update = broken / ".github" / "workflows" / "template-update.yml"
    injected = 'echo "${{ github.event.pull_request.title }}"'
    update.write_text(update.read_text().replace('echo "$result"', injected, 1))
    exit_code, results = check_json(broken, "zizmor")
    assert exit_code == 1
    assert "template-injection" in str(results["zizmor"]["detail"])


def test_check_never_writes_into_the_project(project: Path) -> None:
    before = sorted(p.relative_to(project) for p in project.rglob("*"))
    check_json(project, "hadolint", "pre-commit")
    assert sorted(p.relative_to(project) for p in project.rglob("*")) == before


def test_check_refuses_a_folder_that_is_not_a_project(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["check", str(tmp_path)])
    assert result.exit_code == 2
    assert "pyproject.toml" in result.stdout


def test_the_site_check_reuses_the_demo_it_follows(project: Path, tmp_path: Path) -> None:
    site = next(check for check in ALL_CHECKS if check.name == "site")
    alone = site.commands(project)
    assert alone[-1][-2:] == ["-s", "site"]  # the demo, then the site, in nox
    copy = tmp_path / "after-demo"
    shutil.copytree(project, copy)
    cli = copy / ".nox" / "demo" / "bin" / "heart-disease-risk"
    cli.parent.mkdir(parents=True)
    cli.touch()
    assert site.commands(copy) == [[str(cli), "site"]]
