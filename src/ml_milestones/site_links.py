"""Dead links in a generated project's results site, checked from outside the project.

The project's own `site` command checks its links as it builds; this is a second, independent
reading of what it wrote, so a bug in the project's checker cannot hide a dead link from our CI.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.anchors: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is not None and name in {"href", "src"}:
                self.links.append(value)
            elif value is not None and name in {"id", "name"}:
                self.anchors.add(value)


def read(page: Path) -> _Page:
    parser = _Page()
    parser.feed(page.read_text(encoding="utf-8"))
    parser.close()
    return parser


def dead_links(site: Path) -> list[str]:
    """`page: link (why)` for every link or image that leads to no file or no anchor of the site."""
    site = site.resolve()
    if not (site / "index.html").is_file():
        return [f"{site}/index.html: missing (the site has no home page)"]
    pages = {page: read(page) for page in sorted(site.rglob("*.html"))}
    dead = []
    for page, parsed in pages.items():
        for link in parsed.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc:
                continue  # Other sites, mail and inline data: not the site's to check.
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            where = f"{page.relative_to(site)}: {link}"
            if not target.is_relative_to(site) or not target.is_file():
                dead.append(f"{where} (no such file)")
            elif parts.fragment and target in pages and parts.fragment not in pages[target].anchors:
                dead.append(f"{where} (no such anchor)")
    return dead
