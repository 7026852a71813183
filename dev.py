"""Run this repository's nox sessions on a machine that has only Python 3.11+ and git.

    python3 dev.py demo     render a tabular milestone project and run its demo
    python3 dev.py test     run the test suite (what CI runs)
    python3 dev.py -- ARGS  pass ARGS straight to nox, e.g. `python3 dev.py -- -s bench`

The first run puts uv and nox into .bootstrap/ (a private virtual environment, git-ignored);
nox then builds every other environment with uv.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
BOOTSTRAP = ROOT / ".bootstrap"
# The versions uv.lock pins (tests/test_locks.py checks they agree); nox then installs every
# session from uv.lock itself.
TOOLS = ["uv==0.13.9", "nox==2026.10.20"]
COMMANDS = {"demo": ["-s", "demo"], "test": []}  # `test` runs nox's default sessions


def bootstrap() -> Path:
    """Create .bootstrap/ with uv and nox once; return its bin folder."""
    bin_dir = BOOTSTRAP / ("Scripts" if os.name == "nt" else "bin")
    marker = BOOTSTRAP / "tools.txt"
    if not marker.exists() or marker.read_text() != "\n".join(TOOLS):
        print(f"Installing {', '.join(TOOLS)} into {BOOTSTRAP.name}/ (once)...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(BOOTSTRAP)
        pip = [str(bin_dir / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, "--disable-pip-version-check", *TOOLS], check=True)
        marker.write_text("\n".join(TOOLS))
    return bin_dir


def main(argv: list[str]) -> int:
    if not argv or (argv[0] not in COMMANDS and argv[0] != "--"):
        print(__doc__)
        return 2
    nox_args = argv[1:] if argv[0] == "--" else [*COMMANDS[argv[0]], *argv[1:]]
    bin_dir = bootstrap()
    env = {**os.environ, "PATH": os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")])}
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run([str(bin_dir / "nox"), *nox_args], cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
