"""Content words of a question or passage: what the reranker and the extractive answer compare."""

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

WORD = re.compile(r"[a-z0-9][a-z0-9_]*")
# Function words and question words carry no topic: "how do I" matches every page.
STOPWORD_TEXT = """
    a about after all also an and any are as at be been before being but by can could did do
    does doing done for from get gets had has have how i if in into is it its just may me might
    more most my no not of on one only or other our out over own same should so some such than
    that the their them then there these they this those through to too under up use used uses
    using very was way we were what when where which while who whom why will with would you your
    want wants need needs make makes
"""
STOPWORDS = frozenset(STOPWORD_TEXT.split())
# Stems shorter than this are too ambiguous ("us" from "uses"): such words stay whole.
MIN_STEM = 3


def stem(word: str) -> str:
    """A light suffix strip so "options" meets "option" and "nested" meets "nest"."""
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM:
            return word[: -len(suffix)]
    return word


def words(text: str) -> list[str]:
    """Every word, lowercased and stemmed, in order (stopwords kept for positions)."""
    return [stem(word) for word in WORD.findall(text.lower())]


def content_words(text: str) -> list[str]:
    """The words that carry the topic, lowercased and stemmed, in order, repeats kept."""
    return [stem(word) for word in WORD.findall(text.lower()) if word not in STOPWORDS]


def idf_weights(query: Iterable[str], documents: Sequence[set[str]]) -> dict[str, float]:
    """Inverse document frequency of each query word over the given documents (smoothed, > 0)."""
    n = len(documents)
    return {
        term: math.log(1.0 + (n + 1) / (1 + sum(term in doc for doc in documents)))
        for term in set(query)
    }


def coverage(query: Iterable[str], document: set[str], weights: dict[str, float]) -> float:
    """The weighted share of the query's distinct words found in the document, 0..1."""
    terms = set(query)
    total = sum(weights.get(term, 1.0) for term in terms)
    if total == 0.0:
        return 0.0
    return sum(weights.get(term, 1.0) for term in terms if term in document) / total


@dataclass(frozen=True)
class TermStats:
    """How many indexed passages hold each content word: a word few passages share weighs more,
    and a word no passage has weighs most (the corpus cannot be about it)."""

    documents: int
    frequencies: Mapping[str, int]

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> "TermStats":
        frequencies: Counter[str] = Counter()
        documents = 0
        for text in texts:
            frequencies.update(set(content_words(text)))
            documents += 1
        return cls(documents, dict(frequencies))

    def weights(self, terms: Iterable[str]) -> dict[str, float]:
        n = self.documents
        return {
            term: math.log(1.0 + (n + 1) / (1 + self.frequencies.get(term, 0))) for term in terms
        }
