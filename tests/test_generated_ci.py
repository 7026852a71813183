"""Every full variant, rendered from the template's absolute path, passes its own CI.

This is the slow part of the suite: a real install, lint, typecheck, test suite and demo run of
each rendered project, plus its workflow, Dockerfile and pre-commit checks.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ml_milestones import browser
from ml_milestones.checks import ALL_CHECKS, run_checks
from ml_milestones.render import render
from ml_milestones.variants import VARIANTS, Variant

FULL = [v for v in VARIANTS if v.full]


def python_available(version: str) -> bool:
    uv = shutil.which("uv")
    return (
        uv is not None
        and subprocess.run(
            [uv, "python", "find", version], capture_output=True, check=False
        ).returncode
        == 0
    )


@pytest.mark.full
@pytest.mark.parametrize("variant", FULL, ids=[v.id for v in FULL])
def test_generated_project_passes_its_ci(variant: Variant, tmp_path: Path) -> None:
    python = str(variant.data().get("python_version", "3.11"))
    if not python_available(python):
        pytest.skip(f"Python {python} is not installed, so uv cannot build its environments")
    project = render(variant, tmp_path / variant.id)
    outputs = tmp_path / "outputs"
    results = run_checks(project, list(ALL_CHECKS), outputs=outputs)
    failures = [f"{r.id} {r.name}:\n{r.detail}" for r in results if r.failed]
    assert not failures, "\n\n".join(failures)
    assert all(r.status == "pass" for r in results), results
    if variant.project_type == "rag":
        pages_show_in_a_browser(outputs / "reports", tmp_path / "screenshots")


# The rag demo's pages, and the least number of figures a reader must see on each: the dashboard
# has quality by configuration, latency by stage and quality across runs.
RAG_PAGES = {"dashboard.html": 3, "report.html": 1}


def pages_show_in_a_browser(reports: Path, screenshots: Path) -> None:
    """The dashboard and the report the demo wrote, opened in headless Chromium: every image
    decodes, every chart takes space, the console logs no error (ml_milestones.browser)."""
    reason = browser.unavailable()
    if reason is not None:
        pytest.skip(f"the project's CI passed; its pages were not opened in a browser: {reason}")
    pages = [reports / name for name in RAG_PAGES]
    missing = [page.name for page in pages if not page.is_file()]
    assert not missing, f"the demo wrote no {missing} in reports/"
    problems = [
        problem
        for report in browser.open_pages(pages, screenshots)
        for problem in report.problems(min_figures=RAG_PAGES[report.page.name])
    ]
    assert not problems, "\n".join(problems) + f"\n(screenshots in {screenshots})"
