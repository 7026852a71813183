"""torch from a local wheel folder, through the index name the deep-learning projects use.

A deep-learning project takes torch from an index named `pytorch` (PyTorch's CPU index) on Linux
and Windows, so that nobody downloads the multi-GB CUDA build by accident. uv lets an index given
in the environment replace a project's index of the same name (`UV_INDEX=pytorch=URL`); that is
the switch the generated README documents for CUDA builds, and the one used here, offline.

uv's find-links (`UV_FIND_LINKS`, pip's `find-links`) are not consulted for a package pinned to a
named index, and an index given in the environment must be a simple (PEP 503) index, not a flat
folder of wheels. So when a wheel folder is configured, this module writes a one-page simple index
of its torch wheels and points `pytorch` at it: the projects resolve exactly as they do against
PyTorch's own index (torch from `pytorch`, everything else from PyPI), without editing them.

`python -m ml_milestones.torch_index` prints the `export UV_INDEX=...` line to use by hand.
"""

from __future__ import annotations

import configparser
import hashlib
import html
import os
import re
import tempfile
import urllib.parse
from collections.abc import Mapping
from pathlib import Path

INDEX_NAME = "pytorch"
_WHEEL = re.compile(r"^torch-[^-]+-.+\.whl$")


# pip's configuration files, most specific last (pip's own order of precedence, reversed).
def _pip_config_files(environ: Mapping[str, str]) -> list[Path]:
    home = Path(environ.get("HOME", str(Path.home())))
    files = [Path("/etc/xdg/pip/pip.conf"), Path("/etc/pip.conf"), home / ".pip" / "pip.conf"]
    files.append(home / ".config" / "pip" / "pip.conf")
    if environ.get("PIP_CONFIG_FILE"):
        files.append(Path(environ["PIP_CONFIG_FILE"]))
    return files


def pip_config_find_links(environ: Mapping[str, str]) -> str:
    """`find-links` from pip's configuration files (`[global]` or `[install]`), or ''."""
    found = ""
    for path in _pip_config_files(environ):
        parser = configparser.ConfigParser()
        try:
            parser.read(path)
        except configparser.Error:
            continue
        for section in ("global", "install"):
            found = parser.get(section, "find-links", fallback=found)
    return found


def wheel_folders(environ: Mapping[str, str]) -> list[Path]:
    """The local wheel folders configured for uv, else for pip: `UV_FIND_LINKS`, then
    `PIP_FIND_LINKS`, then pip's configuration files.

    Each accepts several locations (uv separates them with commas, pip with spaces); URLs are
    left out, since only folders on this machine can be listed.
    """
    for value in (
        environ.get("UV_FIND_LINKS", ""),
        environ.get("PIP_FIND_LINKS", ""),
        pip_config_find_links(environ),
    ):
        folders = [
            Path(urllib.parse.urlparse(item).path if item.startswith("file:") else item)
            for item in re.split(r"[,\s]+", value.strip())
            if item and (item.startswith("file:") or "://" not in item)
        ]
        if folders:
            return [folder for folder in folders if folder.is_dir()]
    return []


def torch_wheels(folders: list[Path]) -> list[Path]:
    return sorted(
        path for folder in folders for path in folder.iterdir() if _WHEEL.match(path.name)
    )


def wheel_pythons(environ: Mapping[str, str]) -> set[str]:
    """The Python versions the local torch wheels are built for: `cp311` -> `3.11`."""
    found = set()
    for wheel in torch_wheels(wheel_folders(environ)):
        tag = wheel.name.split("-")[2]  # name-version-python-abi-platform.whl
        if tag.startswith("cp") and tag[2:].isdigit():
            found.add(f"{tag[2]}.{tag[3:]}")
    return found


def write_index(wheels: list[Path], root: Path) -> Path:
    """A simple index at `root` whose `torch` page links `wheels`; returns `root`."""
    links = "\n".join(
        f'<a href="{html.escape(path.resolve().as_uri())}">{html.escape(path.name)}</a><br>'
        for path in wheels
    )
    page = f"<!DOCTYPE html>\n<html><body>\n{links}\n</body></html>\n"
    target = root / "torch" / "index.html"
    if not target.exists() or target.read_text() != page:
        target.parent.mkdir(parents=True, exist_ok=True)
        # Written whole then renamed: parallel test workers never read half a page.
        partial = target.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(page)
        partial.replace(target)
    return root


def local_index_url(environ: Mapping[str, str]) -> str | None:
    """The file URL of a simple index of the configured torch wheels; None without any."""
    wheels = torch_wheels(wheel_folders(environ))
    if not wheels:
        return None
    key = hashlib.sha256("\n".join(map(str, wheels)).encode()).hexdigest()[:12]
    root = Path(tempfile.gettempdir()) / f"ml-milestones-torch-index-{key}"
    return write_index(wheels, root).resolve().as_uri()


def names_index(value: str, name: str = INDEX_NAME) -> bool:
    """Whether a `UV_INDEX` value already gives an index called `name`."""
    return any(item.startswith(f"{name}=") for item in value.split())


def uses_local_torch(value: str) -> bool:
    """Whether a `UV_INDEX` value points the `pytorch` index at a folder on this machine."""
    return any(item.startswith(f"{INDEX_NAME}=file:") for item in value.split())


def with_local_torch(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ`, plus `UV_INDEX=pytorch=<local index>` when torch wheels are configured locally
    and nobody chose the `pytorch` index already."""
    env = dict(environ)
    if names_index(env.get("UV_INDEX", "")):
        return env
    url = local_index_url(env)
    if url is not None:
        env["UV_INDEX"] = " ".join(filter(None, [f"{INDEX_NAME}={url}", env.get("UV_INDEX")]))
    return env


if __name__ == "__main__":
    found = local_index_url(os.environ)
    if found is None:
        raise SystemExit("no torch wheel in UV_FIND_LINKS or PIP_FIND_LINKS")
    print(f"export UV_INDEX={INDEX_NAME}={found}")
