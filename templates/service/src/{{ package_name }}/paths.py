"""Where every stage reads and writes, relative to the directory the command runs in."""

from pathlib import Path

DATA_DIR = Path("data") / "processed"
TRAIN_CSV = DATA_DIR / "train.csv"
HOLDOUT_CSV = DATA_DIR / "holdout.csv"
SPLIT_JSON = DATA_DIR / "split.json"
# Logged predictions are rebuilt by serving traffic, so they live with the other git-ignored data.
PREDICTION_LOG = DATA_DIR / "prediction_log.jsonl"

# Everything the service needs travels in one folder: model, metadata and the training reference.
MODELS_DIR = Path("models")
MODEL_FILE = MODELS_DIR / "model.skops"
METADATA_FILE = MODELS_DIR / "metadata.json"
REFERENCE_CSV = MODELS_DIR / "reference.csv"

REPORTS_DIR = Path("reports")
EVALUATION_JSON = REPORTS_DIR / "evaluation.json"
DRIFT_DIR = REPORTS_DIR / "drift"
BENCH_JSON = REPORTS_DIR / "bench.json"

MODEL_CARD = Path("MODEL_CARD.md")
