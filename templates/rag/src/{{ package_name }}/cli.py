"""The command line: one command per stage (ingest, search, ask, eval, tune), `serve`, `demo`."""

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from . import PROJECT_NAME
from .config import Settings, load_server_settings, load_settings
from .console import console, create_app, show_written, shown, user_errors
from .errors import InvalidSettingError

if TYPE_CHECKING:
    from .embeddings import Embedder
    from .evaluate import Evaluation
    from .records import Answer

app = create_app("Answer questions about your documents, with cited sources, offline.")

# Each command imports the pipeline when it runs: torch, matplotlib and MLflow take seconds to
# load, and `--help` or a mistyped option should answer at once.

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="TOML config file [default: configs/default.toml]."),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="GROUP.FIELD=VALUE",
        help="Override one setting, for example --set retrieval.k=10; repeat for more.",
    ),
]
CorpusOption = Annotated[
    Path | None,
    typer.Option("--corpus", help="Folder of documents [default: the bundled Click docs]."),
]
SourceOption = Annotated[
    str,
    typer.Option(
        "--source",
        metavar="PREFIX",
        help="Only passages of files whose path starts with PREFIX, for example api/.",
    ),
]
SPLITS = ("test", "dev", "all")
DEMO_QUESTIONS = (
    "How do I give an option a default value that comes from an environment variable?",
    "How can a command ask the user to confirm before doing something dangerous?",
    "What is the capital city of Australia?",
)


def settings_from(
    config_file: Path | None, overrides: list[str] | None, corpus: Path | None = None
) -> Settings:
    """The settings for one command: config file, environment, --set and --corpus."""
    extra = [f"ingest.corpus={corpus.as_posix()!r}"] if corpus is not None else []
    return load_settings(config_file=config_file, overrides=[*(overrides or ()), *extra])


def do_ingest(settings: Settings, *, rebuild: bool, embedder: "Embedder | None" = None) -> None:
    from . import pipeline
    from .ingest import show_summary

    summary = pipeline.run_ingest(settings, rebuild=rebuild, embedder=embedder)
    show_summary(summary)
    if settings.store.kind == "embedded":
        console.print(f"[bold]Index[/] {shown(settings.paths.index_dir)}")


def print_answer(answer: "Answer") -> None:
    """The answer in a panel, then its sources: the cited ones marked, each with its section."""
    style = "yellow" if answer.abstained else "green"
    console.print(
        Panel(
            escape(answer.text),
            title=escape(answer.question),
            subtitle=f"answered by {answer.generator}",
            border_style=style,
            expand=False,
        )
    )
    if answer.withheld:
        console.print(f"[bold yellow]Withheld:[/] {escape(answer.withheld)}", soft_wrap=True)
    cited = {citation.number for citation in answer.citations}
    table = Table("", "source section", "score", title="Sources", title_justify="left")
    for number, hit in enumerate(answer.passages, start=1):
        mark = f"[bold]\\[{number}][/]" if number in cited else f"\\[{number}]"
        table.add_row(mark, escape(hit.chunk.section_id), f"{hit.score:.3f}")
    console.print(table)
    for flag in answer.flags:
        console.print(f"[bold red]Flag:[/] {escape(flag)}")
    timings = ", ".join(f"{stage} {ms:.1f} ms" for stage, ms in answer.timings_ms.items())
    console.print(f"[dim]{timings}[/]")


def do_eval(
    settings: Settings, split: str | None, *, gate: bool, embedder: "Embedder | None" = None
) -> "Evaluation":
    from . import pipeline

    with console.status("Evaluating every configuration…"):
        result = pipeline.run_eval(settings, split, embedder)
    evaluation = result.evaluation
    table = Table(
        "configuration",
        "recall@5 [95% CI]",
        "nDCG@10 [95% CI]",
        "MRR",
        "retrieve p95 ms",
        title=f"Retrieval on the {evaluation.split} split",
    )
    from .dashboard import interval

    for config in evaluation.configurations:
        name = config.name + (" (default)" if config.name == evaluation.default else "")
        scores, intervals = config.scores, config.intervals
        table.add_row(
            name,
            interval(scores["recall_at_5"], intervals["recall_at_5"]),
            interval(scores["ndcg_at_10"], intervals["ndcg_at_10"]),
            f"{scores['mrr']:.3f}",
            f"{config.latency_ms.get('retrieve', {}).get('p95', float('nan')):.1f}",
        )
    console.print(table)
    answers = evaluation.answers
    console.print(
        f"[bold]Answers[/] ({evaluation.default}): token F1 {answers.token_f1:.3f}, "
        f"containment {answers.containment:.3f}, citation precision "
        f"{answers.citation_precision:.3f}, abstention accuracy "
        f"{answers.abstention_accuracy:.3f}, false abstentions "
        f"{answers.false_abstention_rate:.3f}."
    )
    for note in evaluation.notes:
        console.print(f"[dim]{escape(note)}[/]")
    console.print("Dashboard, report, model card and metrics:")
    show_written(result.files)
    if gate:
        if result.failures:
            for failure in result.failures:
                console.print(f"[bold red]Gate missed:[/] {escape(failure)}", soft_wrap=True)
            raise typer.Exit(code=1)
        console.print("[bold green]Gate passed[/]: every evaluate.gate_* threshold is met.")
    return evaluation


@app.command()
def ingest(
    corpus: CorpusOption = None,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Parse and embed every file again.")
    ] = False,
    config_file: ConfigOption = None,
    overrides: SetOption = None,
) -> None:
    """Index the documents: only new or changed files are parsed, deleted ones removed."""
    with user_errors():
        do_ingest(settings_from(config_file, overrides, corpus), rebuild=rebuild)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    source: SourceOption = "",
    config_file: ConfigOption = None,
    overrides: SetOption = None,
) -> None:
    """The passages that best match a query, with their scores and stage timings."""
    from . import pipeline

    with user_errors():
        settings = settings_from(config_file, overrides)
        retrieval = pipeline.run_search(settings, query, source_prefix=source)
    table = Table("#", "score", "section", "text", title=f"Search: {escape(query)}")
    for rank, hit in enumerate(retrieval.hits, start=1):
        snippet = " ".join(hit.chunk.text.split())[:90]
        table.add_row(str(rank), f"{hit.score:.3f}", escape(hit.chunk.section_id), escape(snippet))
    console.print(table)
    timings = ", ".join(f"{stage} {ms:.1f} ms" for stage, ms in retrieval.timings_ms.items())
    console.print(f"[dim]{timings}[/]")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="A question about the documents.")],
    generator: Annotated[
        str | None,
        typer.Option(
            "--generator",
            help="extractive, or llm for the OpenAI-compatible server of LLM_BASE_URL "
            "[default: answer.generator].",
        ),
    ] = None,
    source: SourceOption = "",
    config_file: ConfigOption = None,
    overrides: SetOption = None,
) -> None:
    """Answer from the documents with [n] citations, or say "I don't know"."""
    from . import pipeline

    chosen = [f"answer.generator={generator}"] if generator is not None else []
    with user_errors():
        settings = settings_from(config_file, [*(overrides or ()), *chosen])
        answer = pipeline.run_ask(settings, question, source_prefix=source)
    print_answer(answer)
    if answer.generator == "llm":
        console.print(f"[dim]Model {escape(settings.llm.model)} at {settings.llm.base_url}[/]")


@app.command(name="eval")
def evaluate_command(
    split: Annotated[
        str | None,
        typer.Option("--split", help="test, dev or all [default: evaluate.split, test]."),
    ] = None,
    gate: Annotated[
        bool,
        typer.Option("--gate", help="Exit 1 when an evaluate.gate_* threshold is missed."),
    ] = False,
    config_file: ConfigOption = None,
    overrides: SetOption = None,
) -> None:
    """Score BM25, dense, hybrid and hybrid+rerank on the eval set; write the dashboard."""
    with user_errors():
        if split is not None and split not in SPLITS:
            raise InvalidSettingError(f"--split {split}: use one of {', '.join(SPLITS)}.")
        do_eval(settings_from(config_file, overrides), split, gate=gate)


@app.command()
def tune(
    apply: Annotated[
        bool,
        typer.Option("--apply", help="Write the chosen values into configs/default.toml."),
    ] = False,
    config_file: ConfigOption = None,
    overrides: SetOption = None,
) -> None:
    """Choose the fusion, the reranker and the abstention threshold on the dev split only."""
    from . import pipeline, tuning

    with user_errors():
        settings = settings_from(config_file, overrides)
        with console.status("Tuning on the dev split…"):
            result = pipeline.run_tune(settings)
    console.print(
        f"[bold]Chosen on {result.questions} dev questions[/]: fusion {result.fusion_label}; "
        f"reranker {result.rerank_kind} (dev nDCG@10 {result.ndcg_without_rerank:.3f} without, "
        f"{result.ndcg_with_rerank:.3f} with); abstain below support "
        f"{result.threshold.value:g} (balanced accuracy "
        f"{result.threshold.balanced_accuracy:.3f})."
    )
    config = config_file or settings.paths.config_file
    if apply:
        changed = tuning.apply_to_config(result, config) if config.is_file() else []
        console.print(f"Written to {shown(config)}: {', '.join(changed) or 'nothing changed'}.")
    else:
        settings_line = " ".join(
            f"--set {group}.{name}={value}"
            for group, values in result.settings().items()
            for name, value in values.items()
        )
        console.print(f"Use them with `tune --apply`, or per command: {settings_line}")
    show_written([settings.paths.tuning_md])


@app.command()
def serve() -> None:
    """Serve the HTTP API as the container does: gunicorn with uvicorn workers, on $HOST:$PORT."""
    from .server import installed_argv

    # Checked here, so a bad setting is one line and exit code 2, not a worker's traceback.
    with user_errors():
        load_server_settings()
        settings_from(None, None)
    argv = installed_argv()
    # exec, not a child process: gunicorn gets the signals (SIGTERM for a graceful stop) itself.
    # The arguments are a list built by installed_argv(), so no shell is wanted (S606).
    os.execv(argv[0], argv)  # noqa: S606


@app.command()
def site() -> None:
    """Build the results site in site/ from the latest reports: run `demo` first."""
    from .site import Page, build_for

    with user_errors():
        paths = settings_from(None, None).paths
        built = build_for(
            paths, [Page("Dashboard", paths.dashboard_html), Page("Report", paths.report_html)]
        )
    console.print(f"[bold]Results site[/]: {built.summary()}")


@app.command()
def demo(overrides: SetOption = None) -> None:
    """Ingest the bundled corpus, answer a few questions, evaluate, write the dashboard."""
    from . import pipeline

    started = time.perf_counter()
    with user_errors():
        settings = settings_from(None, overrides)
        embedder = pipeline.load_embedder(settings) if settings.retrieval.mode != "bm25" else None
        do_ingest(settings, rebuild=False, embedder=embedder)
        for question in DEMO_QUESTIONS:
            print_answer(pipeline.run_ask(settings, question, embedder))
        evaluation = do_eval(settings, None, gate=False, embedder=embedder)
    paths = settings.paths
    head = evaluation.headline
    console.print(
        Panel(
            f"Default configuration [bold]{evaluation.default}[/] on the {evaluation.split} "
            f"split: recall@5 [bold]{head.scores['recall_at_5']:.3f}[/], nDCG@10 "
            f"[bold]{head.scores['ndcg_at_10']:.3f}[/], abstention accuracy "
            f"{evaluation.answers.abstention_accuracy:.3f}\n"
            f"Dashboard: {shown(paths.dashboard_html)}\n"
            f"Report: {shown(paths.report_html)} (and {shown(paths.report_md)})\n"
            f"Model card: {shown(paths.model_card)}\n"
            f"Finished in {time.perf_counter() - started:.1f} s",
            title=f"{PROJECT_NAME} demo",
            expand=False,
        )
    )
