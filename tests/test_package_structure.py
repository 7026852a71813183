"""The generator's package stays in small modules by role, with no import cycle among them.

Imports are read statically, function-level ones included: an import deferred into a function
to dodge a cycle is still a cycle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import ml_milestones

PACKAGE = Path(ml_milestones.__file__).parent
MODULES = sorted(path.stem for path in PACKAGE.glob("*.py") if path.stem != "__init__")
MAX_LINES = 400


def package_imports(module: str) -> set[str]:
    """The package's modules that `module` imports, anywhere in its body."""
    found: set[str] = set()
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            absolute = node.level == 0 and (node.module or "").startswith("ml_milestones")
            if node.level == 1 or absolute:
                base = (node.module or "").removeprefix("ml_milestones").lstrip(".")
                # `from . import a, b` and `from ml_milestones import a` name modules;
                # `from .a import x` names module a.
                names = [alias.name for alias in node.names] if not base else [base]
                found.update(name.split(".")[0] for name in names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("ml_milestones."):
                    found.add(alias.name.split(".")[1])
    return found & set(MODULES)


def test_no_module_imports_itself_back() -> None:
    graph = {module: package_imports(module) for module in MODULES}
    cycles: list[str] = []

    def visit(module: str, path: tuple[str, ...], done: set[str]) -> None:
        if module in path:
            cycles.append(" -> ".join((*path[path.index(module) :], module)))
            return
        if module in done:
            return
        for imported in sorted(graph[module]):
            visit(imported, (*path, module), done)
        done.add(module)

    done: set[str] = set()
    for module in MODULES:
        visit(module, (), done)
    assert not cycles, f"import cycles in ml_milestones: {cycles}"


def test_the_graph_reader_sees_relative_imports() -> None:
    # Guards the test above against passing because it reads nothing.
    assert {"podman", "probes", "stand_ins"} <= package_imports("compose_stack")
    assert "compose_stack" in package_imports("smoke")


@pytest.mark.parametrize("module", MODULES)
def test_module_is_small_and_says_its_role(module: str) -> None:
    source = (PACKAGE / f"{module}.py").read_text()
    lines = len(source.splitlines())
    assert lines <= MAX_LINES, f"{module}.py has {lines} lines; split it by role"
    assert ast.get_docstring(ast.parse(source)), f"{module}.py: start with a docstring, its role"


def test_every_module_imports_first_in_a_fresh_interpreter() -> None:
    """Each module imported alone, first: an import order that only works one way fails here."""
    script = (
        "import importlib, sys\n"
        "for name in sys.argv[1:]:\n"
        "    for loaded in [m for m in sys.modules if m.startswith('ml_milestones')]:\n"
        "        del sys.modules[loaded]\n"
        "    importlib.import_module('ml_milestones.' + name)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script, *MODULES], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr
