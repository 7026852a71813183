"""The package_name validator knows every keyword and standard-library module of this Python."""

from __future__ import annotations

import keyword
import sys

from ml_milestones.python_names import read_names


def test_names_cover_this_interpreter() -> None:
    keywords, modules = read_names()
    assert set(keyword.kwlist) | set(keyword.softkwlist) <= set(keywords)
    public = {name for name in sys.stdlib_module_names if not name.startswith("_")}
    missing = public - set(modules)
    assert not missing, f"run `python -m ml_milestones.python_names` to add {sorted(missing)}"
