"""The container smoke test: render a project type, build its image, probe it, remove it.

Used by tests/test_containers.py and `ml-milestones containers` (`nox -s containers`). Base
images come from stand_ins.py, the probe from probes.py; projects that ship a compose.yaml are
then brought up whole by compose_stack.py and probed by stack_probes.py. Project images and
containers are never kept.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from . import compose_stack, process
from .copier_config import questions
from .paths import TEMPLATE_ROOT, TEMPLATES_DIR, project_types
from .podman import ContainerError, Log, Podman
from .probes import BEFORE_BUILD, Running, probe_for
from .process import tail
from .render import render
from .stack_probes import stack_probe_for
from .stand_ins import STAND_IN_PYTHON, base_images, ensure_base_image
from .tools import clean_env, which
from .torch_index import uses_local_torch, wheel_folders
from .variants import VARIANTS, Variant

# Where `ml-milestones containers` renders projects and leaves their build logs.
WORKDIR = TEMPLATE_ROOT / "build" / "containers"


def containerized_types() -> list[str]:
    """Project types whose template ships a Dockerfile."""
    return [t for t in project_types() if any((TEMPLATES_DIR / t).glob("*Dockerfile*"))]


def _python_version(variant: Variant) -> str:
    return str(variant.answers.get("python_version", questions()["python_version"]["default"]))


def container_variant(project_type: str) -> Variant | None:
    """The first variant of `project_type` on Python 3.11, the version a stand-in can provide."""
    return next(
        (
            v
            for v in VARIANTS
            if v.project_type == project_type and _python_version(v) == STAND_IN_PYTHON
        ),
        None,
    )


@dataclass
class SmokeResult:
    """What one image's smoke test did and how long it took."""

    variant: str
    base_images: dict[str, str] = field(default_factory=dict)
    build_seconds: float = 0.0
    probe_seconds: float = 0.0
    compose_seconds: float | None = None
    image_bytes: int = 0

    def summary(self) -> str:
        bases = ", ".join(f"{name}: {how}" for name, how in self.base_images.items())
        stack = "" if self.compose_seconds is None else f", compose {self.compose_seconds:.0f} s"
        return (
            f"{self.variant}: build {self.build_seconds:.0f} s, probe {self.probe_seconds:.0f} s"
            f"{stack}, image {self.image_bytes / 1e6:.0f} MB; base images: {bases}"
        )


def local_torch_options() -> list[str]:
    """Offline, a deep-learning image's torch comes from the local wheel folder, as the project's
    own sessions get it (torch_index.py): the build sees that folder and the index of it, read
    only, and gets the same `UV_INDEX` through the Dockerfile's `ARG UV_INDEX` (without it,
    `uv sync --locked` would find uv.lock stale)."""
    value = clean_env().get("UV_INDEX", "")
    if not uses_local_torch(value):
        return []
    folders = {
        Path(item.split("=", 1)[1].removeprefix("file://"))
        for item in value.split()
        if uses_local_torch(item)
    }
    folders |= set(wheel_folders(clean_env()))
    mounts = [arg for folder in sorted(folders) for arg in ("--volume", f"{folder}:{folder}:ro")]
    return [*mounts, "--build-arg", f"UV_INDEX={value}"]


def build_image(podman: Podman, project: Path, tag: str) -> None:
    """`podman build` of the project's Dockerfile, its whole log kept beside the project."""
    log_file = project.parent / f"{project.name}-build.log"
    completed = podman.build(
        project, tag, "--layers=false", "--force-rm", *local_torch_options(), check=False
    )
    log_file.write_text(completed.stdout)
    if completed.returncode != 0:
        raise ContainerError(
            f"building {project / 'Dockerfile'} failed (exit {completed.returncode}; whole log "
            f"in {log_file}):\n{tail(completed.stdout)}"
        )


def smoke_test(project_type: str, workdir: Path, log: Log = print) -> SmokeResult:
    """Render `project_type`, build its image, run its probe; always remove what was created."""
    probe = probe_for(project_type)
    variant = container_variant(project_type)
    if variant is None:
        raise ContainerError(
            f"no {project_type} variant uses Python {STAND_IN_PYTHON}, the only version a local "
            "stand-in base image can provide"
        )
    result = SmokeResult(variant.id)
    podman = Podman()
    project = render(variant, workdir / variant.id)
    # The Dockerfile installs from uv.lock, which a fresh project gets from its first `uv lock`
    # (or first `uvx nox`): lock as a user would before `docker build`.
    process.run(
        [which("uv"), "lock"],
        cwd=project,
        env=clean_env(),
        timeout=600,
        check=True,
        error=ContainerError,
    )
    # Then what the project's CI runs before its image build (the service's train and gate).
    for arguments in BEFORE_BUILD.get(project_type, []):
        log(f"{compose_stack.project_script(project)} {' '.join(arguments)}...")
        process.run(
            [which("uv"), "run", "--locked", compose_stack.project_script(project), *arguments],
            cwd=project,
            env=clean_env(),
            timeout=900,
            check=True,
            error=ContainerError,
        )
    dockerfile = project / "Dockerfile"
    if not dockerfile.is_file():
        raise ContainerError(f"{variant.id} rendered no Dockerfile into {project}")
    for image in base_images(dockerfile):
        result.base_images[image] = ensure_base_image(podman, image, log)
        log(f"{image}: {result.base_images[image]}")
    suffix = uuid.uuid4().hex[:8]
    tag = f"localhost/ml-milestones-smoke/{project_type}:{suffix}"
    container = f"ml-milestones-smoke-{project_type}-{suffix}"
    try:
        log(f"building {tag} from {variant.id}...")
        start = time.perf_counter()
        build_image(podman, project, tag)
        result.build_seconds = time.perf_counter() - start
        size = podman.run("image", "inspect", "--format", "{{.Size}}", tag).stdout.strip()
        result.image_bytes = int(size)
        log(f"built in {result.build_seconds:.0f} s, {result.image_bytes / 1e6:.0f} MB")
        start = time.perf_counter()
        probe(Running(podman, tag, container, log))
        result.probe_seconds = time.perf_counter() - start
        if compose_stack.has_stack(project):
            start = time.perf_counter()
            compose_stack.run_stack(
                project_type, project, tag, podman, log, stack_probe_for(project_type)
            )
            result.compose_seconds = time.perf_counter() - start
    finally:
        podman.run("rm", "--force", "--ignore", container, check=False)
        podman.run("rmi", "--force", tag, check=False)
    return result
