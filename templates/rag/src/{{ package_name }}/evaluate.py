"""The evaluation: every configuration on a split of the eval set, scored, saved and gated."""

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from . import metrics
from .errors import UserError
from .paths import Paths

# The cut-offs hit@k and recall@k are reported at; recall@5 and nDCG@10 are the headline pair.
CUTOFFS = (1, 3, 5, 10)
NDCG_K = 10
# The stages whose latency is reported, in pipeline order.
INGEST_STAGES = ("parse", "chunk", "embed", "index")
QUERY_STAGES = ("retrieve", "rerank", "answer")
# Metrics that get a bootstrap interval.
WITH_INTERVALS = ("recall_at_5", "ndcg_at_10")


class EvalSetError(UserError):
    """The eval set cannot be read: the message names the line and what to fix."""


@dataclass(frozen=True)
class EvalQuestion:
    """One question of the eval set (sample_data/eval/questions.jsonl)."""

    id: str
    split: str
    question: str
    answerable: bool
    gold_sources: tuple[str, ...]
    gold_sections: tuple[str, ...]
    reference: str


def load_questions(path: Path, split: str) -> list[EvalQuestion]:
    """The questions of one split ("dev", "test" or "all"), in file order."""
    if not path.is_file():
        raise EvalSetError(f"{path}: no eval set there; restore it or point paths at yours.")
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            question = EvalQuestion(
                id=str(row["id"]),
                split=str(row["split"]),
                question=str(row["question"]),
                answerable=bool(row["answerable"]),
                gold_sources=tuple(row.get("gold_sources", ())),
                gold_sections=tuple(row.get("gold_sections", ())),
                reference=str(row.get("reference", "")),
            )
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise EvalSetError(
                f"{path}, line {number}: {error!s}; each line is a JSON object with id, split, "
                "question, answerable, gold_sections and reference."
            ) from None
        if question.answerable and not question.gold_sections:
            raise EvalSetError(
                f"{path}, line {number}: question {question.id} is answerable but names no "
                "gold_sections; add them or set answerable to false."
            )
        if split in {"all", question.split}:
            questions.append(question)
    if not questions:
        raise EvalSetError(f"{path}: no questions in the {split} split.")
    return questions


@dataclass(frozen=True)
class Configuration:
    """One way of retrieving: the candidate lists used, and whether the reranker runs."""

    mode: str
    rerank: bool

    @property
    def name(self) -> str:
        return f"{self.mode}+rerank" if self.rerank else self.mode


@dataclass(frozen=True)
class QuestionRun:
    """What one configuration did with one question."""

    question_id: str
    configuration: str
    # Section ids of the retrieved chunks, best first.
    ranked_sections: tuple[str, ...]
    # The score the answer's abstention compares with its threshold.
    top_score: float
    timings_ms: dict[str, float]
    answer: str = ""
    abstained: bool = False
    cited_sections: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConfigScores:
    """Retrieval quality and query latency of one configuration over the answerable questions."""

    name: str
    questions: int
    scores: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    latency_ms: dict[str, dict[str, float]]


@dataclass(frozen=True)
class AnswerScores:
    """How the default configuration's answers compare with the references."""

    answerable: int
    unanswerable: int
    token_f1: float
    containment: float
    citation_precision: float
    # Unanswerable questions it said "I don't know" to; answerable ones it wrongly declined.
    abstention_accuracy: float
    false_abstention_rate: float


@dataclass(frozen=True)
class Evaluation:
    """Everything one `eval` run found: metrics.json holds it, runs.jsonl a line of it."""

    split: str
    default: str
    configurations: list[ConfigScores]
    answers: AnswerScores
    # Stage -> {"p50": ms, "p95": ms}: ingest stages from the last ingest, query stages here.
    latency_ms: dict[str, dict[str, float]]
    notes: list[str] = field(default_factory=list)
    settings: dict[str, object] = field(default_factory=dict)
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    figures: dict[str, str] = field(default_factory=dict)

    def scores_of(self, name: str) -> ConfigScores:
        return next(config for config in self.configurations if config.name == name)

    @property
    def headline(self) -> ConfigScores:
        return self.scores_of(self.default)


def latency(samples: Sequence[float]) -> dict[str, float]:
    return {"p50": metrics.percentile(samples, 50), "p95": metrics.percentile(samples, 95)}


def score_retrieval(
    name: str,
    questions: Sequence[EvalQuestion],
    runs: Sequence[QuestionRun],
    bootstrap_samples: int,
    seed: int,
) -> ConfigScores:
    """Hit@k, recall@k, MRR and nDCG@10 on the answerable questions, with intervals."""
    by_id = {run.question_id: run for run in runs}
    per_metric: dict[str, list[float]] = {}
    for question in questions:
        if not question.answerable:
            continue
        ranked, gold = by_id[question.id].ranked_sections, question.gold_sections
        values = {f"hit_at_{k}": metrics.hit_at_k(ranked, gold, k) for k in CUTOFFS}
        values |= {f"recall_at_{k}": metrics.recall_at_k(ranked, gold, k) for k in CUTOFFS}
        values["mrr"] = metrics.reciprocal_rank(ranked, gold)
        values[f"ndcg_at_{NDCG_K}"] = metrics.ndcg_at_k(ranked, gold, NDCG_K)
        for key, value in values.items():
            per_metric.setdefault(key, []).append(value)
    stages = sorted({stage for run in runs for stage in run.timings_ms})
    return ConfigScores(
        name=name,
        questions=len(per_metric.get("mrr", [])),
        scores={key: metrics.mean(values) for key, values in per_metric.items()},
        intervals={
            key: metrics.bootstrap_interval(per_metric.get(key, []), bootstrap_samples, seed)
            for key in WITH_INTERVALS
        },
        latency_ms={
            stage: latency([run.timings_ms[stage] for run in runs if stage in run.timings_ms])
            for stage in stages
        },
    )


def score_answers(questions: Sequence[EvalQuestion], runs: Sequence[QuestionRun]) -> AnswerScores:
    """Token F1, containment and citation precision on the answerable questions (answered or
    not: a wrong abstention scores 0), and abstention on both kinds."""
    by_id = {run.question_id: run for run in runs}
    answerable = [q for q in questions if q.answerable]
    unanswerable = [q for q in questions if not q.answerable]

    def answer_of(question: EvalQuestion) -> str:
        run = by_id[question.id]
        return "" if run.abstained else run.answer

    return AnswerScores(
        answerable=len(answerable),
        unanswerable=len(unanswerable),
        token_f1=metrics.mean(metrics.token_f1(answer_of(q), q.reference) for q in answerable),
        containment=metrics.mean(
            metrics.containment(answer_of(q), q.reference) for q in answerable
        ),
        citation_precision=metrics.mean(
            metrics.citation_precision(by_id[q.id].cited_sections, q.gold_sections)
            for q in answerable
            if not by_id[q.id].abstained
        ),
        abstention_accuracy=metrics.mean(float(by_id[q.id].abstained) for q in unanswerable),
        false_abstention_rate=metrics.mean(float(by_id[q.id].abstained) for q in answerable),
    )


# Setting name -> (how the evaluation reads the number, what it is called in a message).
GATES: dict[str, tuple[Callable[[Evaluation], float], str]] = {
    "gate_recall_at_5": (lambda e: e.headline.scores["recall_at_5"], "recall@5"),
    "gate_ndcg_at_10": (lambda e: e.headline.scores["ndcg_at_10"], "nDCG@10"),
    "gate_abstention_accuracy": (lambda e: e.answers.abstention_accuracy, "abstention accuracy"),
    "gate_citation_precision": (lambda e: e.answers.citation_precision, "citation precision"),
}


def gate_failures(evaluation: Evaluation, thresholds: dict[str, float]) -> list[str]:
    """One line per threshold the default configuration misses; none when all are met.

    A metric that could not be measured (NaN: no unanswerable questions in the split, say)
    misses any threshold above 0: a gate must not pass on a number nobody measured.
    """
    failures = []
    for setting, threshold in thresholds.items():
        read, label = GATES[setting]
        value = read(evaluation)
        if threshold > 0 and (math.isnan(value) or value < threshold):
            failures.append(
                f"{label} {value:.3f} < {threshold:.3f} (evaluate.{setting}) on the "
                f"{evaluation.split} split, configuration {evaluation.default}"
            )
    return failures


def questions_csv(paths: Paths) -> Path:
    return paths.reports_dir / "questions.csv"


def to_dict(evaluation: Evaluation) -> dict[str, object]:
    return asdict(evaluation)


def from_dict(data: dict[str, object]) -> Evaluation:
    """An evaluation from its JSON form (tuples come back as lists; intervals are made pairs)."""
    configs = []
    for raw in data["configurations"]:  # type: ignore[attr-defined]
        intervals = {key: (value[0], value[1]) for key, value in raw["intervals"].items()}
        configs.append(ConfigScores(**{**raw, "intervals": intervals}))
    rest = {key: value for key, value in data.items() if key not in {"configurations", "answers"}}
    return Evaluation(
        configurations=configs,
        answers=AnswerScores(**data["answers"]),  # type: ignore[arg-type]
        **rest,  # type: ignore[arg-type]
    )


def per_question_table(
    questions: Sequence[EvalQuestion], runs: Sequence[QuestionRun]
) -> pd.DataFrame:
    """One row per question and configuration: what came back and how it scored."""
    by_question = {q.id: q for q in questions}
    rows = []
    for run in runs:
        question = by_question[run.question_id]
        gold = question.gold_sections
        rows.append(
            {
                "id": question.id,
                "configuration": run.configuration,
                "answerable": question.answerable,
                "question": question.question,
                "gold": " ".join(gold),
                "top_3": " ".join(metrics.distinct(run.ranked_sections)[:3]),
                # 0 when no gold section is among the retrieved ones.
                "gold_rank": first_gold_rank(run.ranked_sections, gold),
                "recall_at_5": metrics.recall_at_k(run.ranked_sections, gold, 5)
                if gold
                else math.nan,
                "top_score": run.top_score,
                "abstained": run.abstained,
                "answer": run.answer,
            }
        )
    return pd.DataFrame(rows)


def first_gold_rank(ranked: Sequence[str], gold: Sequence[str]) -> int:
    """The rank (1-based, by distinct section) of the first gold section; 0 if none is there."""
    for rank, section in enumerate(metrics.distinct(ranked), start=1):
        if section in gold:
            return rank
    return 0


def save(evaluation: Evaluation, table: pd.DataFrame, paths: Paths) -> list[Path]:
    """metrics.json and questions.csv, and one more line in the runs history."""
    paths.reports_dir.mkdir(parents=True, exist_ok=True)
    summary = paths.metrics_json
    summary.write_text(json.dumps(to_dict(evaluation), indent=2) + "\n")
    table.to_csv(questions_csv(paths), index=False)
    return [summary, questions_csv(paths), append_history(evaluation, paths.runs_history)]


def load(paths: Paths) -> Evaluation:
    """The evaluation that `save` wrote last."""
    return from_dict(json.loads(paths.metrics_json.read_text()))


def history_line(evaluation: Evaluation) -> dict[str, object]:
    """The numbers a run adds to the runs history: enough to draw quality across runs."""
    return {
        "created": evaluation.created,
        "split": evaluation.split,
        "default": evaluation.default,
        "scores": {
            config.name: {key: config.scores[key] for key in ("recall_at_5", "ndcg_at_10", "mrr")}
            for config in evaluation.configurations
        },
        "answers": asdict(evaluation.answers),
    }


def append_history(evaluation: Evaluation, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as history:
        history.write(json.dumps(history_line(evaluation)) + "\n")
    return path


def read_history(path: Path) -> list[dict[str, object]]:
    """Every run of the history, oldest first; a line that is not JSON (a hand edit) is skipped."""
    if not path.is_file():
        return []
    runs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict):
            runs.append(row)
    return runs
