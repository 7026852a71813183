"""Each project type's image really builds, starts, stays healthy and answers, under podman;
where the project ships a compose.yaml, the whole stack comes up and is probed too.

The harness is src/ml_milestones/smoke.py (podman.py, stand_ins.py, probes.py beneath it), and
compose_stack.py for compose files; it skips, with the reason, where podman cannot run (not root,
not installed, not Linux). `.ci/run` installs podman so CI runs these for real.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ml_milestones import compose_stack, probes, smoke, stand_ins
from ml_milestones.cli import app
from ml_milestones.paths import TEMPLATES_DIR
from ml_milestones.podman import ContainerError, unavailable_reason

TYPES = smoke.containerized_types()


def test_every_type_with_a_dockerfile_has_a_probe() -> None:
    missing = [t for t in TYPES if t not in probes.PROBES]
    assert not missing, f"add a probe to probes.PROBES for: {', '.join(missing)}"


def test_base_images_are_read_from_the_dockerfile(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        "FROM python:3.11-slim-bookworm AS builder\n"
        "COPY --from=ghcr.io/astral-sh/uv:0.13.8 /uv /usr/local/bin/uv\n"
        "FROM python:3.11-slim-bookworm AS runtime\n"
        "COPY --from=builder /opt/venv /opt/venv\n"
    )
    assert stand_ins.base_images(dockerfile) == [
        "python:3.11-slim-bookworm",
        "ghcr.io/astral-sh/uv:0.13.8",
    ]
    assert stand_ins.qualified("python:3.11") == "docker.io/library/python:3.11"
    assert stand_ins.qualified("ghcr.io/astral-sh/uv:1") == "ghcr.io/astral-sh/uv:1"


@pytest.mark.full
@pytest.mark.container
# One image build at a time under pytest-xdist: they share podman's store and the stand-ins.
@pytest.mark.xdist_group("podman")
@pytest.mark.parametrize("project_type", TYPES)
def test_image_builds_runs_and_answers(project_type: str, tmp_path: Path) -> None:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    if smoke.container_variant(project_type) is None:
        pytest.skip(
            f"no {project_type} variant uses Python {stand_ins.STAND_IN_PYTHON}, the only "
            "version the local stand-in base image provides"
        )
    try:
        result = smoke.smoke_test(project_type, tmp_path)
    except ContainerError as error:
        pytest.fail(str(error), pytrace=False)
    print(result.summary())


def test_compose_services_start_after_what_they_depend_on() -> None:
    services = {
        "prometheus": {"depends_on": {"api": {"condition": "service_healthy"}}},
        "api": {"depends_on": ["mlflow"]},
        "mlflow": {},
    }
    assert compose_stack.start_order(services) == ["mlflow", "api", "prometheus"]
    services["mlflow"] = {"depends_on": ["prometheus"]}
    with pytest.raises(ContainerError, match="cycle"):
        compose_stack.start_order(services)


def test_every_type_with_a_compose_file_has_a_stack_probe() -> None:
    with_compose = [t for t in TYPES if any((TEMPLATES_DIR / t).glob("compose.yaml*"))]
    missing = [t for t in with_compose if t not in compose_stack.STACK_PROBES]
    assert not missing, f"add a probe to compose_stack.STACK_PROBES for: {', '.join(missing)}"


def test_the_command_refuses_an_unknown_type_before_touching_podman() -> None:
    result = CliRunner().invoke(app, ["containers", "no-such-type"])
    assert result.exit_code == 2, result.output
    assert "unknown project type no-such-type; choose from:" in result.output
