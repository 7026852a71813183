"""Where every stage reads and writes: folders and files under the project folder."""

from pathlib import Path

from .html_report import ReportPaths


class Paths(ReportPaths):
    """The shared folders, and the files of the image pipeline's stages."""

    @property
    def raw_dir(self) -> Path:
        """The images, one subfolder per class: data/raw/<class>/*.png|jpg."""
        return self.root / "data" / "raw"

    @property
    def manifest(self) -> Path:
        """The split manifest `data` writes: one row per image, path, label and split."""
        return self.data_dir / "split.csv"

    @property
    def classes_json(self) -> Path:
        return self.data_dir / "classes.json"

    @property
    def config_file(self) -> Path:
        """The config file `train` reads unless --config names another."""
        return self.root / "configs" / "default.toml"

    @property
    def runs_dir(self) -> Path:
        """One folder per training run: its resolved config and its history."""
        return self.models_dir / "runs"

    @property
    def checkpoints_dir(self) -> Path:
        return self.models_dir / "checkpoints"

    @property
    def checkpoint_last(self) -> Path:
        return self.checkpoints_dir / "last.pt"

    @property
    def checkpoint_best(self) -> Path:
        return self.checkpoints_dir / "best.pt"

    @property
    def onnx_model(self) -> Path:
        return self.models_dir / "model.onnx"

    @property
    def predictions_csv(self) -> Path:
        return self.reports_dir / "predictions.csv"

    @property
    def predictions_json(self) -> Path:
        return self.reports_dir / "predictions.json"
