"""What one app instance serves: the open index, its retriever and answer writer, and metrics.

The index is used from one thread only, the "index thread": SQLite connections belong to the
thread that opened them, and one writer at a time keeps an upload from racing a search. Routes
hand their work to it with `IndexState.run`; the event loop stays free for other requests.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from . import pipeline, uploads
from .answer import Generator, load_generator
from .config import Settings
from .ingest import ingest
from .retrieve import Retrieval, Retriever
from .store import Store, open_store
from .telemetry import Telemetry

if TYPE_CHECKING:
    from .embeddings import Embedder

logger = logging.getLogger(__name__)

T = TypeVar("T")
# Searched once when the index opens: it loads what the first real search would wait for.
WARM_UP_QUERY = "how do I start"


class NotReadyError(Exception):
    """The index cannot answer yet; the message says why (HTTP 503)."""


@dataclass
class LoadedIndex:
    """One load of the index: reopened whenever an ingest (any worker's, or the CLI's) wrote."""

    store: Store
    retriever: Retriever
    generator: Generator
    # The store's write counter when it was loaded.
    generation: str | None
    documents: int
    chunks: int


@dataclass
class IndexState:
    """Read by every route; the lifespan loads the index, and says why when it cannot."""

    settings: Settings
    embedder: "Embedder | None" = None
    telemetry: Telemetry = field(default_factory=Telemetry)
    ready: bool = False
    problem: str = "the index is still loading"
    loaded: LoadedIndex | None = None
    # The index thread: started by `start`, stopped by `shut_down` (the app's lifespan).
    executor: ThreadPoolExecutor | None = None

    def start(self) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="index")

    async def run(self, work: Callable[[], T]) -> T:
        """Run `work` in the index thread and wait for it without blocking the event loop."""
        if self.executor is None:
            raise NotReadyError(f"Not ready: {self.problem}.")
        return await asyncio.get_running_loop().run_in_executor(self.executor, work)

    def load(self) -> None:
        """Load the embedding model (hybrid and dense modes), then open the index."""
        if self.embedder is None and self.settings.retrieval.mode != "bm25":
            self.embedder = pipeline.load_embedder(self.settings)
        self.reload(self.stored_generation())
        self.ready = True
        self.telemetry.ready.set(1)

    def stored_generation(self) -> str | None:
        with open_store(self.settings) as probe:
            return probe.generation()

    def reload(self, generation: str | None) -> None:
        """Open the index afresh, with a retriever and a generator built over its contents.

        `generation` is the store's write counter read before opening: what opens is at least
        that new. Read afterwards, an ingest committing in between (another worker's) would be
        counted as seen while its chunks were not loaded.
        """
        self.close_index()
        store = open_store(self.settings)
        try:
            settings = self.settings
            retriever = pipeline.retriever_for(
                settings, store, pipeline.default_configuration(settings), self.embedder
            )
            # The support score weighs question words by their rarity in the index.
            generator = load_generator(settings.answer, store.all_chunks(), settings.llm)
            if store.count():
                retriever.search(WARM_UP_QUERY, k=1)
            documents = len(store.file_hashes())
            self.loaded = LoadedIndex(
                store, retriever, generator, generation, documents, store.count()
            )
            store.end_reads()
        except BaseException:
            store.close()
            raise
        self.telemetry.observe_index(self.loaded.documents, self.loaded.chunks)

    def opened(self) -> LoadedIndex:
        """The loaded index, reopened first if something was ingested since it was loaded."""
        if not self.ready:
            raise NotReadyError(f"Not ready: {self.problem}.")
        if self.loaded is None:
            # The last reopen failed, and its request was told why: try again.
            self.reload(self.stored_generation())
        else:
            latest = self.loaded.store.generation()
            if latest != self.loaded.generation:
                self.reload(latest)
        assert self.loaded is not None  # noqa: S101 - reload() sets it or raises
        return self.loaded

    def current(self) -> LoadedIndex:
        """The up-to-date index, when it holds something to search."""
        loaded = self.opened()
        if loaded.chunks == 0:
            raise NotReadyError(
                "The index is empty: upload documents to POST /v1/ingest, or run `ingest`."
            )
        return loaded

    def search(self, query: str, k: int) -> Retrieval:
        """The k best passages for a query (in the index thread)."""
        return self.retrieve_for_answer(query, k)[0]

    def retrieve_for_answer(self, question: str, k: int) -> tuple[Retrieval, Generator]:
        """The passages for a question and the generator that answers from them."""
        try:
            loaded = self.current()
            return loaded.retriever.search(question, k=k), loaded.generator
        finally:
            if self.loaded is not None:
                self.loaded.store.end_reads()

    def ingest_uploads(self, files: list[uploads.Upload]) -> uploads.UploadOutcome:
        """Check, store and index uploaded files; on any failure the folder is put back."""
        store = self.opened().store
        named = uploads.check(files, self.settings.ingest.max_file_bytes)
        paths = self.settings.paths
        indexed = store.file_hashes()
        # The ingest writes through a connection of its own, which must not wait on this one.
        store.end_reads()
        outcome, previous = uploads.store_files(named, paths.uploads_dir, indexed)
        started = time.perf_counter()
        # No progress bars: the server's output is JSON log lines.
        quiet = pipeline.with_values(self.settings, ingest={"progress": False})
        try:
            summary = ingest(quiet, paths, self.embedder, uploads_only=True)
        except BaseException:
            uploads.restore(previous)
            raise
        outcome.skipped = uploads.skipped_uploads(summary)
        not_indexed = {row["source"] for row in outcome.skipped}
        outcome.added = [name for name in outcome.added if name not in not_indexed]
        outcome.updated = [name for name in outcome.updated if name not in not_indexed]
        self.reload(store.generation())
        logger.info(
            "Ingested %d uploaded files in %.0f ms",
            len(named),
            (time.perf_counter() - started) * 1000,
            extra={"fields": {"added": len(outcome.added), "updated": len(outcome.updated)}},
        )
        return outcome

    def close_index(self) -> None:
        if self.loaded is not None:
            self.loaded.store.close()
            self.loaded = None

    def shut_down(self) -> None:
        """Close the index in its own thread, then stop the thread."""
        self.ready = False
        self.problem = "the server is shutting down"
        self.telemetry.ready.set(0)
        if self.executor is not None:
            self.executor.submit(self.close_index).result()
            self.executor.shutdown()
            self.executor = None
