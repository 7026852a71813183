"""Reranking: a second look at the fused candidates, lexical offline or by a local cross-encoder."""

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from .errors import UserError
from .records import Hit
from .terms import content_words, coverage, idf_weights

if TYPE_CHECKING:
    from .config import RerankConfig

SENTENCE_END = re.compile(r"(?<=[.!?:])\s+|\n{2,}")


class Reranker(Protocol):
    """Reorders the first candidates of a fused list; the rest follow unchanged."""

    @property
    def name(self) -> str: ...

    def rerank(self, query: str, hits: Sequence[Hit]) -> list[Hit]: ...


class LexicalReranker:
    """Rescores candidates by how well they cover the question: offline, a few ms for 20.

    Three signals, each 0..1, weighted by inverse document frequency over the candidates (so a
    word every candidate has counts little): the question's words found in the passage, in its
    single best sentence (proximity: the words near each other), and in its heading path and
    file name (what the section is about). Their mean is blended with the fused score as a share
    of the best one, which carries the dense retriever's sense of meaning.

    On the bundled dev split its effect is small and depends on the retrieval mode (nDCG@10 up
    for dense alone, down for hybrid), so `tune` switches it on only where it gains.
    """

    name = "lexical"

    def __init__(self, *, top_n: int = 20, fused_weight: float = 0.5) -> None:
        self.top_n = top_n
        self.fused_weight = fused_weight

    def rerank(self, query: str, hits: Sequence[Hit]) -> list[Hit]:
        head, tail = list(hits[: self.top_n]), list(hits[self.top_n :])
        terms = content_words(query)
        if not head or not terms:
            return [*head, *tail]
        bodies = [set(content_words(hit.chunk.text)) for hit in head]
        weights = idf_weights(terms, bodies)
        fused = relative([hit.score for hit in head])
        scored = []
        for hit, body, prior in zip(head, bodies, fused, strict=True):
            lexical = (
                coverage(terms, body, weights)
                + best_sentence(terms, hit.chunk.text, weights)
                + coverage(terms, heading_words(hit), weights)
            ) / 3.0
            score = self.fused_weight * prior + (1.0 - self.fused_weight) * lexical
            scored.append(Hit(hit.chunk, score, "rerank"))
        # A stable sort: equal scores keep the fused order.
        scored.sort(key=lambda hit: -hit.score)
        return [*scored, *tail]


def relative(scores: Sequence[float]) -> list[float]:
    """Each score as a share of the best, 0..1: close fused scores stay close (min-max would
    stretch RRF's 0.033 vs 0.031 into 1 vs 0)."""
    top = max(scores)
    if top <= 0.0:
        return [1.0] * len(scores)
    return [max(score, 0.0) / top for score in scores]


def best_sentence(terms: Sequence[str], text: str, weights: dict[str, float]) -> float:
    """The coverage of the passage's best sentence: the question's words close together."""
    return max(
        (coverage(terms, set(content_words(part)), weights) for part in SENTENCE_END.split(text)),
        default=0.0,
    )


def heading_words(hit: Hit) -> set[str]:
    chunk = hit.chunk
    return set(content_words(" ".join((*chunk.heading_path, chunk.title, Path(chunk.source).stem))))


class CrossEncoderReranker:
    """A sentence-transformers cross-encoder from a local folder scores (question, passage)."""

    def __init__(self, folder: str, *, top_n: int = 20, device: str = "cpu") -> None:
        path = Path(folder).expanduser()
        if not folder or not path.is_dir():
            raise UserError(
                f"rerank.model = {folder!r} is not a folder: point it at a local "
                "sentence-transformers cross-encoder (a folder with config.json and the "
                "weights), or use --set rerank.kind=lexical."
            )
        try:
            from sentence_transformers import CrossEncoder
        except ImportError:
            raise UserError(
                "rerank.kind = 'cross-encoder' needs sentence-transformers, which this project "
                "does not have installed (retrieval = lite): use --set rerank.kind=lexical."
            ) from None
        try:
            self.model = CrossEncoder(str(path), device=device, local_files_only=True)
        except (OSError, ValueError, RuntimeError) as error:
            raise UserError(
                f"rerank.model = {folder!r} could not be loaded as a cross-encoder ({error}); "
                "point it at a folder saved by CrossEncoder.save_pretrained."
            ) from None
        self.name = f"cross-encoder:{path.name}"
        self.top_n = top_n

    def rerank(self, query: str, hits: Sequence[Hit]) -> list[Hit]:
        head, tail = list(hits[: self.top_n]), list(hits[self.top_n :])
        if not head:
            return tail
        scores = self.model.predict(
            [(query, hit.chunk.text) for hit in head], show_progress_bar=False
        )
        scored = [
            Hit(hit.chunk, float(score), "rerank")
            for hit, score in zip(head, scores.tolist(), strict=True)
        ]
        scored.sort(key=lambda hit: -hit.score)
        return [*scored, *tail]


def load_reranker(config: "RerankConfig", *, device: str = "cpu") -> Reranker | None:
    """The reranker the settings name, or None for rerank.kind = "none"."""
    if config.kind == "lexical":
        return LexicalReranker(top_n=config.top_n, fused_weight=config.fused_weight)
    if config.kind == "cross-encoder":
        return CrossEncoderReranker(config.model, top_n=config.top_n, device=device)
    return None
