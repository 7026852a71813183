"""Keep templates/_shared/python_names.jinja in step with Python's keywords and stdlib modules.

`python -m ml_milestones.python_names` adds the names of the running interpreter to the list
(names of older Pythons stay, since projects may support them). Run it under each new Python.
"""

from __future__ import annotations

import keyword
import sys
import textwrap

from jinja2 import Environment

from .paths import SHARED_DIR

NAMES_FILE = SHARED_DIR / "python_names.jinja"
HEADER = (
    "{#- Names a generated package must not take: Python keywords and standard-library modules.\n"
    "    Imported by the package_name validator in copier.yml; tests/test_python_names.py checks\n"
    "    the list covers the running interpreter (`python -m ml_milestones.python_names`). -#}\n"
)


def read_names() -> tuple[list[str], list[str]]:
    """The keywords and module names the template currently refuses."""
    module = Environment().from_string(NAMES_FILE.read_text()).module
    return list(module.python_keywords), list(module.stdlib_modules)  # type: ignore[attr-defined]


def _jinja_list(name: str, items: list[str]) -> str:
    body = textwrap.wrap(", ".join(f'"{item}"' for item in items), 96)
    lines = "\n".join(f"  {line}" for line in body)
    return f"{{%- set {name} = [\n{lines}\n] -%}}\n"


def write_names() -> None:
    keywords, modules = read_names()
    keywords = sorted(set(keywords) | set(keyword.kwlist) | set(keyword.softkwlist))
    public = {name for name in sys.stdlib_module_names if not name.startswith("_")}
    modules = sorted(set(modules) | public)
    text = (
        HEADER + _jinja_list("python_keywords", keywords) + _jinja_list("stdlib_modules", modules)
    )
    NAMES_FILE.write_text(text)


if __name__ == "__main__":
    write_names()
    print(f"wrote {NAMES_FILE}")
