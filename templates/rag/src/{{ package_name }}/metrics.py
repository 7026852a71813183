"""Retrieval and answer metrics for one question, and summaries over many: pure functions.

Retrieval is judged by section: a ranked list of section ids (the sections of the retrieved
chunks, in rank order) against the question's gold section ids. Two chunks of one section are
one result, so a ranking is reduced to its distinct sections before it is scored.
"""

import math
import re
import string
from collections import Counter
from collections.abc import Collection, Iterable, Sequence

import numpy as np

# Inline citations such as [1] or [12]: markup of the answer, not words of it.
CITATION = re.compile(r"\[\d+\]")
ARTICLES = re.compile(r"\b(a|an|the)\b")
PUNCTUATION = str.maketrans("", "", string.punctuation)


def distinct(ranked: Iterable[str]) -> list[str]:
    """The ids in rank order, each once (its best rank)."""
    return list(dict.fromkeys(ranked))


def _check_gold(gold: Collection[str]) -> None:
    if not gold:
        # An unanswerable question has no gold sections: retrieval cannot be scored on it.
        message = "retrieval metrics need at least one gold section"
        raise ValueError(message)


def hit_at_k(ranked: Sequence[str], gold: Collection[str], k: int) -> float:
    """1.0 if any gold section is among the first k distinct sections, else 0.0."""
    _check_gold(gold)
    return float(any(section in gold for section in distinct(ranked)[:k]))


def recall_at_k(ranked: Sequence[str], gold: Collection[str], k: int) -> float:
    """The share of the gold sections found among the first k distinct sections."""
    _check_gold(gold)
    found = set(distinct(ranked)[:k]) & set(gold)
    return len(found) / len(set(gold))


def reciprocal_rank(ranked: Sequence[str], gold: Collection[str]) -> float:
    """1 / the rank of the first gold section; 0.0 when none was retrieved."""
    _check_gold(gold)
    for rank, section in enumerate(distinct(ranked), start=1):
        if section in gold:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranked: Sequence[str], gold: Collection[str], k: int = 10) -> float:
    """Normalised discounted cumulative gain with binary relevance (gold or not).

    DCG adds 1 / log2(rank + 1) for each gold section in the first k; the ideal ranking puts
    every gold section first, so 1.0 means all of them (up to k) lead the list.
    """
    _check_gold(gold)
    gains = [
        1.0 / math.log2(rank + 1)
        for rank, section in enumerate(distinct(ranked)[:k], start=1)
        if section in gold
    ]
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(set(gold)), k) + 1))
    return sum(gains) / ideal


def tokens(text: str) -> list[str]:
    """SQuAD's answer normalisation: lower case, no citations, punctuation or articles."""
    text = CITATION.sub(" ", text.lower())
    text = ARTICLES.sub(" ", text.translate(PUNCTUATION))
    return text.split()


def token_f1(answer: str, reference: str) -> float:
    """The harmonic mean of token precision and recall of the answer against the reference."""
    predicted, expected = Counter(tokens(answer)), Counter(tokens(reference))
    common = sum((predicted & expected).values())
    if common == 0:
        return 0.0
    precision = common / sum(predicted.values())
    recall = common / sum(expected.values())
    return 2 * precision * recall / (precision + recall)


def containment(answer: str, reference: str) -> float:
    """The share of the reference's tokens that the answer contains (token recall).

    An extractive answer quotes whole sentences, so it is longer than a short reference and its
    F1 is held down by length; containment asks only whether the reference's words are there.
    """
    expected = Counter(tokens(reference))
    if not expected:
        return math.nan
    common = sum((Counter(tokens(answer)) & expected).values())
    return common / sum(expected.values())


def citation_precision(cited_sections: Sequence[str], gold: Collection[str]) -> float:
    """The share of the answer's citations that point at a gold section; NaN with none."""
    if not cited_sections:
        return math.nan
    return sum(section in gold for section in cited_sections) / len(cited_sections)


def mean(values: Iterable[float]) -> float:
    """The mean of the values that are numbers (NaN means "does not apply"); NaN if none."""
    kept = [value for value in values if not math.isnan(value)]
    return sum(kept) / len(kept) if kept else math.nan


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100, linear interpolation); NaN for no values."""
    return float(np.percentile(values, q)) if len(values) else math.nan


def bootstrap_interval(
    values: Sequence[float], samples: int, seed: int, level: float = 0.95
) -> tuple[float, float]:
    """A percentile bootstrap interval for the mean of per-question values.

    The questions are resampled with replacement `samples` times; the interval holds the middle
    `level` share of the resampled means. It shows how much the score would move with another
    draw of questions like these, which at a few dozen questions is a lot.
    """
    data = np.asarray([value for value in values if not math.isnan(value)], dtype=float)
    if samples == 0 or data.size == 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(samples, data.size))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return (float(low), float(high))
