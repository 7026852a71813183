"""Loading, validating and splitting the data: every problem found here names its column."""

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Protocol

import pandas as pd
from pydantic import BaseModel, ConfigDict
from sklearn.model_selection import train_test_split

from . import ENV_PREFIX
from .errors import DataValidationError, MissingArtifactError
from .settings import ColumnRule

SAMPLE_CSV = "heart_disease.csv"
# The source recorded for the bundled sample, where a user's data records its path.
SAMPLE_SOURCE = "bundled sample"
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
# Delimiters a spreadsheet may write; the header line, which holds no numbers, tells them apart.
DELIMITERS = (",", ";", "\t", "|")
SNIFFED_BYTES = 65_536
# A cell such as `12,5` between two delimiters: a number written with a decimal comma.
DECIMAL_COMMA = re.compile(r"(?:^|[;\t|])\s*-?\d+,\d+\s*(?:[;\t|]|$)", re.MULTILINE)


# The bundled data's rules: a cholesterol or a resting blood pressure of 0 is impossible and
# was written where the value was not measured (172 rows of chol, from two of the four sites).
SAMPLE_RULES: dict[str, ColumnRule] = {
    "chol": ColumnRule(missing=(0.0,)),
    "trestbps": ColumnRule(missing=(0.0,)),
}


class ColumnFinding(BaseModel):
    """A column the data check dropped or flagged, why, and the setting that changes it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    column: str
    kind: str
    action: str
    reason: str
    setting: str

    def describe(self) -> str:
        return f"'{self.column}' ({self.kind}): {self.reason}; {self.setting}."


@dataclass(frozen=True)
class Labels:
    """The target's two values as the data writes them: the second one is the positive class."""

    negative: str = "0"
    positive: str = "1"

    def describe(self) -> str:
        return f"{self.negative} → 0, {self.positive} → 1 (positive)"


@dataclass(frozen=True)
class CsvFormat:
    """How a CSV file writes its cells."""

    delimiter: str = ","
    decimal: str = "."

    def describe(self) -> str:
        names = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
        decimal = "decimal commas" if self.decimal == "," else "decimal points"
        return f"{names[self.delimiter]}-separated, {decimal}"


@dataclass(frozen=True)
class Loaded:
    """Validated rows with a 0/1 target, and what loading found and changed on the way."""

    frame: pd.DataFrame
    labels: Labels
    csv_format: CsvFormat
    # Cells per column that a rule turned into missing values.
    replaced: dict[str, int]
    rules: dict[str, ColumnRule]


@dataclass(frozen=True)
class Split:
    """The training and held-out rows, and the column to predict."""

    train: pd.DataFrame
    holdout: pd.DataFrame
    target: str
    source: str
    labels: Labels = field(default_factory=Labels)
    replaced: dict[str, int] = field(default_factory=dict)
    rules: dict[str, ColumnRule] = field(default_factory=dict)
    findings: list[ColumnFinding] = field(default_factory=list)


def sniff_format(path: Path) -> CsvFormat:
    """The delimiter that splits the header line most, and whether numbers use a decimal comma."""
    with path.open(encoding="utf-8", errors="replace") as file:
        text = file.read(SNIFFED_BYTES)
    header = text.split("\n", 1)[0]
    delimiter = max(DELIMITERS, key=header.count)
    if not header.count(delimiter):
        delimiter = ","
    decimal = "," if delimiter != "," and DECIMAL_COMMA.search(text) else "."
    return CsvFormat(delimiter=delimiter, decimal=decimal)


def read_csv_with_format(path: Path) -> tuple[pd.DataFrame, CsvFormat]:
    """Read a CSV file and say how it was written, turning every failure into one message."""
    if not path.is_file():
        raise DataValidationError(f"{path} does not exist: pass the path of a CSV file.")
    csv_format = CsvFormat()
    try:
        csv_format = sniff_format(path)
        frame = pd.read_csv(path, sep=csv_format.delimiter, decimal=csv_format.decimal)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataValidationError(
            f"{path} could not be read as CSV, {csv_format.describe()} ({error}): save it as "
            "UTF-8 text with a header row, one delimiter (comma or semicolon) throughout."
        ) from error
    return coerce_booleans(frame), csv_format


def read_csv(path: Path) -> pd.DataFrame:
    """Read a CSV file (comma or semicolon, decimal point or comma) into a frame."""
    return read_csv_with_format(path)[0]


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


def apply_rules(
    frame: pd.DataFrame, rules: Mapping[str, ColumnRule]
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Empty the cells a rule calls impossible; return the frame and the count per column."""
    frame = frame.copy()
    replaced = {}
    for column, rule in rules.items():
        if column not in frame.columns or not pd.api.types.is_numeric_dtype(frame[column]):
            continue
        values = frame[column]
        bad = values.isin(rule.missing)
        if rule.min is not None:
            bad |= values < rule.min
        if rule.max is not None:
            bad |= values > rule.max
        if bad.any():
            frame[column] = values.mask(bad).astype("float64")
            replaced[column] = int(bad.sum())
    return frame, replaced


def validate(frame: pd.DataFrame, target: str, min_rows: int) -> pd.DataFrame:
    """Check the data can train a binary classifier; return it with a 0/1 target."""
    frame, _ = validate_labelled(frame, target, min_rows)
    return frame


def label_mapping(values: pd.Series, positive_label: str | None) -> Labels:
    """Which of the target's two values is positive: the one named, else the larger."""
    classes = sorted(values.unique())
    names = [str(value) for value in classes]
    if positive_label is None:
        return Labels(negative=names[0], positive=names[1])
    if positive_label not in names:
        raise DataValidationError(
            f"Positive label '{positive_label}' is not a value of the target (it has "
            f"{' and '.join(names)}): pass one of them with --positive-label."
        )
    negative = names[1] if positive_label == names[0] else names[0]
    return Labels(negative=negative, positive=positive_label)


def validate_labelled(
    frame: pd.DataFrame, target: str, min_rows: int, positive_label: str | None = None
) -> tuple[pd.DataFrame, Labels]:
    """Check the data can train a binary classifier; return it with a 0/1 target, and the labels."""
    if target not in frame.columns:
        hint = ""
        if len(frame.columns) == 1 and ";" in str(frame.columns[0]):
            hint = " The header holds semicolons: save the file with one delimiter throughout."
        raise DataValidationError(
            f"Target column '{target}' is not in the data (columns: {', '.join(frame.columns)}): "
            f"pass the right name with --target.{hint}"
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
    # Unless one is named, the larger of the two labels (1, True, "yes") is the positive class.
    labels = label_mapping(frame[target], positive_label)
    frame = frame.copy()
    frame[target] = (frame[target].astype(str) == labels.positive).astype("int64")
    return frame, labels


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
    """Read and validate a CSV file, or the bundled sample when no path is given, as it is."""
    return load_checked(path, target, min_rows, rules={}).frame


def load_checked(
    path: Path | None,
    target: str,
    min_rows: int,
    *,
    positive_label: str | None = None,
    rules: Mapping[str, ColumnRule] | None = None,
) -> Loaded:
    """Read, clean and validate the data, and say how it was read and what was changed.

    Without rules of its own, the bundled sample gets its rules (SAMPLE_RULES) and a user's
    file none.
    """
    if path is None:
        frame, csv_format = read_sample(), CsvFormat()
    else:
        frame, csv_format = read_csv_with_format(path)
    chosen = dict(SAMPLE_RULES if rules is None and path is None else rules or {})
    frame, replaced = apply_rules(frame, chosen)
    frame, labels = validate_labelled(frame, target, min_rows, positive_label)
    return Loaded(frame, labels, csv_format, replaced, chosen)


def split(  # noqa: PLR0913 (what loading found travels with the rows)
    frame: pd.DataFrame,
    target: str,
    holdout_fraction: float,
    seed: int,
    source: str,
    *,
    loaded: Loaded | None = None,
) -> Split:
    """A stratified split, fixed by the seed so every stage sees the same held-out rows."""
    train, holdout = train_test_split(
        frame, test_size=holdout_fraction, stratify=frame[target], random_state=seed
    )
    if loaded is None:
        return Split(train, holdout, target, source)
    return Split(
        train,
        holdout,
        target,
        source,
        labels=loaded.labels,
        replaced=loaded.replaced,
        rules=loaded.rules,
    )


class DataSettings(Protocol):
    """What loading and splitting read of a project's data settings (its DataConfig)."""

    @property
    def min_rows(self) -> int: ...

    @property
    def holdout_fraction(self) -> float: ...

    @property
    def missing_rules(self) -> Mapping[str, ColumnRule] | None: ...


def load_and_split(
    csv: Path | None,
    target: str,
    config: DataSettings,
    seed: int,
    positive_label: str | None = None,
) -> tuple[Loaded, Split]:
    """Read, clean and validate the data (a user's CSV, or the bundled sample), then split it.

    The split carries what loading found (labels, rules, replaced values) to every later stage.
    """
    loaded = load_checked(
        csv, target, config.min_rows, positive_label=positive_label, rules=config.missing_rules
    )
    source = str(csv) if csv else SAMPLE_SOURCE
    return loaded, split(
        loaded.frame, target, config.holdout_fraction, seed, source=source, loaded=loaded
    )


def save_split(data: Split, folder: Path) -> list[Path]:
    """Write the split and a note of its target, labels and cleaning for the later stages."""
    folder.mkdir(parents=True, exist_ok=True)
    data.train.to_csv(folder / TRAIN_CSV, index=False)
    data.holdout.to_csv(folder / HOLDOUT_CSV, index=False)
    manifest = {
        "target": data.target,
        "source": data.source,
        "labels": {"negative": data.labels.negative, "positive": data.labels.positive},
        "replaced": data.replaced,
        "rules": {name: rule.model_dump() for name, rule in data.rules.items()},
        "findings": [finding.model_dump() for finding in data.findings],
    }
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
        labels=Labels(**manifest.get("labels", {})),
        replaced=manifest.get("replaced", {}),
        rules={
            name: ColumnRule.model_validate(rule)
            for name, rule in manifest.get("rules", {}).items()
        },
        findings=[ColumnFinding.model_validate(item) for item in manifest.get("findings", [])],
    )


def fingerprint(frame: pd.DataFrame) -> str:
    """A SHA-256 of the rows' contents: the same data always gives the same hash."""
    row_hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.sha256(row_hashes.tobytes()).hexdigest()


def class_balance(target: pd.Series) -> dict[int, int]:
    """How many rows each class has."""
    counts = target.value_counts().sort_index()
    return dict(zip(counts.index.astype(int).tolist(), counts.tolist(), strict=True))
