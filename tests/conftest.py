"""Shared fixtures: the template's absolute path and a renderer that mirrors `copier copy`."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml_milestones.paths import TEMPLATE_ROOT


@pytest.fixture(scope="session")
def template_root() -> Path:
    return TEMPLATE_ROOT
