"""The records every stage passes on: parsed documents, chunks, search hits and answers."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Section:
    """One heading's text in a parsed document."""

    # f"{source}#{slug}" (the deepest heading's slug, GitHub style, -1, -2 for repeats), or
    # f"{source}#page-{n}" for PDF pages without detectable headings.
    section_id: str
    heading_path: tuple[str, ...]
    text: str
    # Character offsets in the document's extracted text.
    start: int
    end: int
    page: int | None = None


@dataclass(frozen=True)
class ParsedDocument:
    # The path relative to the corpus root, POSIX style.
    source: str
    title: str
    # sha256 of the file bytes: incremental ingest parses a file again only when it changes.
    file_hash: str
    sections: tuple[Section, ...]


@dataclass(frozen=True)
class Chunk:
    # sha256 of (source, section_id, text), first 16 hex digits.
    chunk_id: str
    source: str
    title: str
    section_id: str
    heading_path: tuple[str, ...]
    text: str
    start: int
    end: int
    page: int | None
    # sha256 of the text: duplicates share it.
    content_hash: str


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    # The stage's score, higher is better.
    score: float
    # "bm25" | "dense" | "rrf" | "weighted" | "rerank"
    stage: str


@dataclass(frozen=True)
class Citation:
    # The n of [n] in the answer text: a 1-based index into Answer.passages.
    number: int
    chunk_id: str
    source: str
    section_id: str


@dataclass(frozen=True)
class Answer:
    question: str
    # With inline [n] citations, or the abstention sentence.
    text: str
    abstained: bool
    citations: tuple[Citation, ...]
    # What was retrieved and shown, in order.
    passages: tuple[Hit, ...]
    # For example "possible prompt injection in [2] (faq.md#...)".
    flags: tuple[str, ...] = ()
    # Stage -> milliseconds.
    timings_ms: dict[str, float] = field(default_factory=dict)
    # The generator that wrote `text`: "extractive" or "llm".
    generator: str = "extractive"
    # Why the configured generator's own answer is not the text shown, when it is not: the
    # language model's endpoint failed (the extractive fallback answered) or its citations did
    # not hold (the answer was withheld).
    withheld: str = ""
