"""Where every stage reads and writes: folders and files under the project folder."""

from pathlib import Path

from .settings import ProjectPaths


class Paths(ProjectPaths):
    """The shared folders, and the files of this pipeline's stages."""

    @property
    def demo_input(self) -> Path:
        return self.data_dir / "demo_input.csv"

    @property
    def figures_dir(self) -> Path:
        return self.reports_dir / "figures"

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
    def report_md(self) -> Path:
        return self.reports_dir / "report.md"

    @property
    def report_html(self) -> Path:
        return self.reports_dir / "report.html"

    @property
    def predictions_csv(self) -> Path:
        return self.reports_dir / "predictions.csv"
