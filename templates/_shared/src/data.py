"""Loading, validating and splitting the data: every problem found here names its column."""

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from . import ENV_PREFIX
from .errors import DataValidationError, MissingArtifactError

SAMPLE_CSV = "heart_disease.csv"
# The split, in the data folder: written by the first stage, read by every later one.
TRAIN_CSV = "train.csv"
HOLDOUT_CSV = "holdout.csv"
SPLIT_JSON = "split.json"
# The package this module belongs to: sample_data/ is installed inside it.
PACKAGE = __name__.rpartition(".")[0]
# A text column counts as numeric-looking, and its stray values as typos, when most cells parse.
NUMERIC_LOOKING_SHARE = 0.8
BAD_VALUES_SHOWN = 5
# The models are binary classifiers: the target must have exactly this many values.
BINARY_CLASSES = 2


@dataclass(frozen=True)
class Split:
    """The training and held-out rows, and the column to predict."""

    train: pd.DataFrame
    holdout: pd.DataFrame
    target: str
    source: str


def read_csv(path: Path) -> pd.DataFrame:
    """Read a CSV file, turning every way it can fail into a DataValidationError."""
    if not path.is_file():
        raise DataValidationError(f"{path} does not exist: pass the path of a CSV file.")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataValidationError(
            f"{path} could not be read as CSV ({error}): save it as comma-separated UTF-8 text "
            "with a header row."
        ) from error
    return coerce_booleans(frame)


def read_sample() -> pd.DataFrame:
    """The bundled UCI heart-disease sample (see sample_data/SOURCE.md)."""
    sample = resources.files(PACKAGE).joinpath("sample_data", SAMPLE_CSV)
    with resources.as_file(sample) as path:
        return read_csv(path)


def coerce_booleans(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn TRUE/FALSE columns into 1.0/0.0 so they are imputed and scaled like numbers."""
    frame = frame.copy()
    for column in frame.columns:
        values = frame[column].dropna()
        if len(values) and values.map(lambda value: isinstance(value, bool)).all():
            frame[column] = frame[column].map({True: 1.0, False: 0.0}).astype("float64")
    return frame


def validate(frame: pd.DataFrame, target: str, min_rows: int) -> pd.DataFrame:
    """Check the data can train a binary classifier; return it with a 0/1 target."""
    if target not in frame.columns:
        raise DataValidationError(
            f"Target column '{target}' is not in the data (columns: {', '.join(frame.columns)}): "
            "pass the right name with --target."
        )
    if len(frame) < min_rows:
        raise DataValidationError(
            f"The data has {len(frame)} rows, fewer than the minimum of {min_rows}: add rows, or "
            f"lower the minimum with the {ENV_PREFIX}DATA__MIN_ROWS setting."
        )
    empty = [str(column) for column in frame.columns if frame[column].isna().all()]
    if empty:
        raise DataValidationError(
            f"Column(s) {', '.join(empty)} hold no values at all: drop them from the CSV."
        )
    missing_target = int(frame[target].isna().sum())
    if missing_target:
        raise DataValidationError(
            f"Target column '{target}' is empty in {missing_target} rows: drop those rows or "
            "fill in their labels."
        )
    classes = sorted(frame[target].unique())
    if len(classes) != BINARY_CLASSES:
        raise DataValidationError(
            f"Target column '{target}' has {len(classes)} distinct value(s) "
            f"({', '.join(map(str, classes[:5]))}); a binary classifier needs exactly two."
        )
    for column in frame.columns.drop(target):
        check_numeric_looking(frame[column])
    # The larger of the two labels (1, True, "yes") is the positive class.
    frame = frame.copy()
    frame[target] = (frame[target] == classes[1]).astype("int64")
    return frame


def check_numeric_looking(column: pd.Series) -> None:
    """Raise if a text column is mostly numbers with a few cells that are not."""
    if pd.api.types.is_numeric_dtype(column):
        return
    values = column.dropna()
    parsed = pd.to_numeric(values, errors="coerce")
    share = parsed.notna().mean() if len(values) else 0.0
    if NUMERIC_LOOKING_SHARE <= share < 1.0:
        bad = values[parsed.isna()].astype(str).unique()[:BAD_VALUES_SHOWN]
        raise DataValidationError(
            f"Column '{column.name}' looks numeric but {int(parsed.isna().sum())} value(s) are "
            f"not numbers, for example {', '.join(repr(value) for value in bad)}: fix those "
            "cells or leave them empty."
        )


def load(path: Path | None, target: str, min_rows: int) -> pd.DataFrame:
    """Read and validate a CSV file, or the bundled sample when no path is given."""
    frame = read_sample() if path is None else read_csv(path)
    return validate(frame, target, min_rows)


def split(
    frame: pd.DataFrame, target: str, holdout_fraction: float, seed: int, source: str
) -> Split:
    """A stratified split, fixed by the seed so every stage sees the same held-out rows."""
    train, holdout = train_test_split(
        frame, test_size=holdout_fraction, stratify=frame[target], random_state=seed
    )
    return Split(train=train, holdout=holdout, target=target, source=source)


def save_split(data: Split, folder: Path) -> list[Path]:
    """Write the split and a note of its target column for the later stages."""
    folder.mkdir(parents=True, exist_ok=True)
    data.train.to_csv(folder / TRAIN_CSV, index=False)
    data.holdout.to_csv(folder / HOLDOUT_CSV, index=False)
    manifest = {"target": data.target, "source": data.source}
    (folder / SPLIT_JSON).write_text(json.dumps(manifest, indent=2) + "\n")
    return [folder / TRAIN_CSV, folder / HOLDOUT_CSV]


def load_split(folder: Path) -> Split:
    """Read the split written by the stage that splits the data."""
    if not (folder / SPLIT_JSON).is_file():
        raise MissingArtifactError(f"No data split in {folder}: run the `data` command first.")
    manifest = json.loads((folder / SPLIT_JSON).read_text())
    return Split(
        train=coerce_booleans(pd.read_csv(folder / TRAIN_CSV)),
        holdout=coerce_booleans(pd.read_csv(folder / HOLDOUT_CSV)),
        target=manifest["target"],
        source=manifest["source"],
    )


def fingerprint(frame: pd.DataFrame) -> str:
    """A SHA-256 of the rows' contents: the same data always gives the same hash."""
    row_hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.sha256(row_hashes.tobytes()).hexdigest()


def class_balance(target: pd.Series) -> dict[int, int]:
    """How many rows each class has."""
    counts = target.value_counts().sort_index()
    return dict(zip(counts.index.astype(int).tolist(), counts.tolist(), strict=True))
