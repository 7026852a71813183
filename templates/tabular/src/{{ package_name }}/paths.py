"""Where every stage reads and writes: folders and files under the project folder."""

from pathlib import Path

from .html_report import ReportPaths


class Paths(ReportPaths):
    """The shared folders, and the files of this pipeline's stages."""

    @property
    def demo_input(self) -> Path:
        return self.data_dir / "demo_input.csv"

    @property
    def eda_dir(self) -> Path:
        return self.reports_dir / "eda"

    @property
    def cv_results_md(self) -> Path:
        return self.reports_dir / "cv_results.md"

    @property
    def cv_results_csv(self) -> Path:
        return self.reports_dir / "cv_results.csv"

    @property
    def predictions_csv(self) -> Path:
        return self.reports_dir / "predictions.csv"
