"""Bring the index up to date with the corpus folder: only new or changed files are parsed.

Deleted files leave the index, a file identical to another one is skipped, a chunk another file
already holds is stored once, and each file that cannot be read is listed with the reason.
"""

import statistics
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from rich.progress import Progress
from rich.table import Table

from .chunking import chunk_document
from .console import console
from .documents import SkipFile, file_hash, parse_bytes, read_file
from .errors import UserError
from .store import Store, Vectors, indexed_text, open_store

if TYPE_CHECKING:
    from .config import Settings
    from .embeddings import Embedder
    from .paths import Paths
    from .records import Chunk, ParsedDocument

# Bump when parsing or chunking changes what a file becomes: the next ingest redoes every file.
PIPELINE_VERSION = "1"
STAGES = ("parse", "chunk", "embed", "index")
# The names of uploaded documents in the index: uploads/<file name>.
UPLOADS_PREFIX = "uploads/"


@dataclass
class IngestSummary:
    """What an ingest did; plain values only, so it is saved as JSON (reports/ingest.json)."""

    corpus: str
    embedder: str | None
    files: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    # Files whose chunks had been skipped as duplicates of a chunk that was just removed.
    reparsed: int = 0
    chunks_added: int = 0
    duplicate_chunks: int = 0
    documents_total: int = 0
    chunks_total: int = 0
    # Why everything was parsed again: --rebuild, or chunking settings that changed.
    rebuilt: str = ""
    skipped: list[dict[str, str]] = field(default_factory=list)
    # Milliseconds: parse and chunk per file, embed per batch, index per store write.
    timings_ms: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STAGES})

    def skip(self, source: str, reason: str) -> None:
        self.skipped.append({"source": source, "reason": reason})

    def total_ms(self, stage: str) -> float:
        return sum(self.timings_ms.get(stage, []))


@dataclass
class Pending:
    """A file to parse: its name in the corpus, where it is, and the hash of its bytes."""

    source: str
    path: Path
    digest: str
    # "new", "changed" or "reparsed": counted once the file has parsed.
    kind: str


@contextmanager
def timed(summary: IngestSummary, stage: str) -> Iterator[None]:
    begin = time.perf_counter()
    try:
        yield
    finally:
        summary.timings_ms[stage].append((time.perf_counter() - begin) * 1000)


def ingest(
    settings: "Settings",
    paths: "Paths",
    embedder: "Embedder | None",
    *,
    rebuild: bool = False,
    uploads_only: bool = False,
) -> IngestSummary:
    """Update the index from the files in paths.corpus_dir and paths.uploads_dir.

    `uploads_only` (the API's /v1/ingest) compares only the uploaded documents with the index:
    the corpus's are left as the last full ingest made them.
    """
    corpus = paths.corpus_dir
    if not corpus.is_dir() and not uploads_only:
        raise UserError(
            f"corpus folder {corpus} does not exist: pass --corpus DIR or set ingest.corpus "
            "to a folder of .md, .txt, .html or .pdf files."
        )
    config = settings.ingest
    summary = IngestSummary(str(corpus), embedder.name if embedder else None)
    files = discover(corpus, config.extensions, summary) if corpus.is_dir() else {}
    if paths.uploads_dir.is_dir():
        # Documents sent to the API's /v1/ingest join every corpus, under uploads/.
        uploaded = discover(paths.uploads_dir, config.extensions, summary, prefix=UPLOADS_PREFIX)
        files |= {source: path for source, path in uploaded.items() if source not in files}
        summary.files = len(files)
    if not files and not summary.skipped:
        raise UserError(f"{corpus} holds no documents: add .md, .txt, .html or .pdf files.")
    with open_store(settings, paths) as store:
        signature = f"v{PIPELINE_VERSION}/size={config.chunk_size}/overlap={config.chunk_overlap}"
        previous = store.setting("pipeline")
        if rebuild:
            summary.rebuilt = "--rebuild"
        elif store.count() and previous != signature:
            if uploads_only:
                raise UserError(
                    f"the index was chunked with other settings ({previous}, now {signature}): "
                    "run `ingest` to rebuild it, then upload again."
                )
            summary.rebuilt = f"chunking changed ({previous} -> {signature})"
        if summary.rebuilt:
            store.clear()
        store.use_embedder(embedder.name if embedder else None, embedder.dim if embedder else 0)
        scope = UPLOADS_PREFIX if uploads_only else ""
        pending = plan(store, files, config.max_file_bytes, summary, scope)
        documents = parse_all(pending, summary, progress=config.progress)
        chunked = [
            (document, chunk_all(document, config.chunk_size, config.chunk_overlap, summary))
            for document in documents
        ]
        write(store, chunked, embedder, settings, summary)
        store.set_setting("pipeline", signature)
        with timed(summary, "index"):
            store.save()
        summary.documents_total = len(store.file_hashes())
        summary.chunks_total = store.count()
    return summary


def discover(
    corpus: Path, extensions: Sequence[str], summary: IngestSummary, prefix: str = ""
) -> dict[str, Path]:
    """source -> path of every file to consider, sorted, so the first of two duplicates wins.

    A source is the path relative to `corpus`, after `prefix`.
    """
    suffixes = {suffix.lower() for suffix in extensions}
    files: dict[str, Path] = {}
    for path in sorted(corpus.rglob("*")):
        relative = path.relative_to(corpus)
        # Hidden files and folders (.git, .DS_Store) are no one's documents.
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        source = prefix + relative.as_posix()
        if path.suffix.lower() not in suffixes:
            summary.skip(
                source,
                f"unsupported file type {path.suffix or '(no suffix)'}: ingest.extensions lists "
                f"{', '.join(extensions)}",
            )
            continue
        files[source] = path
    summary.files = len(files)
    return files


def plan(
    store: Store,
    files: dict[str, Path],
    max_bytes: int,
    summary: IngestSummary,
    scope: str = "",
) -> list[Pending]:
    """Decide what to parse: new and changed files; remove deleted, changed and now-bad ones.

    Only documents whose source starts with `scope` are compared with `files`; the others stay
    as they are, unless one of them shared a chunk with a removed document (it is parsed again).
    """
    known = {s: digest for s, digest in store.file_hashes().items() if s.startswith(scope)}
    readable: dict[str, Pending] = {}
    for source, path in files.items():
        if source.startswith(scope) and (item := pending_file(source, path, max_bytes, summary)):
            readable[source] = item
    unchanged = {s for s, item in readable.items() if known.get(s) == item.digest}
    reparse = store.delete(sorted(set(known) - unchanged))
    # Files that held duplicates of removed chunks are parsed again, changed or not.
    unchanged -= set(reparse)
    for source in [s for s in reparse if s not in readable and s in files]:
        if item := pending_file(source, files[source], max_bytes, summary):
            readable[source] = item
    summary.deleted = len(set(known) - set(readable))
    summary.unchanged = len(unchanged)
    owners = {readable[source].digest: source for source in sorted(unchanged)}
    pending: list[Pending] = []
    for source, item in readable.items():
        if source in unchanged:
            continue
        if item.digest in owners:
            summary.skip(source, f"duplicate of {owners[item.digest]}: the same bytes")
            continue
        owners[item.digest] = source
        if source in reparse:
            item.kind = "reparsed"
        elif source in known:
            item.kind = "changed"
        pending.append(item)
    return pending


def pending_file(source: str, path: Path, max_bytes: int, summary: IngestSummary) -> Pending | None:
    """A file to compare with the index, by the hash of its bytes; None (and why) if unreadable."""
    try:
        data = read_file(path, max_bytes)
    except SkipFile as skipped:
        summary.skip(source, skipped.reason)
        return None
    # Only the hash is kept: the bytes of unchanged files are not needed again.
    return Pending(source, path, file_hash(data), "new")


def parse_all(
    pending: list[Pending], summary: IngestSummary, *, progress: bool
) -> list["ParsedDocument"]:
    """Parse the pending files; one that cannot be used is skipped with the reason."""
    documents: list[ParsedDocument] = []
    with Progress(console=console, disable=not progress, transient=True) as bar:
        task = bar.add_task("Parsing", total=len(pending))
        for item in pending:
            try:
                with timed(summary, "parse"):
                    documents.append(parse_bytes(item.path.read_bytes(), item.source))
            except SkipFile as skipped:
                summary.skip(item.source, skipped.reason)
            else:
                setattr(summary, item.kind, getattr(summary, item.kind) + 1)
            bar.advance(task)
    return documents


def chunk_all(
    document: "ParsedDocument", size: int, overlap: int, summary: IngestSummary
) -> list["Chunk"]:
    with timed(summary, "chunk"):
        return chunk_document(document, size, overlap)


def write(
    store: Store,
    chunked: list[tuple["ParsedDocument", list["Chunk"]]],
    embedder: "Embedder | None",
    settings: "Settings",
    summary: IngestSummary,
) -> None:
    """Embed the chunks the index does not hold yet, then store each document."""
    seen = store.known_contents(chunk.content_hash for _, chunks in chunked for chunk in chunks)
    plans: list[tuple[ParsedDocument, list[Chunk], set[str]]] = []
    for document, chunks in chunked:
        fresh: list[Chunk] = []
        repeated: set[str] = set()
        for chunk in chunks:
            if chunk.content_hash in seen:
                repeated.add(chunk.content_hash)
                summary.duplicate_chunks += 1
            else:
                seen.add(chunk.content_hash)
                fresh.append(chunk)
        plans.append((document, fresh, repeated))
    everything = [chunk for _, fresh, _ in plans for chunk in fresh]
    vectors = embed_all(everything, embedder, settings, summary)
    offset = 0
    for document, fresh, repeated in plans:
        part = None if vectors is None else vectors[offset : offset + len(fresh)]
        offset += len(fresh)
        with timed(summary, "index"):
            store.upsert(document, fresh, part, duplicates=repeated)
        summary.chunks_added += len(fresh)


def embed_all(
    chunks: list["Chunk"],
    embedder: "Embedder | None",
    settings: "Settings",
    summary: IngestSummary,
) -> Vectors | None:
    """Vectors of the chunks in batches, with a progress bar: the slow stage of an ingest."""
    if embedder is None:
        return None
    batch_size = settings.embeddings.batch_size
    parts: list[Vectors] = []
    with Progress(console=console, disable=not settings.ingest.progress, transient=True) as bar:
        task = bar.add_task(f"Embedding {len(chunks)} chunks", total=len(chunks))
        for begin in range(0, len(chunks), batch_size):
            batch = [indexed_text(chunk) for chunk in chunks[begin : begin + batch_size]]
            with timed(summary, "embed"):
                vectors = np.asarray(embedder.embed(batch), dtype=np.float32)
            if vectors.shape != (len(batch), embedder.dim):
                expected = (len(batch), embedder.dim)
                message = (
                    f"{embedder.name} returned vectors of shape {vectors.shape}, not {expected}"
                )
                raise ValueError(message)
            parts.append(vectors)
            bar.advance(task, len(batch))
    return np.vstack(parts) if parts else np.zeros((0, embedder.dim), dtype=np.float32)


def show_summary(summary: IngestSummary) -> None:
    """The counts, the skipped files with their reasons, and the time each stage took."""
    counts = (
        f"{summary.files} files: {summary.new} new, {summary.changed} changed, "
        f"{summary.unchanged} unchanged, {summary.deleted} deleted"
        + (f", {summary.reparsed} parsed again" if summary.reparsed else "")
        + f". Index: {summary.documents_total} documents, {summary.chunks_total} chunks "
        f"(+{summary.chunks_added}, {summary.duplicate_chunks} duplicate chunks not stored)."
    )
    if summary.rebuilt:
        console.print(f"Rebuilt from scratch: {summary.rebuilt}.")
    console.print(counts)
    if summary.skipped:
        table = Table(title=f"Skipped {len(summary.skipped)} files")
        table.add_column("file")
        table.add_column("reason")
        for row in summary.skipped:
            table.add_row(row["source"], row["reason"])
        console.print(table)
    if not summary.timings_ms.get("parse"):
        console.print("Nothing to parse: the index is up to date with the corpus.")
        return
    timings = Table(title="Time by stage")
    for column in ("stage", "total ms", "count", "median ms"):
        timings.add_column(column, justify="left" if column == "stage" else "right")
    for stage in STAGES:
        values = summary.timings_ms.get(stage, [])
        median = statistics.median(values) if values else 0.0
        timings.add_row(stage, f"{sum(values):.1f}", str(len(values)), f"{median:.2f}")
    console.print(timings)
