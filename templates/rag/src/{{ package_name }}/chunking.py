"""Cut sections into chunks that keep a heading with its body and never split code or tables.

Every chunk's text is a slice of its document's extracted text (`text[start:end]`), so a
citation can point at the exact characters it came from.
"""

import hashlib
import re
from dataclasses import dataclass

from .documents import FENCE
from .records import Chunk, ParsedDocument, Section

TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+")
WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Block:
    """A span of a section's text: a heading line, a paragraph, a code block or a table."""

    start: int
    end: int
    # Code blocks and tables are atomic: a chunk holds all of one or none of it.
    atomic: bool = False
    heading: bool = False


def chunk_document(document: ParsedDocument, size: int, overlap: int) -> list[Chunk]:
    """All chunks of a document, in order."""
    chunks: list[Chunk] = []
    for section in document.sections:
        for start, end in chunk_spans(section.text, size, overlap):
            chunks.append(make_chunk(document, section, start, end))
    return chunks


def make_chunk(document: ParsedDocument, section: Section, start: int, end: int) -> Chunk:
    text = section.text[start:end]
    key = f"{document.source}\x00{section.section_id}\x00{text}"
    return Chunk(
        chunk_id=hashlib.sha256(key.encode()).hexdigest()[:16],
        source=document.source,
        title=document.title,
        section_id=section.section_id,
        heading_path=section.heading_path,
        text=text,
        start=section.start + start,
        end=section.start + end,
        page=section.page,
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
    )


def chunk_spans(text: str, size: int, overlap: int) -> list[tuple[int, int]]:
    """(start, end) of each chunk of one section's text.

    Blocks are packed greedily up to `size` characters. The next chunk starts up to `overlap`
    characters before the previous one ended, at a sentence start, never inside a code block or
    table. A section that is only a heading gives no chunk: it has no content.
    """
    # Long paragraphs are cut to leave room for the overlap the next chunk carries.
    units = merge_headings(split_long(blocks(text), text, size - overlap))
    if not units or all(unit.heading for unit in units):
        return []
    spans: list[tuple[int, int]] = []
    start, end = units[0].start, units[0].end
    for unit in units[1:]:
        if unit.end - start <= size:
            end = unit.end
            continue
        spans.append((start, end))
        start = overlap_start(text, units, (start, end), unit, (size, overlap))
        end = unit.end
    spans.append((start, end))
    return spans


def overlap_start(
    text: str,
    units: list[Block],
    previous: tuple[int, int],
    unit: Block,
    limits: tuple[int, int],
) -> int:
    """Where the chunk that begins with `unit` starts, reaching back into the previous one."""
    size, overlap = limits
    # The overlap never makes a chunk longer than `size`, never starts inside an atomic block,
    # and never takes the whole previous chunk.
    earliest = max(previous[1] - overlap, unit.end - size, previous[0] + 1)
    if overlap == 0 or earliest >= unit.start:
        return unit.start
    # At a sentence or block start, never inside a code block or table: an answer quotes whole
    # sentences, so a chunk that begins mid-sentence would quote a fragment.
    starts = [
        start
        for block in units
        if block.end > earliest and block.start < unit.start
        for start in block_starts(text, block)
        if earliest <= start < unit.start
    ]
    return min(starts, default=unit.start)


def block_starts(text: str, block: Block) -> list[int]:
    """Where a chunk may start within a block: its start, or a sentence start inside it."""
    if block.atomic:
        return [block.start]
    body = text[block.start : block.end]
    return [block.start] + [block.start + match.end() for match in SENTENCE_END.finditer(body)]


def blocks(text: str) -> list[Block]:
    """A section's text as blocks: blank lines separate them, except inside code fences."""
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    found: list[Block] = []
    number = 0
    while number < len(lines):
        line = lines[number]
        if not line.strip():
            number += 1
            continue
        first = number
        fence = FENCE.match(line)
        if fence:
            number = fence_end(lines, number, fence.group(1))
            found.append(Block(offsets[first], offsets[number], atomic=True))
            continue
        if is_heading(lines, number):
            setext = number + 1 < len(lines) and is_underline(lines[number + 1])
            number += 2 if setext else 1
            found.append(Block(offsets[first], offsets[number], heading=True))
            continue
        table = is_table_start(lines, number)
        indented = is_indented(line)
        number += 1
        while number < len(lines) and lines[number].strip():
            if not table and (
                FENCE.match(lines[number])
                or is_heading(lines, number)
                or is_table_start(lines, number)
            ):
                break
            number += 1
        # Indented code may hold blank lines: its following indented paragraphs belong to it.
        while indented and next_indented(lines, number):
            number = next_indented(lines, number)
        found.append(Block(offsets[first], offsets[number], atomic=table or indented))
    return [trimmed(text, block) for block in found]


def trimmed(text: str, block: Block) -> Block:
    body = text[block.start : block.end]
    start = block.start + len(body) - len(body.lstrip())
    return Block(start, start + len(body.strip()), block.atomic, block.heading)


def fence_end(lines: list[str], number: int, fence: str) -> int:
    """The line after the fence that closes the one opened at `number` (or the end)."""
    for later in range(number + 1, len(lines)):
        marker = FENCE.match(lines[later])
        if (
            marker
            and marker.group(1)[0] == fence[0]
            and len(marker.group(1)) >= len(fence)
            and not lines[later].strip().strip(fence[0])
        ):
            return later + 1
    return len(lines)


def is_heading(lines: list[str], number: int) -> bool:
    line = lines[number]
    if re.match(r"^ {0,3}#{1,6}(\s|$)", line):
        return True
    return (
        bool(line.strip())
        and not is_indented(line)
        and number + 1 < len(lines)
        and is_underline(lines[number + 1])
        and (number == 0 or not lines[number - 1].strip())
    )


def is_underline(line: str) -> bool:
    return bool(re.match(r"^ {0,3}(=+|-+)[ \t]*$", line))


def is_table_start(lines: list[str], number: int) -> bool:
    """A pipe table: a row with `|` followed by a |---|---| separator."""
    return (
        "|" in lines[number]
        and number + 1 < len(lines)
        and bool(TABLE_SEPARATOR.match(lines[number + 1]))
    )


def is_indented(line: str) -> bool:
    return line.startswith(("    ", "\t"))


def next_indented(lines: list[str], number: int) -> int:
    """The end of the indented paragraph after blank lines at `number`, or 0 if none follows."""
    later = number
    while later < len(lines) and not lines[later].strip():
        later += 1
    if later == number or later >= len(lines) or not is_indented(lines[later]):
        return 0
    while later < len(lines) and lines[later].strip():
        later += 1
    return later


def split_long(found: list[Block], text: str, size: int) -> list[Block]:
    """Paragraphs longer than `size` cut at sentence ends, then at spaces; atomic ones kept."""
    result: list[Block] = []
    for block in found:
        if block.atomic or block.heading or block.end - block.start <= size:
            result.append(block)
            continue
        result.extend(split_paragraph(text, block.start, block.end, size))
    return result


def split_paragraph(text: str, start: int, end: int, size: int) -> list[Block]:
    pieces: list[Block] = []
    while end - start > size:
        window = text[start : start + size + 1]
        cut = last_boundary(window, SENTENCE_END) or last_boundary(window, WHITESPACE)
        # A word longer than a chunk is cut where the chunk is full.
        cut = cut or size
        pieces.append(trimmed(text, Block(start, start + cut)))
        start += cut
        start += len(text[start:end]) - len(text[start:end].lstrip())
    if start < end:
        pieces.append(Block(start, end))
    return pieces


def last_boundary(window: str, pattern: re.Pattern[str]) -> int:
    """The offset just after the last boundary in the window (0 when there is none)."""
    ends = [match.start() for match in pattern.finditer(window) if match.start() > 0]
    return ends[-1] if ends else 0


def merge_headings(found: list[Block]) -> list[Block]:
    """Each heading joined to the block after it, so no chunk ends with a bare heading."""
    merged: list[Block] = []
    pending: Block | None = None
    for found_block in found:
        block = found_block
        if pending is not None:
            block = Block(pending.start, block.end, block.atomic, block.heading)
            pending = None
        if block.heading:
            pending = block
            continue
        merged.append(block)
    if pending is not None:
        merged.append(pending)
    return merged
