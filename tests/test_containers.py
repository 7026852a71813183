"""Each project type's image really builds, starts, stays healthy and answers, under podman.

The harness is src/ml_milestones/containers.py; it skips, with the reason, where podman cannot
run (not root, not installed, not Linux). `.ci/run` installs podman so CI runs these for real.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ml_milestones import containers

TYPES = containers.containerized_types()


def test_every_type_with_a_dockerfile_has_a_probe() -> None:
    missing = [t for t in TYPES if t not in containers.PROBES]
    assert not missing, f"add a probe to containers.PROBES for: {', '.join(missing)}"


def test_base_images_are_read_from_the_dockerfile(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        "FROM python:3.11-slim-bookworm AS builder\n"
        "COPY --from=ghcr.io/astral-sh/uv:0.13.8 /uv /usr/local/bin/uv\n"
        "FROM python:3.11-slim-bookworm AS runtime\n"
        "COPY --from=builder /opt/venv /opt/venv\n"
    )
    assert containers.base_images(dockerfile) == [
        "python:3.11-slim-bookworm",
        "ghcr.io/astral-sh/uv:0.13.8",
    ]
    assert containers.qualified("python:3.11") == "docker.io/library/python:3.11"
    assert containers.qualified("ghcr.io/astral-sh/uv:1") == "ghcr.io/astral-sh/uv:1"


@pytest.mark.full
@pytest.mark.container
@pytest.mark.parametrize("project_type", TYPES)
def test_image_builds_runs_and_answers(project_type: str, tmp_path: Path) -> None:
    reason = containers.unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    if containers.container_variant(project_type) is None:
        pytest.skip(
            f"no {project_type} variant uses Python {containers.STAND_IN_PYTHON}, the only "
            "version the local stand-in base image provides"
        )
    try:
        result = containers.smoke_test(project_type, tmp_path)
    except containers.ContainerError as error:
        pytest.fail(str(error), pytrace=False)
    print(result.summary())
