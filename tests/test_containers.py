"""Each project type's image really builds, starts, stays healthy and answers, under podman;
where the project ships a compose.yaml, the whole stack comes up and is probed too.

The harness is src/ml_milestones/smoke.py (podman.py, stand_ins.py, probes.py beneath it), and
compose_stack.py for compose files; it skips, with the reason, where podman cannot run (not root,
not installed, not Linux). `.ci/run` installs podman so CI runs these for real.
"""

from __future__ import annotations

import email.policy
import time
import uuid
from email.parser import BytesParser
from pathlib import Path

import jinja2
import pytest
import yaml
from typer.testing import CliRunner

from ml_milestones import compose_stack, probes, smoke, stack_probes, stand_ins
from ml_milestones.cli import app
from ml_milestones.paths import TEMPLATE_ROOT, TEMPLATES_DIR
from ml_milestones.podman import ContainerError, Podman, unavailable_reason

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
    missing = [t for t in with_compose if t not in stack_probes.STACK_PROBES]
    assert not missing, f"add a probe to stack_probes.STACK_PROBES for: {', '.join(missing)}"


def test_the_command_refuses_an_unknown_type_before_touching_podman() -> None:
    result = CliRunner().invoke(app, ["containers", "no-such-type"])
    assert result.exit_code == 2, result.output
    assert "unknown project type no-such-type; choose from:" in result.output


def compose_images(project_type: str) -> list[str]:
    """The images a type's compose file pulls (not the one it builds), rendered with Jinja."""
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE_ROOT))
    template = environment.get_template(f"templates/{project_type}/compose.yaml.jinja")
    names = {"project_name": "demo-project", "package_name": "demo_project"}
    services = yaml.safe_load(template.render(names))["services"]
    return [service["image"] for service in services.values() if "build" not in service]


@pytest.mark.parametrize(
    "project_type", [t for t in TYPES if (TEMPLATES_DIR / t / "compose.yaml.jinja").is_file()]
)
def test_every_image_a_compose_file_pulls_has_a_local_stand_in(project_type: str) -> None:
    """Offline, the stack can only come up on stand-ins: each pulled image needs one."""
    images = compose_images(project_type)
    assert images
    missing = [image for image in images if not stand_ins.has_stand_in(image)]
    assert not missing, f"add a stand-in to stand_ins._STAND_INS for: {', '.join(missing)}"


def test_the_rag_stack_runs_postgres_with_pgvector_and_mlflow_behind_a_profile() -> None:
    images = compose_images("rag")
    assert any(image.startswith("pgvector/pgvector:") for image in images)
    assert stand_ins.has_stand_in("pgvector/pgvector:0.8.5-pg18-bookworm")
    # Only pgvector's own tags: a plain postgres image has no vector extension.
    assert not stand_ins.has_stand_in("postgres:18")


def test_multipart_body_holds_each_file_in_the_field() -> None:
    files = [("a.md", b"# A\n"), ("b.pdf", bytes(range(256)))]
    body, content_type = probes.multipart_body("files", files)
    message = BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    parts = list(message.iter_parts())
    assert [part.get_param("name", header="content-disposition") for part in parts] == [
        "files",
        "files",
    ]
    assert [(part.get_filename(), part.get_payload(decode=True)) for part in parts] == files


ANSWER = {
    "answer": "Pass prompt=True to the option [1].",
    "citations": [1],
    "sources": [{"id": 1, "source": "prompts.html"}, {"id": 2, "source": "options.md"}],
    "abstained": False,
}


def test_a_cited_answer_names_the_documents_it_cites() -> None:
    assert probes.check_cited_answer(ANSWER, {"prompts.html", "options.md"}) == ["prompts.html"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"citations": [3]}, r"cites \[3\], which are not among the retrieved sources"),
        ({"citations": []}, "abstained or cited nothing"),
        ({"abstained": True}, "abstained or cited nothing"),
        ({"sources": None}, "expected JSON with `sources`"),
    ],
)
def test_an_answer_citing_what_it_did_not_retrieve_fails(
    change: dict[str, object], message: str
) -> None:
    with pytest.raises(ContainerError, match=message):
        probes.check_cited_answer({**ANSWER, **change})


def test_an_answer_citing_a_document_never_ingested_fails() -> None:
    with pytest.raises(ContainerError, match=r"never ingested: \['prompts.html'\]"):
        probes.check_cited_answer(ANSWER, {"options.md"})


@pytest.mark.full
@pytest.mark.container
@pytest.mark.xdist_group("podman")
def test_the_pgvector_stand_in_serves_vectors_with_password_authentication() -> None:
    """The stand-in does what the rag stack needs of the official image: initialises the
    database from POSTGRES_*, refuses a wrong password over TCP, and has pgvector."""
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    podman = Podman()
    image = next(image for image in compose_images("rag") if image.startswith("pgvector/"))
    stand_ins.ensure_base_image(podman, image, print)
    container = f"ml-milestones-pgvector-{uuid.uuid4().hex[:8]}"
    password = uuid.uuid4().hex

    def psql(secret: str, statement: str) -> str:
        completed = podman.run(
            "exec", "--env", f"PGPASSWORD={secret}", container, "psql", "--host", "127.0.0.1",
            "--username", "app", "--dbname", "docs", "--tuples-only", "--no-align",
            "--command", statement, check=False,
        )  # fmt: skip
        return completed.stdout.strip()

    podman.run(
        "run", "--detach", "--name", container, "--env", "POSTGRES_USER=app",
        "--env", f"POSTGRES_PASSWORD={password}", "--env", "POSTGRES_DB=docs", image,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while podman.run(
            "exec", container, "pg_isready", "--host", "127.0.0.1", check=False
        ).returncode:
            assert time.monotonic() < deadline, podman.logs(container)
            time.sleep(0.5)
        assert psql(password, "CREATE EXTENSION vector") == "CREATE EXTENSION"
        assert psql(password, "SELECT '[1,2,3]'::vector <=> '[1,2,3]'") == "0"
        assert "password authentication failed" in psql("wrong", "SELECT 1")
        assert "initialised /var/lib/postgresql/18/docker" in podman.logs(container)
    finally:
        podman.run("rm", "--force", "--volumes", container, check=False)
