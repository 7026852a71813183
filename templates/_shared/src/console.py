"""What every command line shares: the Typer app, the console, user errors and written files."""

import atexit
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from . import PROJECT_NAME
from .errors import UserError

console = Console()

DataOption = Annotated[
    Path | None,
    typer.Option("--data", help="CSV file to use instead of the bundled heart-disease sample."),
]


def create_app(help_text: str) -> typer.Typer:
    """The project's Typer app: help when called bare, tracebacks without local variables."""
    # A command that loaded pandas, scikit-learn or torch leaves some 200,000 objects, and the
    # interpreter's last garbage collections walk every one of them on the way out: 0.2 to
    # 0.35 s after `train`. Frozen at exit, they are skipped; the memory goes back all the same.
    atexit.register(gc.freeze)
    return typer.Typer(
        name=PROJECT_NAME,
        help=help_text,
        no_args_is_help=True,
        pretty_exceptions_show_locals=False,
    )


@contextmanager
def user_errors() -> Iterator[None]:
    """Print problems the user can fix as one message, without a traceback, and exit with 2."""
    try:
        yield
    except UserError as error:
        # soft_wrap: a long message stays one line, for the terminal (not rich) to wrap.
        console.print(f"[bold red]Error:[/] {escape(str(error))}", soft_wrap=True, highlight=False)
        raise typer.Exit(code=2) from error


def shown(path: Path) -> Path:
    """A path relative to the working directory when it lies under it, else as it is."""
    return path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path


def show_written(files: list[Path]) -> None:
    for path in files:
        console.print(f"  [green]→[/] {shown(path)}")
