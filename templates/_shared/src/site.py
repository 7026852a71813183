"""The results site: README, reports, model card and figures as static HTML for GitHub Pages.

Plain HTML written by the project's own code rather than a site generator: the reports are
already HTML or Markdown, so Python-Markdown (which the reports use) is all it takes, and there
is no generator, theme or plugin to keep up to date. The pages start from `docs/`: its
`index.md` is the home page and its `site.css` styles every page.

Links are followed from the pages: a linked Markdown file becomes a page, any other linked file
(a figure, a CSV, a source file) is copied, and a link to a file that does not exist stops the
build with the page and the link named. `broken_links` then checks the built site once more,
so what GitHub Pages publishes has no dead link or missing image.
"""

import html
import posixpath
import shutil
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit
from xml.etree.ElementTree import Element

from markdown import Markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor
from markdown.util import STX

from .errors import UserError
from .settings import ProjectPaths

DOCS_DIR = "docs"
HOME = "index.html"
STYLESHEET = "site.css"
FIGURE_SUFFIXES = (".png", ".svg", ".jpg", ".jpeg")
# Markdown features the README and the reports use; `toc` gives headings the ids that
# GitHub gives them, so in-page links such as `#tested-versions` keep working.
EXTENSIONS = ("tables", "fenced_code", "sane_lists", "toc")


class SiteError(UserError):
    """A page links to something that does not exist, or a report is missing."""


@dataclass(frozen=True)
class Page:
    """A page of the site's navigation: its title and its source file in the project."""

    title: str
    source: Path


@dataclass(frozen=True)
class Site:
    """What `build` wrote."""

    folder: Path
    pages: list[Path]
    files: list[Path]

    def summary(self) -> str:
        return (
            f"{len(self.pages)} pages and {len(self.files)} files in {self.folder}, every link "
            f"checked: open {self.folder / HOME}"
        )


def site_path(relative: PurePosixPath, root: Path) -> PurePosixPath:
    """Where a project file lands in the site: Markdown becomes HTML, docs/ becomes the top.

    `report.md` beside a `report.html` becomes `report.md.html`, so neither hides the other.
    """
    if relative.suffix == ".md":
        html_twin = relative.with_suffix(".html")
        relative = relative.with_suffix(".md.html" if (root / html_twin).exists() else ".html")
    if relative.parts[:1] == (DOCS_DIR,):
        relative = PurePosixPath(*relative.parts[1:])
    return relative


def is_external(link: str) -> bool:
    """Links the site does not own: other sites, mail, inline data, or in-page anchors."""
    parts = urlsplit(link)
    return bool(parts.scheme or parts.netloc) or link.startswith("#") or not parts.path


class _LinkRewriter(Treeprocessor):
    """Points every link and image of a Markdown page at its place in the site."""

    def __init__(self, md: Markdown, rewrite: Callable[[str], str]) -> None:
        super().__init__(md)
        self.rewrite = rewrite

    def run(self, root: Element) -> None:
        for element in root.iter():
            attribute = {"a": "href", "img": "src"}.get(element.tag)
            value = element.get(attribute) if attribute else None
            if attribute and value:
                element.set(attribute, self.rewrite(value))


class _RewriteLinks(Extension):
    def __init__(self, rewrite: Callable[[str], str]) -> None:
        super().__init__()
        self.rewrite = rewrite

    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802 (Python-Markdown's name)
        # Priority 0: after the inline patterns have turned Markdown links into elements.
        md.treeprocessors.register(_LinkRewriter(md, self.rewrite), "site_links", 0)


class _LinkCollector(HTMLParser):
    """The href and src values of an HTML page, and the ids it defines."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:  # noqa: ARG002 (any tag may link)
        for name, value in attrs:
            if value is None:
                continue
            if name in {"href", "src"}:
                self.links.append(value)
            elif name in {"id", "name"}:
                self.ids.add(value)


def _scan(text: str) -> _LinkCollector:
    collector = _LinkCollector()
    collector.feed(text)
    collector.close()
    return collector


class _Builder:
    """Follows links from the pages, writing each page and copying each file once."""

    def __init__(self, root: Path, output: Path, navigation: Sequence[Page]) -> None:
        self.root = root
        self.output = output
        self.navigation = navigation
        self.queue: deque[PurePosixPath] = deque()
        self.seen: set[PurePosixPath] = set()
        self.pages: list[Path] = []
        self.files: list[Path] = []
        self.problems: list[str] = []

    def site_path(self, relative: PurePosixPath) -> PurePosixPath:
        return site_path(relative, self.root)

    def relative(self, path: Path) -> PurePosixPath:
        return PurePosixPath(path.resolve().relative_to(self.root).as_posix())

    def add(self, relative: PurePosixPath) -> None:
        if relative not in self.seen:
            self.seen.add(relative)
            self.queue.append(relative)

    def target(self, link: str, page: PurePosixPath) -> PurePosixPath | None:
        """The project file a relative link of `page` points at, queued; None when missing."""
        parts = urlsplit(link)
        joined = posixpath.normpath(posixpath.join(str(page.parent), unquote(parts.path)))
        candidate = (self.root / joined).resolve()
        if not candidate.is_relative_to(self.root) or not candidate.is_file():
            self.problems.append(f"{page} links to {link!r}, which is not a file in the project")
            return None
        relative = self.relative(candidate)
        self.add(relative)
        return relative

    def rewrite(self, page: PurePosixPath) -> Callable[[str], str]:
        """The link rewriter for one page: project paths become paths in the site."""
        here = self.site_path(page).parent

        def rewrite(link: str) -> str:
            # A placeholder for markup Python-Markdown writes itself later (an e-mail address
            # it obfuscates): not a path.
            if is_external(link) or STX in link:
                return link
            target = self.target(link, page)
            if target is None:
                return link
            fragment = urlsplit(link).fragment
            moved = posixpath.relpath(str(self.site_path(target)), str(here) or ".")
            return moved + (f"#{fragment}" if fragment else "")

        return rewrite

    def navigation_html(self, page: PurePosixPath) -> str:
        here = str(self.site_path(page).parent) or "."
        entries = [("Home", PurePosixPath(HOME))]
        entries += [
            (item.title, self.site_path(self.relative(item.source))) for item in self.navigation
        ]
        entries.append(("Figures", PurePosixPath("figures.html")))
        links = [
            (html.escape(posixpath.relpath(str(target), here)), html.escape(title))
            for title, target in entries
        ]
        return " · ".join(f'<a href="{href}">{title}</a>' for href, title in links)

    def shell(self, page: PurePosixPath, title: str, body: str) -> str:
        depth = str(self.site_path(page).parent) or "."
        style = posixpath.relpath(STYLESHEET, depth)
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title>\n"
            f'<link rel="stylesheet" href="{html.escape(style)}">\n</head>\n<body>\n'
            f"<nav>{self.navigation_html(page)}</nav>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
        )

    def write(self, relative: PurePosixPath, text: str) -> None:
        destination = self.output / self.site_path(relative)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text, encoding="utf-8")
        self.pages.append(destination)

    def markdown_page(self, relative: PurePosixPath) -> None:
        text = (self.root / relative).read_text(encoding="utf-8")
        converter = Markdown(
            extensions=[*EXTENSIONS, _RewriteLinks(self.rewrite(relative))], output_format="html"
        )
        body = converter.convert(text)
        title = next(
            (line.lstrip("# ").strip() for line in text.splitlines() if line.startswith("# ")),
            relative.stem,
        )
        self.write(relative, self.shell(relative, title, body))

    def html_page(self, relative: PurePosixPath) -> None:
        """A report that is already a whole HTML page: kept as written, its links followed."""
        text = (self.root / relative).read_text(encoding="utf-8")
        for link in _scan(text).links:
            if not is_external(link):
                self.target(link, relative)
        self.write(relative, text)

    def copy(self, relative: PurePosixPath) -> None:
        destination = self.output / self.site_path(relative)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.root / relative, destination)
        self.files.append(destination)

    def figures_page(self, figures: Iterable[Path]) -> None:
        """Every figure the project's reports hold, on one page."""
        page = PurePosixPath("figures.md")
        items = []
        for figure in figures:
            relative = self.relative(figure)
            self.add(relative)
            caption = html.escape(str(relative))
            items.append(
                f'<figure><img src="{html.escape(str(relative))}" alt="{caption}">'
                f"<figcaption>{caption}</figcaption></figure>"
            )
        body = "<h1>Figures</h1>\n" + ("\n".join(items) or "<p>No figures yet: run the demo.</p>")
        self.write(page, self.shell(page, "Figures", body))

    def run(self, start: Iterable[PurePosixPath]) -> None:
        for relative in start:
            self.add(relative)
        while self.queue:
            relative = self.queue.popleft()
            if relative.suffix == ".md":
                self.markdown_page(relative)
            elif relative.suffix == ".html":
                self.html_page(relative)
            else:
                self.copy(relative)


def build(root: Path, pages: Sequence[Page], output: Path | None = None) -> Site:
    """Write the site for the project at `root` into `output` (default `site/`), from scratch."""
    root = root.resolve()
    output = (output or root / "site").resolve()
    missing = [page for page in pages if not page.source.is_file()]
    if missing:
        names = ", ".join(f"{page.title} ({page.source})" for page in missing)
        raise SiteError(f"The site needs {names}: run the `demo` command first.")
    home = root / DOCS_DIR / "index.md"
    if not home.is_file():
        raise SiteError(f"{home} is missing: it is the site's home page; restore it from git.")
    if output == root or root.is_relative_to(output):
        raise SiteError(f"{output} holds the project: choose an output folder inside it.")
    shutil.rmtree(output, ignore_errors=True)
    output.mkdir(parents=True)
    builder = _Builder(root, output, pages)
    stylesheet = root / DOCS_DIR / STYLESHEET
    if stylesheet.is_file():
        shutil.copyfile(stylesheet, output / STYLESHEET)
        builder.files.append(output / STYLESHEET)
    builder.run(
        [PurePosixPath(DOCS_DIR, "index.md")] + [builder.relative(page.source) for page in pages]
    )
    reports = root / "reports"
    figures = sorted(path for path in reports.rglob("*") if path.suffix.lower() in FIGURE_SUFFIXES)
    builder.figures_page(figures)
    builder.run([])
    problems = builder.problems + broken_links(output)
    if problems:
        raise SiteError("The site has broken links:\n" + "\n".join(sorted(set(problems))))
    return Site(folder=output, pages=builder.pages, files=builder.files)


def build_for(paths: ProjectPaths, reports: Sequence[Page]) -> Site:
    """The site every project publishes: its README, its reports, its model card."""
    readme = Page("README", paths.root / "README.md")
    return build(paths.root, [readme, *reports, Page("Model card", paths.model_card)])


def broken_links(folder: Path) -> list[str]:
    """Every link or image of the site's HTML pages that leads nowhere, as `page: link`."""
    folder = folder.resolve()
    scans = {page: _scan(page.read_text(encoding="utf-8")) for page in folder.rglob("*.html")}
    problems = []
    for page, scan in sorted(scans.items()):
        for link in scan.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc:
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            name = f"{page.relative_to(folder)}: {link}"
            if not target.is_relative_to(folder) or not target.is_file():
                problems.append(f"{name} (no such file in the site)")
            elif parts.fragment and target in scans and parts.fragment not in scans[target].ids:
                problems.append(f"{name} (no such anchor)")
    return problems
