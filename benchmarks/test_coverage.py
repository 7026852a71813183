"""Compare two collections of test ids: which test ran on which variants, before and after.

    pytest --collect-only -q | grep :: > after.txt   (and the same at the older commit)
    python benchmarks/test_coverage.py before.txt after.txt "7c08e6a" "this change"

Writes a Markdown table to stdout: one row per test function, its parameters (variants, types,
scenarios) before and after, and whether any parameter was lost. A restructure of the suite
must show no loss, or say where the lost case is now covered.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

_ID = re.compile(r"^(?P<function>[^\[]+)(?:\[(?P<param>.*)\])?$")


def parametrizations(path: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for line in path.read_text().splitlines():
        match = _ID.match(line.strip())
        if match:
            found.setdefault(match["function"], set()).add(match["param"] or "·")
    return found


def main(before_file: str, after_file: str, before_name: str, after_name: str) -> None:
    before, after = parametrizations(Path(before_file)), parametrizations(Path(after_file))
    print(f"| test | {before_name} | {after_name} | lost |")
    print("| --- | --- | --- | --- |")
    for function in sorted(before.keys() | after.keys()):
        old, new = before.get(function, set()), after.get(function, set())
        lost = ", ".join(sorted(old - new)) if function in after else "moved or removed"
        print(
            f"| `{function}` | {', '.join(sorted(old)) or '—'} | {', '.join(sorted(new)) or '—'}"
            f" | {lost or ''} |"
        )
    total_before = sum(len(v) for v in before.values())
    total_after = sum(len(v) for v in after.values())
    print(f"\n{total_before} test ids before, {total_after} after.")


if __name__ == "__main__":
    main(*sys.argv[1:5])
