"""Read copier.yml: its questions, for the tests that check every option is covered."""

from __future__ import annotations

from typing import Any

import yaml

from .paths import TEMPLATE_ROOT


def load_config() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text())
    return config


def questions() -> dict[str, dict[str, Any]]:
    """Every question by name; Copier settings (keys starting with `_`) left out."""
    return {name: q for name, q in load_config().items() if not name.startswith("_")}
