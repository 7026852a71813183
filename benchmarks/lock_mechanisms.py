"""Measure the two ways a generated project can start from the tested versions, for the README.

1. constraints: one record per type, rendered into `[tool.uv] constraint-dependencies` (what
   the template does);
2. per-variant locks: a `uv.lock` shipped for every answer combination that changes the lock.

For each: the template repository's packed size, `copier copy` and `copier update` times (the
update moves every locked version, as a release that refreshes the record does), and the lines
the update changes in the project. Run: `uv run python benchmarks/lock_mechanisms.py`; it writes
benchmarks/lock_mechanisms.md.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from statistics import median

from ml_milestones import locks
from ml_milestones.bench import timed
from ml_milestones.git_repos import NEXT_TAG, git, make_template_repo, release, render_project
from ml_milestones.git_repos import update as copier_update
from ml_milestones.paths import TEMPLATE_ROOT
from ml_milestones.render import render
from ml_milestones.variants import get_variant

OUT = TEMPLATE_ROOT / "benchmarks" / "lock_mechanisms.md"
OLD, NEW = "2026-11-20T00:00:00Z", "2026-11-27T00:00:00Z"
# Answer combinations that change a lock: tabular boosting x shap x 3 Pythons, service
# fast_event_loop x 3 Pythons. The project name changes it too, which no shipped file can cover.
COMBINATIONS = 12 + 6
REPEATS = 3


def lock_text(variant_id: str, date: str, workdir: Path) -> str:
    project = render(get_variant(variant_id), workdir / f"{variant_id}-{date[:10]}")
    locks.drop_constraints(project)
    locks.uv_lock(project, date)
    return (project / "uv.lock").read_text()


def record_text(project_type: str, date: str, workdir: Path) -> str:
    project = render(locks.union_variant(project_type), workdir / f"union-{date[:10]}")
    locks.drop_constraints(project)
    locks.uv_lock(project, date)
    pins = locks.pins_from_lock(project)
    header = f"    # Resolved from the packages published before {date}."
    return "\n".join([header, *(pin.line() for pin in pins)]) + "\n"


def packed_size(repo: Path) -> int:
    git(repo, "gc", "--quiet", "--aggressive")
    stats = dict(
        line.split(": ") for line in git(repo, "count-objects", "-v").splitlines() if ": " in line
    )
    return int(stats["size-pack"]) * 1024


def measure(kind: str, files_at: dict[str, dict[str, str]], workdir: Path) -> dict[str, str]:
    """files_at: the template files this mechanism adds, at the old and at the new release."""
    template = make_template_repo(workdir / f"template-{kind}")
    release(template, files_at["old"], tag="v1.0.1")
    release(template, files_at["new"], tag=NEXT_TAG)
    size = packed_size(template)
    variant = get_variant("tabular-defaults")
    copies = [
        timed(lambda i=i: render_project(template, variant, workdir / f"{kind}-c{i}", "v1.0.1"))
        for i in range(REPEATS)
    ]
    project = workdir / f"{kind}-c0"
    updates, changed = [], ""
    for _ in range(REPEATS):
        updates.append(timed(lambda: copier_update(project, vcs_ref=NEXT_TAG)))
        changed = git(project, "diff", "--shortstat").strip()
        git(project, "reset", "--hard", "--quiet")
        git(project, "clean", "-fdq")
    return {
        "mechanism": kind,
        "template repo (packed)": f"{size / 1e6:.1f} MB",
        "copier copy": f"{median(copies):.2f} s",
        "copier update": f"{median(updates):.2f} s",
        "update changes": changed or "nothing",
    }


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="lock-mechanisms-") as tmp:
        workdir = Path(tmp)
        record = "templates/_shared/tested_versions/tabular.txt"
        constraints = {
            "old": {record: record_text("tabular", OLD, workdir)},
            "new": {record: record_text("tabular", NEW, workdir)},
        }
        old_lock, new_lock = (lock_text("tabular-defaults", d, workdir) for d in (OLD, NEW))

        def shipped(lock: str) -> dict[str, str]:
            # One lock per combination (their contents differ little, as real ones would), and
            # the tabular folder's uv.lock rendering the one for the default answers.
            files = {
                f"templates/_shared/locks/combination-{i}.lock": lock.replace(
                    'name = "heart-disease-risk"', f'name = "heart-disease-risk-{i}"'
                )
                for i in range(COMBINATIONS)
            }
            files["templates/tabular/uv.lock.jinja"] = "{% raw %}" + lock + "{% endraw %}"
            return files

        per_variant = {"old": shipped(old_lock), "new": shipped(new_lock)}
        rows = [
            measure("constraints", constraints, workdir),
            measure("per-variant locks", per_variant, workdir),
        ]
    columns = list(rows[0])
    lines = [
        "# Tested versions: constraints against shipped locks",
        "",
        f"Written by `benchmarks/lock_mechanisms.py` (tabular-defaults; median of {REPEATS}; the",
        f"update moves every version from a {OLD[:10]} resolution to a {NEW[:10]} one).",
        "",
        "| " + " | ".join(columns) + " |",
        "| " + " | ".join("---" for _ in columns) + " |",
        *("| " + " | ".join(row[c] for c in columns) + " |" for row in rows),
        "",
    ]
    OUT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
