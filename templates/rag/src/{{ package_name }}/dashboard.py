"""The dashboard: one self-contained HTML page (figures inlined, no script, no external file)."""

import math
from pathlib import Path

import pandas as pd

from . import PROJECT_NAME, plots, tables
from .evaluate import Evaluation, read_history
from .html_report import standalone_html
from .paths import Paths


def interval(value: float, bounds: tuple[float, float]) -> str:
    low, high = bounds
    if math.isnan(low) or math.isnan(high):  # no interval: bootstrap_samples = 0
        return f"{value:.3f}"
    return f"{value:.3f} [{low:.3f}, {high:.3f}]"


def quality_table(evaluation: Evaluation) -> pd.DataFrame:
    """Retrieval quality per configuration, headline metrics with their 95% intervals."""
    rows = []
    for config in evaluation.configurations:
        scores = config.scores
        retrieve_p95 = config.latency_ms.get("retrieve", {}).get("p95", math.nan)
        rows.append(
            {
                "configuration": config.name
                + (" (default)" if config.name == evaluation.default else ""),
                "recall@5 [95% CI]": interval(
                    scores["recall_at_5"], config.intervals["recall_at_5"]
                ),
                "nDCG@10 [95% CI]": interval(scores["ndcg_at_10"], config.intervals["ndcg_at_10"]),
                "MRR": scores["mrr"],
                "hit@1": scores["hit_at_1"],
                "hit@5": scores["hit_at_5"],
                "recall@10": scores["recall_at_10"],
                "retrieve p95 ms": f"{retrieve_p95:.1f}",
                "questions": config.questions,
            }
        )
    return pd.DataFrame(rows)


def answer_table(evaluation: Evaluation) -> pd.DataFrame:
    answers = evaluation.answers
    rows = {
        "token F1 (answerable)": answers.token_f1,
        "containment of the reference (answerable)": answers.containment,
        "citation precision (answered)": answers.citation_precision,
        "abstention accuracy (unanswerable)": answers.abstention_accuracy,
        "false abstentions (answerable)": answers.false_abstention_rate,
    }
    return pd.DataFrame({"metric": list(rows), "value": list(rows.values())})


def latency_table(latency_ms: dict[str, dict[str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "stage": list(latency_ms),
            "p50 ms": [value["p50"] for value in latency_ms.values()],
            "p95 ms": [value["p95"] for value in latency_ms.values()],
        }
    )


def draw_figures(evaluation: Evaluation, paths: Paths) -> dict[str, Path]:
    """The dashboard's three figures, written under reports/figures/."""
    figures_dir = paths.figures_dir
    return {
        "quality": plots.quality_by_configuration(
            {config.name: config.scores for config in evaluation.configurations},
            {config.name: config.intervals for config in evaluation.configurations},
            evaluation.default,
            f"Retrieval quality by configuration ({evaluation.split} split)",
            figures_dir / "quality_by_configuration.png",
        ),
        "latency": plots.latency_by_stage(
            evaluation.latency_ms, figures_dir / "latency_by_stage.png"
        ),
        "history": plots.quality_across_runs(
            read_history(paths.runs_history), figures_dir / "quality_across_runs.png"
        ),
    }


def render_markdown(evaluation: Evaluation, figures: dict[str, str]) -> str:
    """The dashboard as Markdown; figure links are relative to reports/."""
    notes = "".join(f"- {note}\n" for note in evaluation.notes)
    parts = [
        f"# {PROJECT_NAME}: retrieval dashboard\n",
        (
            f"Evaluated {evaluation.created} on the **{evaluation.split}** split; the default "
            f"configuration is **{evaluation.default}**. Retrieval metrics count the "
            "answerable questions, scored by the gold sections each retrieved passage comes "
            "from. The report (`report.html`) says what each number means.\n"
        ),
        notes,
        "## Quality by configuration\n",
        f"![Quality by configuration]({figures['quality']})\n",
        tables.to_markdown(quality_table(evaluation)),
        "## Answers (default configuration)\n",
        tables.to_markdown(answer_table(evaluation)),
        "## Latency by stage\n",
        f"![Latency by stage]({figures['latency']})\n",
        tables.to_markdown(latency_table(evaluation.latency_ms), digits=2),
        "## Quality across runs\n",
        f"![Quality across runs]({figures['history']})\n",
    ]
    return "\n".join(part for part in parts if part)


def write_dashboard(evaluation: Evaluation, paths: Paths) -> list[Path]:
    """Draw the figures and write reports/dashboard.html, a page that stands alone."""
    drawn = draw_figures(evaluation, paths)
    relative = {key: path.relative_to(paths.reports_dir).as_posix() for key, path in drawn.items()}
    page = standalone_html(
        render_markdown(evaluation, relative), paths.reports_dir, f"{PROJECT_NAME} dashboard"
    )
    paths.dashboard_html.parent.mkdir(parents=True, exist_ok=True)
    paths.dashboard_html.write_text(page, encoding="utf-8")
    return [*drawn.values(), paths.dashboard_html]
