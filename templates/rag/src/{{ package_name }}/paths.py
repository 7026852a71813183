"""Where every stage reads and writes: the corpus, the index, the eval set and the reports."""

from dataclasses import dataclass
from pathlib import Path

from .html_report import ReportPaths

# The bundled sample data is installed inside the package, beside this module.
SAMPLE_DATA = Path(__file__).resolve().parent / "sample_data"


@dataclass(frozen=True)
class Paths(ReportPaths):
    """The shared folders, and the files of the retrieval pipeline's stages."""

    # The documents to ingest; None means the bundled corpus. Relative to the project folder.
    corpus: Path | None = None

    @property
    def bundled_corpus(self) -> Path:
        """The documents shipped with the project (sample_data/SOURCE.md says where from)."""
        return SAMPLE_DATA / "corpus"

    @property
    def corpus_dir(self) -> Path:
        if self.corpus is None:
            return self.bundled_corpus
        return self.corpus if self.corpus.is_absolute() else self.root / self.corpus

    @property
    def config_file(self) -> Path:
        """The config file every command reads unless --config names another."""
        return self.root / "configs" / "default.toml"

    @property
    def index_dir(self) -> Path:
        """The embedded store: documents and chunks in SQLite, vectors in a matrix beside it."""
        return self.root / "data" / "index"

    @property
    def uploads_dir(self) -> Path:
        """Documents sent to POST /v1/ingest; every ingest reads them with the corpus."""
        return self.root / "data" / "uploads"

    @property
    def eval_set(self) -> Path:
        """The bundled questions with gold sections and reference answers."""
        return SAMPLE_DATA / "eval" / "questions.jsonl"

    @property
    def metrics_json(self) -> Path:
        """The latest evaluation's numbers, which the report and the model card quote."""
        return self.reports_dir / "metrics.json"

    @property
    def tuning_md(self) -> Path:
        """What `tune` chose on the dev split, and why."""
        return self.reports_dir / "tuning.md"

    @property
    def ingest_json(self) -> Path:
        """The last ingest's summary: counts, skipped files and stage timings."""
        return self.reports_dir / "ingest.json"

    @property
    def dashboard_html(self) -> Path:
        return self.reports_dir / "dashboard.html"

    @property
    def runs_history(self) -> Path:
        """One JSON line per evaluation run: the dashboard's quality across runs."""
        return self.reports_dir / "runs.jsonl"
