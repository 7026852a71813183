"""The `ml-milestones` command: render variants, check generated projects, smoke-test images."""

from __future__ import annotations

import json
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Annotated

import typer
from copier.errors import DirtyLocalWarning
from rich.console import Console
from rich.table import Table

from . import locks
from .checks import ALL_CHECKS, CheckResult, run_checks, select
from .paths import project_types
from .podman import ContainerError, cache_dir, unavailable_reason
from .render import render
from .smoke import WORKDIR, container_variant, containerized_types, smoke_test
from .stand_ins import STAND_IN_PYTHON
from .update import update_command
from .variants import VARIANTS, get_variant

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)
console = Console()


@app.command()
def check(
    path: Annotated[
        Path, typer.Argument(help="Folder of a generated project.", exists=True, file_okay=False)
    ],
    only: Annotated[
        list[str] | None, typer.Option(help="Run only this check (id or name); repeatable.")
    ] = None,
    skip: Annotated[
        list[str] | None, typer.Option(help="Skip this check (id or name); repeatable.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print results as JSON for machines.")
    ] = False,
) -> None:
    """Tell whether a generated project passes its CI: nox sessions, workflows, Dockerfile, hooks.

    Runs in a temporary copy of the project, so nothing in PATH changes. Exits 1 on any failure.
    """
    try:
        checks = select(only, skip)
        if as_json:
            results = run_checks(path, checks)
        else:
            with console.status(f"Checking {path} ({len(checks)} checks)..."):
                results = run_checks(path, checks)
    except (ValueError, FileNotFoundError) as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from error
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in results], indent=2))
    else:
        _print_results(path, results)
    raise typer.Exit(1 if any(r.failed for r in results) else 0)


def _print_results(path: Path, results: list[CheckResult]) -> None:
    table = Table(title=f"ml-milestones check {path}")
    for column in ("id", "check", "result", "seconds"):
        table.add_column(column, justify="right" if column == "seconds" else "left")
    style = {
        "pass": "[green]pass[/green]",
        "fail": "[red]FAIL[/red]",
        "skip": "[yellow]skip[/yellow]",
    }
    for result in results:
        table.add_row(result.id, result.name, style[result.status], f"{result.seconds:.1f}")
    console.print(table)
    for result in results:
        if result.status != "pass" and result.detail:
            console.rule(f"{result.id} {result.name}: {result.status}")
            console.print(result.detail, markup=False, highlight=False, soft_wrap=True)


@app.command()
def rules() -> None:
    """List every check with its id and rule."""
    for check_ in ALL_CHECKS:
        console.print(f"[bold]{check_.id}[/bold] {check_.name}: {check_.rule()}")


@app.command()
def variants() -> None:
    """List the variant matrix: the rendered projects our tests check."""
    for variant in VARIANTS:
        console.print(f"{variant.id:30} {'full' if variant.full else 'render'}  {variant.answers}")


@app.command("render")
def render_command(
    variant_id: Annotated[str, typer.Argument(help="A variant id from `ml-milestones variants`.")],
    destination: Annotated[Path, typer.Argument(help="Empty or new folder to render into.")],
) -> None:
    """Render one variant of the matrix from this checkout (uncommitted changes included)."""
    try:
        variant = get_variant(variant_id)
    except KeyError as error:
        console.print(f"[red]error:[/red] {error.args[0]}")
        raise typer.Exit(2) from error
    render(variant, destination)
    console.print(f"Rendered {variant.id} into {destination}")


@app.command()
def lock(
    check_only: Annotated[
        bool,
        typer.Option("--check", help="Only tell whether every variant still resolves as recorded."),
    ] = False,
    exclude_newer: Annotated[
        str | None,
        typer.Option(help="Resolve from packages published before this date (default: today)."),
    ] = None,
) -> None:
    """Record the versions every generated project locks to (templates/_shared/tested_versions).

    Each project type is resolved afresh with all its options on; the record goes into every
    rendered pyproject.toml as `[tool.uv] constraint-dependencies`. `--check` renders every
    variant, locks it as a user's first `uv lock` would, and exits 1 if anything differs.
    """
    if check_only:
        stale = False
        with tempfile.TemporaryDirectory(prefix="ml-milestones-lock-") as tmp:
            for variant in locks.all_variants():
                reason = locks.unlockable_reason(variant)
                if reason is not None:
                    console.print(f"{variant.id}: skipped, {reason}", markup=False)
                    continue
                try:
                    problems = locks.check_variant(variant, Path(tmp))
                except locks.StaleRecordError as error:
                    problems = [str(error)]
                if problems:
                    stale = True
                    console.print(locks.stale_message(variant, problems), markup=False)
                else:
                    console.print(f"{variant.id}: locks to the recorded versions")
        raise typer.Exit(1 if stale else 0)
    for project_type in project_types():
        path = locks.refresh(project_type, exclude_newer)
        console.print(f"{project_type}: {len(locks.read_record(project_type).pins)} pins in {path}")


@app.command()
def update(
    path: Annotated[
        Path, typer.Argument(help="Folder of a generated project.", exists=True, file_okay=False)
    ] = Path(),
    vcs_ref: Annotated[
        str | None,
        typer.Option(
            help="Template git tag, branch or commit to update to (default: newest release tag)."
        ),
    ] = None,
    data: Annotated[
        list[str] | None,
        typer.Option("--data", "-d", help="Change an answer, as key=value; repeatable."),
    ] = None,
    check: Annotated[
        bool | None,
        typer.Option(
            "--check/--no-check",
            help="Run `ml-milestones check` after a clean update (default: ask on a terminal).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Update a generated project from its template without losing a line you wrote.

    Refuses a dirty tree or a folder without .copier-answers.yml (exit 2). Where you and the
    template changed the same lines, both versions stay between conflict markers: the files are
    listed with how to resolve them, and the command exits 1. Exits 0 on a clean update.
    """
    raise typer.Exit(update_command(path, vcs_ref=vcs_ref, data=data, check=check, console=console))


@app.command()
def containers(
    types: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="TYPES",
            help="Project types to test, of: "
            f"{', '.join(containerized_types())} (default: all of them).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Build, run and probe each project type's container image with podman, as root.

    Where the project ships a compose.yaml, the whole stack comes up and is probed too.

    Projects render into build/containers/<type>/, with their build logs beside them.

    Exits 0, saying why, where podman cannot run here; 1 when a type fails; 2 on an unknown type.
    """
    known = containerized_types()
    unknown = [t for t in types or [] if t not in known]
    if unknown:
        console.print(
            f"[red]error:[/red] unknown project type {', '.join(unknown)}; choose from: "
            f"{', '.join(known)}",
            highlight=False,
        )
        raise typer.Exit(2)
    # Rendering the working tree, uncommitted changes included, is the point here.
    warnings.filterwarnings("ignore", category=DirtyLocalWarning)
    # Progress lines carry the time, as a build can take minutes; not this file's line number.
    progress = Console(log_path=False)

    def log(message: str) -> None:
        progress.log(message, markup=False, highlight=False)

    reason = unavailable_reason()
    if reason is not None:
        console.print(f"[yellow]skipped:[/yellow] {reason}", highlight=False)
        raise typer.Exit(0)
    log(f"podman configuration and image store: {cache_dir()}")
    failed = False
    for project_type in types or known:
        console.rule(project_type)
        if container_variant(project_type) is None:
            console.print(
                f"[yellow]skipped:[/yellow] no {project_type} variant uses Python "
                f"{STAND_IN_PYTHON}, the only version a local stand-in base image provides",
                highlight=False,
            )
            continue
        workdir = WORKDIR / project_type
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        try:
            result = smoke_test(project_type, workdir, log=log)
        except ContainerError as error:
            console.print("[red]failed:[/red]", end=" ")
            console.print(str(error), markup=False, highlight=False)
            failed = True
        else:
            console.print(f"[green]ok[/green] {result.summary()}", highlight=False)
    raise typer.Exit(1 if failed else 0)
