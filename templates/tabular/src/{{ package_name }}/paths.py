"""Where every stage reads and writes, relative to the directory the command runs in."""

from pathlib import Path

DATA_DIR = Path("data") / "processed"
TRAIN_CSV = DATA_DIR / "train.csv"
HOLDOUT_CSV = DATA_DIR / "holdout.csv"
SPLIT_JSON = DATA_DIR / "split.json"

MODELS_DIR = Path("models")
MODEL_FILE = MODELS_DIR / "model.skops"
METADATA_FILE = MODELS_DIR / "metadata.json"

REPORTS_DIR = Path("reports")
FIGURES_DIR = REPORTS_DIR / "figures"
EDA_DIR = REPORTS_DIR / "eda"
CV_RESULTS_MD = REPORTS_DIR / "cv_results.md"
CV_RESULTS_CSV = REPORTS_DIR / "cv_results.csv"
REPORT_MD = REPORTS_DIR / "report.md"
REPORT_HTML = REPORTS_DIR / "report.html"
PREDICTIONS_CSV = REPORTS_DIR / "predictions.csv"

MODEL_CARD = Path("MODEL_CARD.md")
