"""Render a variant with Copier's API, the way a user's `copier copy` does."""

from __future__ import annotations

from pathlib import Path

import copier
import yaml

from .paths import TEMPLATE_ROOT
from .variants import Variant


def render(
    variant: Variant,
    destination: Path,
    *,
    template: Path = TEMPLATE_ROOT,
    vcs_ref: str | None = "HEAD",
) -> Path:
    """Render `variant` into `destination` and return it.

    The template path is made absolute because Copier records it for later updates. `vcs_ref="HEAD"`
    renders the working tree, uncommitted changes included, so a change is tested before it is
    committed. `unsafe=False` proves the template needs no --trust.
    """
    copier.run_copy(
        str(template.resolve()),
        str(destination),
        data=variant.data(),
        defaults=True,
        unsafe=False,
        vcs_ref=vcs_ref,
        quiet=True,
    )
    return destination


def project_name(project: Path) -> str:
    """The rendered project's name, which is also its command-line tool."""
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    return str(answers["project_name"])
