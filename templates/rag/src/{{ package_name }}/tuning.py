"""Tuning on the dev split only: the fusion, the reranker switch and the abstention threshold.

The test split is never read here, so the numbers `eval` reports on it are not flattered by
choices made while looking at them.
"""

import json
import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from itertools import pairwise
from pathlib import Path

from . import metrics, plots
from .paths import Paths

# Weighted fusion: the dense weights tried, 0 (BM25's order) to 1 (dense order).
WEIGHTS = tuple(round(0.1 * step, 1) for step in range(11))
# The reranker stays off unless it lifts dev nDCG@10 by at least this much: a smaller change is
# within what one question more or less moves, and the reranker costs time on every query.
MIN_RERANK_GAIN = 0.01


@dataclass(frozen=True)
class Candidate:
    """One fusion setting and its dev nDCG@10."""

    fusion: str
    weight: float
    ndcg_at_10: float

    @property
    def label(self) -> str:
        return "rrf" if self.fusion == "rrf" else f"weighted {self.weight:g}"


@dataclass(frozen=True)
class Threshold:
    """The abstention threshold and how it splits the dev questions."""

    value: float
    balanced_accuracy: float
    abstention_accuracy: float
    false_abstention_rate: float


@dataclass(frozen=True)
class TuningResult:
    """What `tune` chose, with the dev numbers that made the choice."""

    questions: int
    mode: str
    fusion: str
    weight: float
    candidates: list[Candidate]
    rerank_kind: str
    ndcg_without_rerank: float
    ndcg_with_rerank: float
    threshold: Threshold
    # The abstention score of each dev question, for the sweep figure.
    answerable_scores: list[float]
    unanswerable_scores: list[float]

    def settings(self) -> dict[str, dict[str, object]]:
        """The chosen values, as configs/default.toml's groups hold them.

        BM25 alone (lite) has one ranking: no fusion was tried, so none is suggested or written.
        """
        fusion = {"retrieval": {"fusion": self.fusion, "weight": self.weight}}
        return {
            **(fusion if self.candidates else {}),
            "rerank": {"kind": self.rerank_kind},
            "answer": {"abstain_threshold": self.threshold.value},
        }

    @property
    def fusion_label(self) -> str:
        """The chosen fusion in words, for the report and the command's summary."""
        if not self.candidates:
            return f"none (retrieval mode {self.mode} has one ranking)"
        return "rrf" if self.fusion == "rrf" else f"weighted, dense weight {self.weight:g}"


def best_candidate(candidates: Sequence[Candidate]) -> Candidate:
    """The highest dev nDCG@10; on a tie the first (rrf, then the lower dense weights)."""
    return max(candidates, key=lambda candidate: candidate.ndcg_at_10)


def rerank_helps(without: float, with_rerank: float, min_gain: float = MIN_RERANK_GAIN) -> bool:
    return with_rerank - without >= min_gain


def choose_threshold(answerable: Sequence[float], unanswerable: Sequence[float]) -> Threshold:
    """The abstention threshold with the best balanced accuracy on the dev questions.

    An answer abstains when its score is below the threshold. Balanced accuracy is the mean of
    "abstained on an unanswerable question" and "answered an answerable one", so a split with
    few unanswerable questions does not make "never abstain" look good. The candidates are
    midpoints between neighbouring scores, and 0 (never abstain: support is 0..1); on a tie
    the lowest wins, to decline as few answerable questions as possible.
    """
    scores = sorted(set(answerable) | set(unanswerable))
    # Support is 0..1, so 0 is "never abstain".
    candidates = [0.0]
    candidates += [(low + high) / 2 for low, high in pairwise(scores)]
    values = [round(candidate, 4) for candidate in candidates]
    balanced = [balanced_accuracy(value, answerable, unanswerable) for value in values]
    # max() keeps the first of equals: the lowest threshold among the best.
    best = max(range(len(values)), key=lambda index: balanced[index])
    value = values[best]
    return Threshold(
        value=value,
        balanced_accuracy=balanced[best],
        abstention_accuracy=metrics.mean(float(score < value) for score in unanswerable),
        false_abstention_rate=metrics.mean(float(score < value) for score in answerable),
    )


def balanced_accuracy(
    value: float, answerable: Sequence[float], unanswerable: Sequence[float]
) -> float:
    """The mean of the abstention rate on unanswerable questions and the answer rate on
    answerable ones, at one threshold; a kind of question the split lacks is left out."""
    abstention = metrics.mean(float(score < value) for score in unanswerable)
    answered = metrics.mean(float(score >= value) for score in answerable)
    parts = [part for part in (abstention, answered) if not math.isnan(part)]
    return sum(parts) / len(parts) if parts else math.nan


def render_markdown(result: TuningResult, figures: dict[str, str]) -> str:
    """What was chosen and why, as reports/tuning.md."""
    rows = "\n".join(
        f"| {candidate.label} | {candidate.ndcg_at_10:.3f} |" for candidate in result.candidates
    )
    threshold = result.threshold
    rerank_line = (
        f"The lexical reranker lifts dev nDCG@10 from {result.ndcg_without_rerank:.3f} to "
        f'{result.ndcg_with_rerank:.3f}: it is **on** (kind = "{result.rerank_kind}").'
        if result.rerank_kind != "none"
        else f"The lexical reranker moves dev nDCG@10 from {result.ndcg_without_rerank:.3f} to "
        f"{result.ndcg_with_rerank:.3f}, less than the {MIN_RERANK_GAIN} it must gain to pay "
        "for its time: it is **off**."
    )
    figure_lines = "".join(f"![{name}]({path})\n" for name, path in figures.items())
    fusion_section = (
        f"""Chosen: **{result.fusion_label}** (the highest dev nDCG@10; ties go to rrf, then to
the lower weight).

| fusion | dev nDCG@10 |
| -- | -- |
{rows}"""
        if result.candidates
        # BM25 alone (the lite option) has one ranking: nothing to fuse, so nothing was tried.
        else f"Nothing to fuse: retrieval mode {result.mode} has one ranking."
    )
    return f"""# Tuning on the dev split

{result.questions} dev questions; the test split was not read. Retrieval mode {result.mode}.

## Fusion

{fusion_section}

## Reranker

{rerank_line}

## Abstention threshold

Chosen: **{threshold.value:g}**. An answer says "I don't know" when its abstention score is
below it. On the dev split it abstains on {threshold.abstention_accuracy:.0%} of the
unanswerable questions and declines {threshold.false_abstention_rate:.0%} of the answerable ones
(balanced accuracy {threshold.balanced_accuracy:.3f}).

{figure_lines}
The shipped `configs/default.toml` holds these values; `tune --apply` writes them there after a
change to the corpus, the chunking or the models.
"""


def draw_figures(result: TuningResult, paths: Paths) -> dict[str, Path]:
    weighted = [c for c in result.candidates if c.fusion == "weighted"]
    figures = {}
    if weighted:
        figures["Dev nDCG@10 by dense weight"] = plots.sweep(
            [c.weight for c in weighted],
            [c.ndcg_at_10 for c in weighted],
            result.weight,
            labels=("dense weight", "dev nDCG@10", "Weighted fusion on the dev split"),
            path=paths.figures_dir / "tuning_fusion_weight.png",
        )
    scores = sorted(set(result.answerable_scores) | set(result.unanswerable_scores))
    if scores:
        balanced = [
            balanced_accuracy(value, result.answerable_scores, result.unanswerable_scores)
            for value in scores
        ]
        figures["Balanced accuracy by abstention threshold"] = plots.sweep(
            scores,
            balanced,
            result.threshold.value,
            labels=("threshold", "dev balanced accuracy", "Abstention on the dev split"),
            path=paths.figures_dir / "tuning_abstention.png",
        )
    return figures


def save(result: TuningResult, paths: Paths) -> list[Path]:
    """reports/tuning.md with its figures, and tuning.json beside it."""
    drawn = draw_figures(result, paths)
    relative = {
        name: path.relative_to(paths.reports_dir).as_posix() for name, path in drawn.items()
    }
    paths.tuning_md.parent.mkdir(parents=True, exist_ok=True)
    paths.tuning_md.write_text(render_markdown(result, relative), encoding="utf-8")
    as_json = paths.tuning_md.with_suffix(".json")
    as_json.write_text(json.dumps(asdict(result), indent=2) + "\n", encoding="utf-8")
    return [*drawn.values(), paths.tuning_md, as_json]


def load(paths: Paths) -> TuningResult | None:
    """The last tuning result, or None before the first `tune`."""
    as_json = paths.tuning_md.with_suffix(".json")
    if not as_json.is_file():
        return None
    data = json.loads(as_json.read_text(encoding="utf-8"))
    data["candidates"] = [Candidate(**candidate) for candidate in data["candidates"]]
    data["threshold"] = Threshold(**data["threshold"])
    return TuningResult(**data)


def apply_to_config(result: TuningResult, config_file: Path) -> list[str]:
    """Write the chosen values into the config file, keeping its comments; return what changed.

    Only the lines of the tuned settings are rewritten, each in its own [group] table; a setting
    the file does not hold is added at the end of its table.
    """
    from .config import toml_value

    lines = config_file.read_text(encoding="utf-8").splitlines()
    changed = []
    for group, values in result.settings().items():
        for name, value in values.items():
            changed += _set_line(lines, group, name, toml_value(value))
    config_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return changed


def _set_line(lines: list[str], group: str, name: str, value: str) -> list[str]:
    table = re.compile(r"^\s*\[([^\]]+)\]")
    setting = re.compile(rf"^(\s*{re.escape(name)}\s*=\s*)([^#]*?)(\s*(#.*)?)$")
    current, end = None, None
    for index, line in enumerate(lines):
        header = table.match(line)
        if header:
            if current == group:
                end = index
                break
            current = header.group(1).strip()
            continue
        match = setting.match(line) if current == group else None
        if match:
            if match.group(2).strip() == value:
                return []
            lines[index] = f"{match.group(1)}{value}{match.group(3)}"
            return [f"{group}.{name} = {value}"]
    if current != group and end is None:
        lines += ["", f"[{group}]"]
        end = len(lines)
    position = end if end is not None else len(lines)
    # Step back over blank lines, so the new line sits with its table.
    while position > 0 and not lines[position - 1].strip():
        position -= 1
    lines.insert(position, f"{name} = {value}")
    return [f"{group}.{name} = {value}"]
