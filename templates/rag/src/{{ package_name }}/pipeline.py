"""The pipeline stages as plain functions: the command line and the tests both call these."""

import importlib.util
import json
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from . import dashboard, evaluate, report, tuning
from .answer import Generator, load_generator
from .config import Settings
from .errors import MissingArtifactError
from .evaluate import Configuration, EvalQuestion, Evaluation, QuestionRun
from .ingest import IngestSummary, ingest
from .records import Answer
from .rerank import load_reranker
from .retrieve import Retrieval, Retriever
from .store import Store, open_store

if TYPE_CHECKING:
    from .embeddings import Embedder

# nDCG@10 needs ten passages, whatever retrieval.k the answers use.
EVAL_DEPTH = 10


def embeddings_installed() -> bool:
    """Whether this project can embed at all (a lite project has no sentence-transformers)."""
    return importlib.util.find_spec("sentence_transformers") is not None


def load_embedder(settings: Settings) -> "Embedder":
    from .embeddings import load_embedder as load

    return load(settings.embeddings)


class CachedEmbedder:
    """An embedder that remembers the texts it embedded: an evaluation asks each question of
    several configurations, and tuning of a dozen, so each is embedded once. The time the first
    embedding took is kept, so every configuration's latency still counts it."""

    def __init__(self, embedder: "Embedder") -> None:
        self.inner = embedder
        self.cache: dict[str, NDArray[np.float32]] = {}
        self.cost_ms: dict[str, float] = {}

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        missing = [text for text in dict.fromkeys(texts) if text not in self.cache]
        if missing:
            started = time.perf_counter()
            self.cache.update(zip(missing, self.inner.embed(missing), strict=True))
            share = (time.perf_counter() - started) * 1000.0 / len(missing)
            self.cost_ms.update(dict.fromkeys(missing, share))
        return np.stack([self.cache[text] for text in texts]).astype(np.float32)


def run_ingest(
    settings: Settings, *, rebuild: bool = False, embedder: "Embedder | None" = None
) -> IngestSummary:
    """Bring the index up to date; the summary is saved for `eval`'s ingest latency."""
    paths = settings.paths
    if embedder is None and settings.retrieval.mode != "bm25":
        embedder = load_embedder(settings)
    summary = ingest(settings, paths, embedder, rebuild=rebuild)
    # A run that found nothing to do timed nothing: the last real ingest's timings stand.
    if any(summary.timings_ms.get(stage) for stage in ("parse", "chunk", "embed")):
        paths.ingest_json.parent.mkdir(parents=True, exist_ok=True)
        paths.ingest_json.write_text(json.dumps(asdict(summary), indent=2) + "\n")
    return summary


def open_index(settings: Settings) -> Store:
    """The index, which must hold chunks: search, ask and eval need `ingest` first."""
    store = open_store(settings)
    if store.count() == 0:
        store.close()
        raise MissingArtifactError(f"the index in {store.location} is empty: run `ingest` first.")
    return store


def retriever_for(
    settings: Settings,
    store: Store,
    configuration: Configuration,
    embedder: "Embedder | None",
) -> Retriever:
    """A retriever of one configuration; its reranker is the configured one, lexical if none."""
    config = settings.retrieval.model_copy(update={"mode": configuration.mode})
    reranker = None
    if configuration.rerank:
        rerank = settings.rerank
        if rerank.kind == "none":
            rerank = rerank.model_copy(update={"kind": "lexical"})
        reranker = load_reranker(rerank, device=settings.embeddings.device)
    return Retriever(store, config, embedder if configuration.mode != "bm25" else None, reranker)


def default_configuration(settings: Settings) -> Configuration:
    return Configuration(settings.retrieval.mode, settings.rerank.kind != "none")


def configurations(settings: Settings, dense_ready: bool) -> list[Configuration]:
    """What `eval` compares: BM25, dense, hybrid and hybrid+rerank, and the default if other."""
    planned = [Configuration("bm25", rerank=False)]
    if dense_ready:
        planned += [
            Configuration("dense", rerank=False),
            Configuration("hybrid", rerank=False),
            Configuration("hybrid", rerank=True),
        ]
    default = default_configuration(settings)
    return planned if default in planned else [*planned, default]


def dense_note(store: Store) -> str:
    """Why only BM25 was evaluated."""
    if not embeddings_installed():
        return (
            "Only BM25 was evaluated: this project was generated with retrieval = lite, "
            "without torch or an embedding model. Dense, hybrid and hybrid+rerank need "
            "retrieval = hybrid (`uvx copier update --defaults --data retrieval=hybrid`)."
        )
    return (
        f"Only BM25 was evaluated: the index in {store.location} has no vectors (it was built "
        "with retrieval.mode = bm25). Run `ingest --rebuild` with the hybrid mode to compare "
        "dense and hybrid retrieval."
    )


def rerank_note(settings: Settings, tuned: tuning.TuningResult | None) -> str:
    if settings.rerank.kind != "none":
        return ""
    if tuned is None:
        return (
            "The reranker is off by default (rerank.kind = none); hybrid+rerank shows what the "
            "lexical reranker would do. Run `tune` to decide on the dev split."
        )
    return (
        "The reranker is off by default: on the dev split the lexical reranker moved nDCG@10 "
        f"from {tuned.ndcg_without_rerank:.3f} to {tuned.ndcg_with_rerank:.3f}, less than the "
        f"{tuning.MIN_RERANK_GAIN} gain that pays for its time (reports/tuning.md)."
    )


def ask_all(
    questions: Sequence[EvalQuestion],
    retriever: Retriever,
    configuration: Configuration,
    generator: Generator,
    *,
    answer: bool,
) -> list[QuestionRun]:
    """Every question through one configuration; answers only for the default one.

    `generator` gives every question's support score (and the answers): one generator, built
    from the whole index, serves all configurations. The answers see the retriever's k passages.
    """
    k = retriever.config.k
    runs = []
    for question in questions:
        retrieval = retriever.search(question.question, k=max(EVAL_DEPTH, k))
        shown = retrieval.hits[:k]
        timings = {"retrieve": retrieval.timings_ms.get("retrieve", 0.0)}
        embedder = retriever.embedder
        if isinstance(embedder, CachedEmbedder) and "embed_query" in retrieval.timings_ms:
            # A cached vector came back at once: count what embedding it first cost.
            timings["retrieve"] += (
                embedder.cost_ms[question.question] - retrieval.timings_ms["embed_query"]
            )
        if "rerank" in retrieval.timings_ms:
            timings["rerank"] = retrieval.timings_ms["rerank"]
        result: Answer | None = generator.answer(question.question, shown) if answer else None
        if result is not None:
            timings["answer"] = result.timings_ms.get("answer", 0.0)
        runs.append(
            QuestionRun(
                question_id=question.id,
                configuration=configuration.name,
                ranked_sections=tuple(hit.chunk.section_id for hit in retrieval.hits),
                top_score=float(generator.support(question.question, shown)),
                timings_ms=timings,
                answer=result.text if result else "",
                abstained=result.abstained if result else False,
                cited_sections=tuple(c.section_id for c in result.citations) if result else (),
            )
        )
    return runs


def ingest_latency(settings: Settings) -> dict[str, dict[str, float]]:
    """p50 and p95 of the ingest stages, from the last ingest that did work."""
    path = settings.paths.ingest_json
    if not path.is_file():
        return {}
    timings = json.loads(path.read_text()).get("timings_ms", {})
    return {
        stage: evaluate.latency([float(value) for value in timings.get(stage, [])])
        for stage in evaluate.INGEST_STAGES
        if timings.get(stage)
    }


@dataclass(frozen=True)
class EvalRun:
    """What `eval` produced: the evaluation, the gate's verdict and the files written."""

    evaluation: Evaluation
    failures: list[str]
    files: list[Path]


def run_eval(
    settings: Settings, split: str | None = None, embedder: "Embedder | None" = None
) -> EvalRun:
    """Every configuration on a split; metrics, dashboard, report and model card; MLflow."""
    paths = settings.paths
    split = split or settings.evaluate.split
    questions = evaluate.load_questions(paths.eval_set, split)
    config = settings.evaluate
    with open_index(settings) as store:
        dense_ready = store.embedder_name() is not None and embeddings_installed()
        if dense_ready:
            embedder = CachedEmbedder(embedder or load_embedder(settings))
        planned = configurations(settings, dense_ready)
        default = default_configuration(settings)
        # The support score weighs question words by their rarity in the index.
        generator = load_generator(settings.answer, store.all_chunks(), settings.llm)
        all_runs: list[QuestionRun] = []
        scores = []
        for configuration in planned:
            retriever = retriever_for(settings, store, configuration, embedder)
            runs = ask_all(
                questions, retriever, configuration, generator, answer=configuration == default
            )
            all_runs += runs
            scores.append(
                evaluate.score_retrieval(
                    configuration.name, questions, runs, config.bootstrap_samples, settings.seed
                )
            )
    default_runs = [run for run in all_runs if run.configuration == default.name]
    notes = [] if dense_ready else [dense_note(store)]
    notes.append(rerank_note(settings, tuning.load(paths)))
    # A question that retrieves nothing skips the later stages (nothing to rerank): each stage's
    # latency is over the questions that ran it.
    query_latency = {
        stage: evaluate.latency(
            [run.timings_ms[stage] for run in default_runs if stage in run.timings_ms]
        )
        for stage in evaluate.QUERY_STAGES
        if any(stage in run.timings_ms for run in default_runs)
    }
    evaluation = Evaluation(
        split=split,
        default=default.name,
        configurations=scores,
        answers=evaluate.score_answers(questions, default_runs),
        latency_ms={**ingest_latency(settings), **query_latency},
        notes=[note for note in notes if note],
        settings=settings.values(),
    )
    table = evaluate.per_question_table(questions, all_runs)
    files = write_outputs(evaluation, table, settings)
    failures = evaluate.gate_failures(
        evaluation, {name: getattr(config, name) for name in evaluate.GATES}
    )
    log_to_mlflow(settings, evaluation, files)
    return EvalRun(evaluation, failures, files)


def write_outputs(evaluation: Evaluation, table: pd.DataFrame, settings: Settings) -> list[Path]:
    """The dashboard (with its figures), metrics, history, report and model card."""
    paths = settings.paths
    drawn = dashboard.draw_figures(evaluation, paths)
    evaluation_with_figures = replace(
        evaluation,
        figures={
            key: path.relative_to(paths.reports_dir).as_posix() for key, path in drawn.items()
        },
    )
    files = evaluate.save(evaluation_with_figures, table, paths)
    # The history now holds this run too: draw it again, then the page.
    files += dashboard.write_dashboard(evaluation_with_figures, paths)
    files += report.write_report(evaluation_with_figures, table, paths)
    dense = any(config.name != "bm25" for config in evaluation.configurations)
    embedder = settings.embeddings.model if dense else None
    files.append(report.write_model_card(evaluation_with_figures, embedder, paths.model_card))
    resolved = paths.reports_dir / "eval_config.toml"
    resolved.write_text(settings.to_toml())
    files.append(resolved)
    return list(dict.fromkeys(files))


def log_to_mlflow(settings: Settings, evaluation: Evaluation, files: list[Path]) -> None:
    """One MLflow run per evaluation: the settings, every configuration's scores, the pages."""
    import mlflow

    from .tracking import start_run

    with start_run(settings, f"eval-{evaluation.split}", {"configuration": evaluation.default}):
        mlflow.log_params(flatten(evaluation.settings))
        values: dict[str, float] = {}
        for config in evaluation.configurations:
            # MLflow metric names take letters, digits and _-./ only.
            prefix = config.name.replace("+", "_")
            values |= {f"{prefix}.{key}": value for key, value in config.scores.items()}
        values |= {
            f"answer.{key}": float(value) for key, value in asdict(evaluation.answers).items()
        }
        values |= {
            f"latency_ms.{stage}.{kind}": value
            for stage, by_kind in evaluation.latency_ms.items()
            for kind, value in by_kind.items()
        }
        mlflow.log_metrics({key: value for key, value in values.items() if not math.isnan(value)})
        root = settings.project_root
        for path in files:
            folder = path.parent.relative_to(root).as_posix()
            mlflow.log_artifact(str(path), artifact_path=None if folder == "." else folder)


def flatten(values: dict[str, object], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat |= flatten(value, f"{name}.")
        else:
            flat[name] = str(value)
    return flat


def run_tune(settings: Settings, embedder: "Embedder | None" = None) -> tuning.TuningResult:
    """Choose fusion, reranker and abstention threshold on the dev split; write tuning.md."""
    questions = evaluate.load_questions(settings.paths.eval_set, "dev")
    with open_index(settings) as store:
        mode = settings.retrieval.mode
        if mode != "bm25":
            embedder = CachedEmbedder(embedder or load_embedder(settings))
        # Tuning changes retrieval only: one generator (word weights from the index) serves all.
        # It only scores support, so a language model configured to answer is never asked.
        generator = load_generator(settings.answer, store.all_chunks(), settings.llm)

        def dev_ndcg(candidate_settings: Settings, rerank: bool) -> float:
            configuration = Configuration(mode, rerank)
            retriever = retriever_for(candidate_settings, store, configuration, embedder)
            runs = ask_all(questions, retriever, configuration, generator, answer=False)
            scores = evaluate.score_retrieval(configuration.name, questions, runs, 0, 0)
            return scores.scores["ndcg_at_10"]

        candidates = []
        if mode == "hybrid":
            for fusion, weights in (
                ("rrf", (settings.retrieval.weight,)),
                ("weighted", tuning.WEIGHTS),
            ):
                for weight in weights:
                    candidate = with_values(
                        settings, retrieval={"fusion": fusion, "weight": weight}
                    )
                    candidates.append(tuning.Candidate(fusion, weight, dev_ndcg(candidate, False)))
            best = tuning.best_candidate(candidates)
            fusion, weight = best.fusion, best.weight
        else:
            fusion, weight = settings.retrieval.fusion, settings.retrieval.weight
        chosen = with_values(settings, retrieval={"fusion": fusion, "weight": weight})
        # The chosen fusion was scored among the candidates; without a sweep it is scored here.
        without = next(
            (c.ndcg_at_10 for c in candidates if (c.fusion, c.weight) == (fusion, weight)), None
        )
        if without is None:
            without = dev_ndcg(chosen, False)
        lexical = with_values(chosen, rerank={"kind": "lexical"})
        with_rerank = dev_ndcg(lexical, True)
        rerank_kind = "lexical" if tuning.rerank_helps(without, with_rerank) else "none"
        final = with_values(chosen, rerank={"kind": rerank_kind})
        configuration = default_configuration(final)
        retriever = retriever_for(final, store, configuration, embedder)
        runs = ask_all(questions, retriever, configuration, generator, answer=False)
    support = {run.question_id: run.top_score for run in runs}
    answerable = [support[q.id] for q in questions if q.answerable]
    unanswerable = [support[q.id] for q in questions if not q.answerable]
    result = tuning.TuningResult(
        questions=len(questions),
        mode=mode,
        fusion=fusion,
        weight=weight,
        candidates=candidates,
        rerank_kind=rerank_kind,
        ndcg_without_rerank=without,
        ndcg_with_rerank=with_rerank,
        threshold=tuning.choose_threshold(answerable, unanswerable),
        answerable_scores=answerable,
        unanswerable_scores=unanswerable,
    )
    tuning.save(result, settings.paths)
    return result


def with_values(settings: Settings, **groups: dict[str, object]) -> Settings:
    """A copy of the settings with some fields of some groups changed."""
    update = {
        group: getattr(settings, group).model_copy(update=values)
        for group, values in groups.items()
    }
    return settings.model_copy(update=update)


def search_index(
    settings: Settings,
    store: Store,
    query: str,
    embedder: "Embedder | None",
    source_prefix: str = "",
) -> Retrieval:
    if settings.retrieval.mode != "bm25" and embedder is None:
        embedder = load_embedder(settings)
    retriever = retriever_for(settings, store, default_configuration(settings), embedder)
    return retriever.search(query, source_prefix=source_prefix)


def run_search(
    settings: Settings, query: str, embedder: "Embedder | None" = None, source_prefix: str = ""
) -> Retrieval:
    """The passages for a query; `source_prefix` keeps files whose path starts with it."""
    with open_index(settings) as store:
        return search_index(settings, store, query, embedder, source_prefix)


def run_ask(
    settings: Settings, question: str, embedder: "Embedder | None" = None, source_prefix: str = ""
) -> Answer:
    with open_index(settings) as store:
        retrieval = search_index(settings, store, question, embedder, source_prefix)
        # The support score weighs question words by their rarity in the index, as in tuning.
        generator = load_generator(settings.answer, store.all_chunks(), settings.llm)
    answer = generator.answer(question, retrieval.hits)
    return replace(answer, timings_ms={**retrieval.timings_ms, **answer.timings_ms})
