"""Read Markdown, plain text, HTML and PDF files into sections with headings and offsets.

A file that cannot be used (empty, binary, not UTF-8, a corrupt PDF, too large) raises
`SkipFile` with the reason, so ingest lists it and goes on with the rest.
"""

import hashlib
import io
import logging
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

from .records import ParsedDocument, Section

MARKDOWN_SUFFIXES = (".md", ".markdown")
TEXT_SUFFIXES = (".txt",)
HTML_SUFFIXES = (".html", ".htm")
PDF_SUFFIXES = (".pdf",)
SUPPORTED_SUFFIXES = MARKDOWN_SUFFIXES + TEXT_SUFFIXES + HTML_SUFFIXES + PDF_SUFFIXES

# The section before a document's first heading, when it holds text.
PREAMBLE_SLUG = "top"

ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
# Inline Markdown in a heading, reduced to its text: images, links, code, emphasis, tags.
INLINE_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
INLINE_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
INLINE_MARKUP = re.compile(r"\*+|(?<!\w)_+|_+(?!\w)|<[^>]+>")
# What GitHub drops from a heading's text to make its anchor.
SLUG_DROP = re.compile(r"[^\w\- ]")


class SkipFile(Exception):  # noqa: N818 - it is not an error: the file is skipped, the run goes on
    """The file cannot be ingested; `reason` says why and what would fix it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_file(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, unless it is too large, empty or unreadable."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise SkipFile(
                f"too large: {size:,} bytes > ingest.max_file_bytes ({max_bytes:,}); raise the "
                "limit or split the file"
            )
        data = path.read_bytes()
    except OSError as error:
        raise SkipFile(f"cannot be read ({error.strerror}): check its permissions") from None
    if not data.strip():
        raise SkipFile("empty file: nothing to index")
    return data


def parse_file(path: Path, source: str, max_bytes: int) -> ParsedDocument:
    """Read and parse one file; `source` is its name relative to the corpus folder."""
    return parse_bytes(read_file(path, max_bytes), source)


def parse_bytes(data: bytes, source: str) -> ParsedDocument:
    """Parse a file's bytes by the suffix of its name."""
    suffix = Path(source).suffix.lower()
    if suffix in PDF_SUFFIXES:
        return parse_pdf(data, source)
    if suffix not in SUPPORTED_SUFFIXES:
        raise SkipFile(
            f"unsupported file type {suffix or '(no suffix)'}: ingest reads "
            f"{', '.join(SUPPORTED_SUFFIXES)}"
        )
    text = decode(data)
    if not text.strip():
        raise SkipFile("empty file: nothing to index")
    stem = title_from_name(source)
    if suffix in HTML_SUFFIXES:
        title, text = html_to_text(text)
        if not text.strip():
            raise SkipFile("no text in the page once navigation and scripts are removed")
        sections = markdown_sections(text, source, atx=True, front_matter=False)
        return ParsedDocument(
            source, first_title(sections) or title or stem, file_hash(data), sections
        )
    markdown = suffix in MARKDOWN_SUFFIXES
    sections = markdown_sections(text, source, atx=markdown, front_matter=markdown)
    return ParsedDocument(source, first_title(sections) or stem, file_hash(data), sections)


def decode(data: bytes) -> str:
    """UTF-8 text (a byte-order mark is dropped); binary and other encodings are skipped."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SkipFile("UTF-16 text: re-save the file as UTF-8")
    if b"\x00" in data[:8192]:
        raise SkipFile("binary file (it contains NUL bytes), not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SkipFile(
            f"not UTF-8 (byte 0x{data[error.start]:02x} at offset {error.start}): re-save the "
            "file as UTF-8"
        ) from None
    # One line-ending style, so offsets and chunk sizes mean the same on every platform.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def title_from_name(source: str) -> str:
    """`getting-started.md` -> "Getting started": the title of a file without a heading."""
    words = re.sub(r"[-_]+", " ", Path(source).stem).strip()
    return words[:1].upper() + words[1:] if words else source


def first_title(sections: tuple[Section, ...]) -> str:
    return next((section.heading_path[0] for section in sections if section.heading_path), "")


def heading_text(raw: str) -> str:
    """A heading's visible text: inline Markdown removed, code spans kept as written."""
    parts = re.split(r"(`+[^`]*`+)", raw)
    visible = []
    for number, part in enumerate(parts):
        if number % 2:
            visible.append(part.strip("`").strip())
            continue
        text = INLINE_IMAGE.sub(r"\1", part)
        text = INLINE_LINK.sub(r"\1", text)
        visible.append(INLINE_MARKUP.sub("", text).replace("¶", ""))
    return " ".join("".join(visible).split())


def slugify(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, each space a hyphen."""
    return SLUG_DROP.sub("", heading.lower()).replace(" ", "-")


class Slugs:
    """Unique anchors within one document: a repeated slug gets -1, -2 as on GitHub."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def unique(self, slug: str) -> str:
        # github-slugger's rule, so ids match the anchors GitHub shows for the same file.
        original = slug or "section"
        unique = original
        while unique in self.seen:
            self.seen[original] += 1
            unique = f"{original}-{self.seen[original]}"
        self.seen[unique] = 0
        return unique


def headings(lines: list[str], *, atx: bool, begin: int) -> Iterator[tuple[int, int, str]]:
    """(line number, level, text) of each heading outside code fences, from line `begin`."""
    fence = ""
    previous_blank = True
    for number in range(begin, len(lines)):
        line = lines[number]
        marker = FENCE.match(line)
        if fence:
            closing = (
                marker and marker.group(1)[0] == fence[0] and len(marker.group(1)) >= len(fence)
            )
            if closing and not line.strip().strip(fence[0]):
                fence = ""
        elif marker:
            fence = marker.group(1)
        elif atx and (match := ATX_HEADING.match(line)):
            yield number, len(match.group(1)), heading_text(match.group(2) or "")
        elif (
            previous_blank
            and line.strip()
            and number + 1 < len(lines)
            and SETEXT_UNDERLINE.match(lines[number + 1])
            # An indented line is code; a list item, quote or table row is no heading.
            and not line.startswith(("    ", "\t"))
            and not re.match(r"^\s*([-*+>|]|\d+[.)])(\s|$)", line)
        ):
            level = 1 if lines[number + 1].strip().startswith("=") else 2
            yield number, level, heading_text(line)
        previous_blank = not line.strip()


def front_matter_end(lines: list[str]) -> int:
    """The line after a YAML front matter block (--- ... --- at the top), else 0."""
    if not lines or lines[0].strip() != "---":
        return 0
    for number, line in enumerate(lines[1:], start=1):
        if line.strip() in {"---", "..."}:
            return number + 1
    return 0


def markdown_sections(
    text: str, source: str, *, atx: bool, front_matter: bool
) -> tuple[Section, ...]:
    """The document cut at its headings; each section's text starts with its heading line."""
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    begin = front_matter_end(lines) if front_matter else 0
    found = list(headings([line.rstrip("\n") for line in lines], atx=atx, begin=begin))
    slugs = Slugs()
    sections: list[Section] = []
    preamble_end = offsets[found[0][0]] if found else len(text)
    if text[offsets[begin] : preamble_end].strip():
        sections.append(
            section(text, source, (offsets[begin], preamble_end), (), slugs.unique(PREAMBLE_SLUG))
        )
    path: list[tuple[int, str]] = []
    for index, (first, level, title) in enumerate(found):
        end = offsets[found[index + 1][0]] if index + 1 < len(found) else len(text)
        path = [*(item for item in path if item[0] < level), (level, title)]
        heading_path = tuple(name for _, name in path)
        sections.append(
            section(text, source, (offsets[first], end), heading_path, slugs.unique(slugify(title)))
        )
    return tuple(sections)


def section(
    text: str, source: str, span: tuple[int, int], heading_path: tuple[str, ...], slug: str
) -> Section:
    """A section spanning text[start:end], trimmed of surrounding blank lines."""
    start, end = span
    body = text[start:end]
    start += len(body) - len(body.lstrip())
    end = start + len(body.strip())
    return Section(f"{source}#{slug}", heading_path, text[start:end], start, end)


# HTML: the page's main content as Markdown-like text, so one section splitter serves both.
SKIPPED_TAGS = frozenset(
    {"script", "style", "noscript", "template", "svg", "nav", "header", "footer", "aside",
     "form", "button", "iframe", "head"}
)  # fmt: skip
VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
     "track", "wbr"}
)  # fmt: skip
BLOCK_TAGS = frozenset(
    {"p", "div", "section", "article", "main", "blockquote", "ul", "ol", "dl", "dt", "dd",
     "figure", "figcaption", "details", "summary", "body", "hr"}
)  # fmt: skip
HEADING_TAGS = {f"h{level}": level for level in range(1, 7)}
# Sphinx and MkDocs put a "¶" link after each heading.
SKIPPED_CLASSES = frozenset({"headerlink", "sr-only", "visually-hidden", "skip-link"})


def is_boilerplate(tag: str, attributes: dict[str, str | None]) -> bool:
    """Navigation, scripts, hidden and decorative elements: none of it is the page's content."""
    classes = set((attributes.get("class") or "").split())
    return (
        tag in SKIPPED_TAGS
        or bool(classes & SKIPPED_CLASSES)
        or attributes.get("role") in {"navigation", "banner", "contentinfo"}
        or "hidden" in attributes
        or attributes.get("aria-hidden") == "true"
    )


class PageText(HTMLParser):
    """Collects a page's text: headings as `#` lines, code as fences, tables as pipe rows."""

    def __init__(self, root_tag: str | None) -> None:
        super().__init__(convert_charrefs=True)
        # Only text inside the first <main> (or <article>) counts, when the page has one.
        self.root_tag = root_tag
        self.root_depth = 0 if root_tag else 1
        self.root_done = False
        self.skip: list[str] = []
        self.title = ""
        self.in_title = False
        self.pre = 0
        self.blocks: list[str] = []
        self.current: list[str] = []
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.table: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self.in_title = True
        if tag in VOID_TAGS:
            if tag == "br" and self.active:
                self.current.append("\n" if self.pre else " ")
            return
        # A <header> inside <main> or <article> holds that content's own title: keep it.
        own_header = tag == "header" and self.root_tag is not None and self.active
        if self.skip or (is_boilerplate(tag, dict(attrs)) and not own_header):
            self.skip.append(tag)
            return
        if tag == self.root_tag and not self.root_done:
            self.root_depth += 1
        if self.active:
            self.open_element(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        if tag in VOID_TAGS:
            return
        if self.skip:
            self.skip.pop()
            return
        if self.active:
            self.close_element(tag)
        if tag == self.root_tag and not self.root_done:
            self.root_depth -= 1
            self.root_done = self.root_depth == 0

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title += data
        elif self.active:
            self.append(data)

    def open_element(self, tag: str) -> None:
        if tag in HEADING_TAGS or tag in BLOCK_TAGS or tag in {"li", "pre", "table"}:
            self.flush()
        if tag == "li":
            self.current.append("- ")
        elif tag == "pre":
            self.pre += 1
        elif tag == "table":
            self.table = []
        elif tag == "tr":
            self.row = []
        elif tag in {"td", "th"}:
            self.cell = []
        elif tag == "code" and not self.pre:
            self.append("`")

    def close_element(self, tag: str) -> None:
        if tag in HEADING_TAGS:
            text = " ".join("".join(self.current).split())
            self.current = []
            if text:
                self.blocks.append(f"{'#' * HEADING_TAGS[tag]} {text}")
        elif tag == "pre":
            self.pre -= 1
            code = "".join(self.current).strip("\n")
            self.current = []
            if code.strip():
                self.blocks.append(f"```\n{code}\n```")
        elif tag in {"td", "th"} and self.row is not None and self.cell is not None:
            self.row.append(" ".join("".join(self.cell).split()).replace("|", "\\|"))
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.table.append(self.row)
            self.row = None
        elif tag == "table":
            self.flush_table()
        elif tag == "code" and not self.pre:
            self.append("`")
        elif tag in BLOCK_TAGS or tag == "li":
            self.flush()

    @property
    def active(self) -> bool:
        return self.root_depth > 0 and not self.skip

    def append(self, text: str) -> None:
        (self.cell if self.cell is not None else self.current).append(text)

    def flush(self) -> None:
        text = " ".join("".join(self.current).split())
        self.current = []
        if text and text != "-":
            self.blocks.append(text)

    def flush_table(self) -> None:
        rows = [row for row in self.table if any(row)]
        self.table = []
        if not rows:
            return
        width = max(len(row) for row in rows)
        lines = ["| " + " | ".join(row + [""] * (width - len(row))) + " |" for row in rows]
        lines.insert(1, "| " + " | ".join(["---"] * width) + " |")
        self.blocks.append("\n".join(lines))


def html_to_text(html: str) -> tuple[str, str]:
    """(the page title, its main content as Markdown-like text)."""
    lowered = html.lower()
    root = next((tag for tag in ("main", "article") if f"<{tag}" in lowered), None)
    parser = PageText(root)
    parser.feed(html)
    parser.close()
    parser.flush()
    title = " ".join(parser.title.split())
    return title, "\n\n".join(parser.blocks) + "\n"


def parse_pdf(data: bytes, source: str) -> ParsedDocument:
    """One section per page with text: Chromium-printed PDFs keep no heading structure."""
    # Imported here: only ingesting a PDF needs it.
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    if not data.lstrip().startswith(b"%PDF-"):
        raise SkipFile("corrupt PDF: the file does not start with %PDF-")
    # pypdf logs each repair it attempts; the skip reason already says what went wrong.
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise SkipFile("encrypted PDF: save an unprotected copy")
        pages = [page.extract_text() or "" for page in reader.pages]
        metadata = reader.metadata
        meta_title = str(metadata.title or "") if metadata is not None else ""
    except SkipFile:
        raise
    except (
        PyPdfError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        IndexError,
        RecursionError,
    ) as error:
        # pypdf reports broken files with several exception types; all mean "unreadable".
        raise SkipFile(f"corrupt PDF: {type(error).__name__}: {error}") from None
    finally:
        logger.setLevel(level)
    title = " ".join(meta_title.split()) or title_from_name(source)
    sections: list[Section] = []
    offset = 0
    for number, raw in enumerate(pages, start=1):
        page_text = raw.replace("\r\n", "\n").strip()
        if page_text:
            sections.append(
                Section(
                    f"{source}#page-{number}",
                    (title, f"Page {number}"),
                    page_text,
                    offset,
                    offset + len(page_text),
                    page=number,
                )
            )
        # The document's text is the pages joined by a blank line: offsets count across pages.
        offset += len(page_text) + 2
    if not sections:
        raise SkipFile("PDF without extractable text (scanned pages?): run OCR on it first")
    return ParsedDocument(source, title, file_hash(data), tuple(sections))
