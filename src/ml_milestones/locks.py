"""The tested versions every generated project locks to: record them, and check they are fresh.

Why constraints and not shipped lock files: a generated project's lock depends on its answers
(name, Python version, options), so shipping locks would mean one ~0.9 MB `uv.lock` per answer
combination, re-sorted for every project name, and `copier update` would merge lock files line
by line. Instead each type has one record, `templates/_shared/tested_versions/<type>.txt`: the
exact version of every package, direct and transitive, that a universal `uv lock` of that type
with every option switched on resolves. The shared pyproject renders it into
`[tool.uv] constraint-dependencies`, so a project's first `uv lock` reproduces exactly the tested
set whatever its answers: a constraint never adds a package, it only fixes the version of one
that the project's own dependencies pull in.

Resolution is deterministic: the record states the `exclude-newer` date it was resolved at, and
the freshness check resolves with that same date, so a new upstream release never turns it red.
Only packages from the index are recorded, by version: a local build tag (`+cpu`) is dropped and
no URL or path is kept, so a record made with a local wheel still installs from any index.
"""

from __future__ import annotations

import itertools
import re
import tempfile
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from packaging.markers import Marker

from .copier_config import questions
from .paths import SHARED_DIR, project_types
from .render import render
from .tools import clean_env, run, which
from .torch_index import uses_local_torch, wheel_pythons
from .variants import VARIANTS, Variant, uses_torch

RECORDS_DIR = SHARED_DIR / "tested_versions"
REFRESH_COMMAND = "ml-milestones lock"
_EXCLUDE_NEWER = re.compile(
    r"^    # Resolved from the packages published before (?P<date>\S+)\.$", re.MULTILINE
)
_PIN = re.compile(
    r'^    "(?P<name>[A-Za-z0-9._-]+)==(?P<version>[^ ;"]+)(?: ; (?P<marker>[^"]+))?",$'
)


class StaleRecordError(RuntimeError):
    """The record no longer matches what the templates resolve to."""


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    marker: str | None = None

    def line(self) -> str:
        marker = f" ; {self.marker}" if self.marker else ""
        return f'    "{self.name}=={self.version}{marker}",'


@dataclass(frozen=True)
class Record:
    """One type's tested versions and the date the index was frozen at when they resolved."""

    exclude_newer: str
    pins: tuple[Pin, ...]

    def versions(self) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for pin in self.pins:
            found.setdefault(pin.name, set()).add(pin.version)
        return found


def record_path(project_type: str) -> Path:
    return RECORDS_DIR / f"{project_type}.txt"


def normalize(name: str) -> str:
    """PEP 503 name, as uv.lock writes it."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_record(project_type: str) -> Record:
    path = record_path(project_type)
    if not path.exists():
        raise StaleRecordError(
            f"{project_type} has no record of tested versions ({path}): run `{REFRESH_COMMAND}`"
        )
    text = path.read_text()
    date = _EXCLUDE_NEWER.search(text)
    if date is None:
        raise StaleRecordError(f"{path} lacks its resolution date: run `{REFRESH_COMMAND}`")
    pins = tuple(
        Pin(m["name"], m["version"], m["marker"])
        for line in text.splitlines()
        if (m := _PIN.match(line))
    )
    return Record(date["date"], pins)


def write_record(project_type: str, record: Record) -> Path:
    """The record is included verbatim into the TOML array `constraint-dependencies`."""
    path = record_path(project_type)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = f"    # Resolved from the packages published before {record.exclude_newer}."
    path.write_text("\n".join([header, *(pin.line() for pin in record.pins)]) + "\n")
    return path


def locked_packages(project: Path) -> list[dict[str, Any]]:
    """The packages of a project's uv.lock, the project itself (a local source) left out."""
    lock = tomllib.loads((project / "uv.lock").read_text())
    local = {"editable", "virtual", "directory"}
    return [p for p in lock.get("package", []) if not local & set(p.get("source", {}))]


def pins_from_lock(project: Path) -> tuple[Pin, ...]:
    """One pin per locked version; a package locked at two versions (a fork) keeps its markers."""
    packages = locked_packages(project)
    by_name: dict[str, list[dict[str, Any]]] = {}
    for package in packages:
        by_name.setdefault(package["name"], []).append(package)
    pins = []
    for name in sorted(by_name):
        versions = by_name[name]
        for package in versions:
            version = package["version"].split("+")[0]  # `2.13.0+cpu` is recorded as 2.13.0
            marker = None
            if len(versions) > 1:
                markers = package.get("resolution-markers", [])
                marker = " or ".join(f"({m})" for m in markers) if markers else None
                marker = simplest_marker(marker.replace('"', "'")) if marker else None
            pins.append(Pin(name, version, marker))
    return tuple(pins)


# The environments a fork's marker is compared on: every Python a project may target, on each
# platform uv resolves for. Two markers that agree on all of them say the same thing here.
_PYTHONS = ("3.11.0", "3.12.0", "3.13.0", "3.14.0", "3.15.0")
_PLATFORMS = (
    ("linux", "x86_64"),
    ("linux", "aarch64"),
    ("darwin", "x86_64"),
    ("darwin", "arm64"),
    ("win32", "AMD64"),
    ("emscripten", "wasm32"),
)
_INTEL_MAC = "platform_machine == 'x86_64' and sys_platform == 'darwin'"
_NOT_INTEL_MAC = "platform_machine != 'x86_64' or sys_platform != 'darwin'"


def _truth_table(marker: str) -> tuple[bool, ...]:
    parsed = Marker(marker)
    return tuple(
        parsed.evaluate(
            {
                "python_full_version": python,
                "python_version": python.rsplit(".", 1)[0],
                "sys_platform": platform,
                "platform_machine": machine,
            }
        )
        for python in _PYTHONS
        for platform, machine in _PLATFORMS
    )


def simplest_marker(marker: str) -> str:
    """A short marker equal to uv's fork marker on every environment above, else uv's own.

    uv writes a fork as the union of its resolution regions, several lines long; what it means
    is usually "Python below 3.12" or "Intel Macs", which a reader of pyproject.toml can check.
    """
    bounds = [None, *_PYTHONS[1:], None]
    pythons = []
    for low, high in itertools.combinations(bounds, 2):
        parts = [f"python_full_version >= '{low[:-2]}'" if low else "", ""]
        parts[1] = f"python_full_version < '{high[:-2]}'" if high else ""
        pythons.append(" and ".join(p for p in parts if p))
    platforms = ["", _INTEL_MAC, f"({_NOT_INTEL_MAC})", "sys_platform == 'win32'"]
    platforms.append("sys_platform != 'win32'")
    wanted = _truth_table(marker)
    for python, platform in itertools.product(pythons, platforms):
        candidate = " and ".join(p for p in (python, platform) if p)
        if candidate and _truth_table(candidate) == wanted:
            return candidate
    return marker


def uv_lock(project: Path, exclude_newer: str, *extra: str) -> None:
    command = [which("uv"), "lock", "--exclude-newer", exclude_newer, *local_torch_options()]
    completed = run([*command, *extra], project, timeout=600)
    if completed.returncode != 0:
        raise StaleRecordError(
            f"`uv lock` failed in {project}: the template's dependencies no longer resolve "
            f"with the recorded versions. Run `{REFRESH_COMMAND}` to refresh them.\n"
            f"{completed.stdout[-3000:]}"
        )


def local_torch_options() -> list[str]:
    """Offline, torch comes from a simple index of local wheels (torch_index.py), which has no
    upload dates: the date cut-off would hide them. The local folder itself is the cut-off."""
    if not uses_local_torch(clean_env().get("UV_INDEX", "")):
        return []
    return ["--exclude-newer-package", "torch=false"]


def union_variant(project_type: str) -> Variant:
    """The type with every yes/no option switched on: every package any answer can need."""
    options = {
        name: True
        for name, question in questions().items()
        if question.get("type") == "bool" and f"'{project_type}'" in str(question.get("when", ""))
    }
    return Variant(project_type, "all-dependencies", options, full=False)


_CONSTRAINTS_TABLE = re.compile(
    r"^constraint-dependencies = \[\n.*?^\]\n", re.MULTILINE | re.DOTALL
)


def drop_constraints(project: Path) -> None:
    """Empty a rendered project's recorded constraints, so `uv lock` resolves afresh."""
    pyproject = project / "pyproject.toml"
    text = _CONSTRAINTS_TABLE.sub("constraint-dependencies = []\n", pyproject.read_text())
    pyproject.write_text(text)


def refresh(project_type: str, exclude_newer: str | None = None) -> Path:
    """Resolve the type afresh (no recorded constraints) and write its record."""
    date = exclude_newer or datetime.now(UTC).strftime("%Y-%m-%dT00:00:00Z")
    with tempfile.TemporaryDirectory(prefix="ml-milestones-lock-") as tmp:
        project = render(union_variant(project_type), Path(tmp) / "project")
        drop_constraints(project)
        uv_lock(project, date)
        return write_record(project_type, Record(date, pins_from_lock(project)))


def unlockable_reason(variant: Variant) -> str | None:
    """Why `variant` cannot be locked on this machine, or None.

    Offline, torch comes from local wheels (torch_index.py), built for some Pythons only (3.11
    here): a project that requires another Python finds no torch it could install, and uv refuses
    the lock. Its versions are still the record's: that universal lock covers every Python the
    type supports, 3.12 and 3.13 included.
    """
    env = clean_env()
    if not uses_local_torch(env.get("UV_INDEX", "")):
        return None
    if not uses_torch(variant) or "torch" not in read_record(variant.project_type).versions():
        return None
    python = str(variant.data().get("python_version", questions()["python_version"]["default"]))
    pythons = wheel_pythons(env)
    if python in pythons:
        return None
    return (
        f"{variant.id} requires Python {python}, and the local torch wheels are for Python "
        f"{', '.join(sorted(pythons))} only: uv cannot lock it here (its versions are the "
        "record's universal lock, which covers every Python)"
    )


def check_variant(variant: Variant, workdir: Path) -> list[str]:
    """Render the variant, lock it as a user's first `uv lock` would, and list every difference."""
    record = read_record(variant.project_type)
    project = render(variant, workdir / variant.id)
    uv_lock(project, record.exclude_newer)
    recorded = record.versions()
    problems = []
    for pin in pins_from_lock(project):
        wanted = recorded.get(pin.name)
        if wanted is None:
            problems.append(f"{pin.name} {pin.version} is locked but not recorded")
        elif pin.version not in wanted:
            problems.append(f"{pin.name} locked at {pin.version}, recorded {sorted(wanted)}")
    return problems


def stale_message(variant: Variant, problems: list[str]) -> str:
    return (
        f"{variant.id}: the tested versions in {record_path(variant.project_type)} are stale "
        f"({len(problems)} differences); run `{REFRESH_COMMAND}` and commit the record.\n  "
        + "\n  ".join(problems)
    )


def all_variants() -> list[Variant]:
    return [*VARIANTS, *(union_variant(t) for t in project_types())]
