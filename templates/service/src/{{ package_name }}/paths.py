"""Where every stage reads and writes: folders and files under the project folder."""

from pathlib import Path

from .settings import ProjectPaths


class Paths(ProjectPaths):
    """The shared folders, and the files of the pipeline and the service."""

    @property
    def prediction_log(self) -> Path:
        # Rebuilt by serving traffic, so it lives with the other git-ignored data.
        return self.data_dir / "prediction_log.jsonl"

    @property
    def gate_json(self) -> Path:
        # Beside the model it judges, so the image build can check the two belong together.
        return self.models_dir / "gate.json"

    @property
    def evaluation_json(self) -> Path:
        return self.reports_dir / "evaluation.json"

    @property
    def evaluation_md(self) -> Path:
        return self.reports_dir / "evaluation.md"

    @property
    def drift_dir(self) -> Path:
        return self.reports_dir / "drift"

    @property
    def drift_md(self) -> Path:
        return self.drift_dir / "drift.md"

    @property
    def bench_json(self) -> Path:
        return self.reports_dir / "bench.json"
