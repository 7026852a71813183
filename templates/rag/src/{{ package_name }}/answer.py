"""Answers: extracted sentences citing [n], "I don't know" on weak support, injection flagged.

A generator gets the question and the retrieved passages only; [n] in its text is the n-th of
those passages. Any generator (llm.py's OpenAI-compatible one too) ends with `cited_answer`,
which rejects a citation that points outside the passages, or with `abstention`.
"""

import re
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol

from .records import Answer, Chunk, Citation, Hit
from .terms import TermStats, content_words, coverage, idf_weights, words

if TYPE_CHECKING:
    from .config import AnswerConfig, LLMConfig

ABSTAIN = "I don't know"
# Shorter lines are labels and fragments ("For example:"), not statements worth quoting.
MIN_SENTENCE_WORDS = 4
CITATION = re.compile(r"\[(\d+)\]")
FENCED_CODE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`\"'(])")
QUOTE_MARKS = re.compile(r"^(?:>\s?)+")
LIST_ITEM = re.compile(r"^(?:[-*+]|\d+[.)])\s+")
NOT_PROSE = ("#", "|", "$ ", ">>>")
# Text written to steer a language model rather than to inform a reader. Matching is on
# purpose broad: a false flag only keeps a passage out of the answer, a miss lets it speak.
INJECTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b[^.\n]{0,40}\b(?:instructions?|prompts?|rules|"
    r"directions|guidelines)\b"
    r"|\byou are now (?:a|an|the|my|in|acting)\b|\bfrom now on,? you\b"
    r"|\bsystem prompt\b"
    r"|\b(?:respond|reply|answer|say|output)\s+only\s+with\b"
    r"|\bnew instructions?\s*:"
    r"|\bdo not (?:tell|reveal|mention)\b[^.\n]{0,40}\b(?:user|instructions?)\b"
    r"|<\|im_start\|>|\[/?INST\]|###\s*(?:system|instruction)",
    re.IGNORECASE,
)


class CitationError(ValueError):
    """An answer cites a passage it was not given: the text cannot be trusted as cited."""


class Generator(Protocol):
    """Writes the answer to a question from the retrieved passages alone."""

    @property
    def name(self) -> str: ...

    def support(self, question: str, passages: Sequence[Hit]) -> float:
        """The evidence (0..1) compared with answer.abstain_threshold: below it, no answer is
        written (a language model is not even asked), so tuning can sweep the threshold."""
        ...

    def answer(self, question: str, passages: Sequence[Hit]) -> Answer: ...


def validate_citations(text: str, passages: Sequence[Hit]) -> tuple[Citation, ...]:
    """The citations in `text`, each [n] checked to be one of the passages (1-based)."""
    numbers = [int(match) for match in CITATION.findall(text)]
    outside = sorted({n for n in numbers if not 1 <= n <= len(passages)})
    if outside:
        shown = ", ".join(f"[{n}]" for n in outside)
        message = f"the answer cites {shown}, but only [1]..[{len(passages)}] were retrieved"
        raise CitationError(message)
    citations = []
    for n in dict.fromkeys(numbers):
        chunk = passages[n - 1].chunk
        citations.append(Citation(n, chunk.chunk_id, chunk.source, chunk.section_id))
    return tuple(citations)


def cited_answer(
    question: str,
    text: str,
    passages: Sequence[Hit],
    flags: Sequence[str] = (),
) -> Answer:
    """An answer whose every [n] was checked against the passages (CitationError otherwise)."""
    citations = validate_citations(text, passages)
    if not citations:
        raise CitationError("the answer cites no passage; an uncited answer is not returned")
    return Answer(question, text, False, citations, tuple(passages), tuple(flags))


def abstention(question: str, passages: Sequence[Hit], flags: Sequence[str] = ()) -> Answer:
    """ "I don't know", naming the closest sources so the reader can look for themselves."""
    closest = ", ".join(dict.fromkeys(hit.chunk.section_id for hit in passages[:3]))
    text = f"{ABSTAIN}: the documents do not answer this clearly."
    if closest:
        text += f" Closest sources: {closest}."
    return Answer(question, text, True, (), tuple(passages), tuple(flags))


def injection_flags(passages: Sequence[Hit]) -> dict[int, str]:
    """Passage number -> a flag, for passages holding instruction-like text."""
    flags = {}
    for n, hit in enumerate(passages, start=1):
        match = INJECTION.search(hit.chunk.text)
        if match:
            flags[n] = (
                f"possible prompt injection in [{n}] ({hit.chunk.section_id}): "
                f"{match.group(0)!r}; treated as content, not quoted"
            )
    return flags


def support_score(question: str, passages: Sequence[Hit], stats: TermStats | None = None) -> float:
    """How well the best passage covers the question, 0..1: the share of the question's
    distinct content words found in its text or headings, each word weighted by its rarity in
    the corpus when `stats` are given (a word the corpus never uses then weighs most).

    The scale is the same whatever the retrieval mode or reranker (unlike BM25, RRF or cosine
    scores), so one abstain threshold holds for all of them.
    """
    terms = set(content_words(question))
    if not terms or not passages:
        return 0.0
    weights = stats.weights(terms) if stats else {}
    return max(coverage(terms, set(content_words(passage_text(hit))), weights) for hit in passages)


def corpus_stats(chunks: Iterable[Chunk]) -> TermStats:
    """The word statistics `support_score` weighs by, over the indexed chunks."""
    return TermStats.from_texts(passage_text_of(chunk) for chunk in chunks)


def passage_text(hit: Hit) -> str:
    return passage_text_of(hit.chunk)


def passage_text_of(chunk: Chunk) -> str:
    return " ".join((*chunk.heading_path, chunk.text))


def sentences(text: str) -> list[str]:
    """Prose sentences of a passage: code, headings, tables and fragments left out; each list
    item and paragraph ends a sentence."""
    prose = FENCED_CODE.sub("\n\n", text)
    units: list[list[str]] = [[]]
    for raw in prose.splitlines():
        line = QUOTE_MARKS.sub("", raw.strip())
        # Indented lines are code in plain text; headings and table rows are no prose.
        if raw.startswith(("    ", "\t")) or not line or line.startswith(NOT_PROSE):
            units.append([])
            continue
        if LIST_ITEM.match(line):
            units.append([])
            line = LIST_ITEM.sub("", line)
        units[-1].append(line.replace("**", ""))
    # A literal [3] in the documents must not read as a citation.
    return [
        CITATION.sub(r"(\1)", sentence.strip())
        for unit in units
        for sentence in SENTENCE_END.split(" ".join(unit))
        if len(sentence.split()) >= MIN_SENTENCE_WORDS
    ]


class ExtractiveGenerator:
    """The best sentences of the top passages, each followed by the [n] of its passage."""

    name = "extractive"

    def __init__(
        self,
        *,
        abstain_threshold: float = 0.5,
        max_sentences: int = 3,
        passages: int = 3,
        stats: TermStats | None = None,
    ) -> None:
        self.abstain_threshold = abstain_threshold
        self.stats = stats
        self.max_sentences = max_sentences
        self.passages = passages

    def answer(self, question: str, passages: Sequence[Hit]) -> Answer:
        start = time.perf_counter()
        result = self.compose(question, passages)
        elapsed = (time.perf_counter() - start) * 1000.0
        return Answer(
            result.question,
            result.text,
            result.abstained,
            result.citations,
            result.passages,
            result.flags,
            {**result.timings_ms, "answer": elapsed},
        )

    def usable(self, passages: Sequence[Hit]) -> list[tuple[int, Hit]]:
        """The passages an answer may quote, with their numbers: the first few, unflagged.

        Flagged passages are shown as sources but never quoted: their words cannot steer.
        """
        flagged = injection_flags(passages)
        return [
            (n, hit) for n, hit in enumerate(passages[: self.passages], start=1) if n not in flagged
        ]

    def support(self, question: str, passages: Sequence[Hit]) -> float:
        """The number `abstain_threshold` is compared with (tuning sweeps it without answering)."""
        return support_score(question, [hit for _, hit in self.usable(passages)], self.stats)

    def compose(self, question: str, passages: Sequence[Hit]) -> Answer:
        flags = list(injection_flags(passages).values())
        usable = self.usable(passages)
        if self.support(question, passages) < self.abstain_threshold:
            return abstention(question, passages, flags)
        terms = content_words(question)
        candidates = [
            (n, position, sentence)
            for n, hit in usable
            for position, sentence in enumerate(sentences(hit.chunk.text))
        ]
        weights = idf_weights(terms, [set(content_words(s)) for _, _, s in candidates])
        scored = [
            # Earlier passages win ties: the ranking already judged them more relevant.
            (
                coverage(terms, set(content_words(sentence)), weights) - 0.01 * n,
                n,
                position,
                sentence,
            )
            for n, position, sentence in candidates
        ]
        best: list[tuple[float, int, int, str]] = []
        seen = set()
        for item in sorted(scored, key=lambda item: -item[0]):
            # The same sentence in two passages (an overlap, a copied note) is quoted once.
            key = " ".join(words(item[3]))
            if item[0] > 0.0 and key not in seen and len(best) < self.max_sentences:
                best.append(item)
                seen.add(key)
        if not best:
            return abstention(question, passages, flags)
        # In reading order: by passage, then by place in the passage.
        best.sort(key=lambda item: (item[1], item[2]))
        text = " ".join(f"{sentence} [{n}]" for _, n, _, sentence in best)
        return cited_answer(question, text, passages, flags)


def load_generator(
    config: "AnswerConfig", chunks: Iterable[Chunk] = (), llm: "LLMConfig | None" = None
) -> Generator:
    """The generator answer.generator names: extractive, or a language model (`llm`'s server).

    `chunks`: the indexed chunks (EmbeddedStore.all_chunks()), whose word statistics weigh the
    support score; without them every question word counts the same. The language model's
    answers abstain on the same score, and fall back on the extractive generator.
    """
    stats = corpus_stats(chunks)
    extractive = ExtractiveGenerator(
        abstain_threshold=config.abstain_threshold,
        max_sentences=config.max_sentences,
        passages=config.passages,
        stats=stats if stats.documents else None,
    )
    if config.generator == "extractive":
        return extractive
    from .config import LLMConfig
    from .llm import LLMGenerator

    return LLMGenerator.from_config(llm or LLMConfig(), extractive)
