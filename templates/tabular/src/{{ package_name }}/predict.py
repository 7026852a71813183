"""Batch inference: score a CSV file with the saved model and write the scored rows."""

from dataclasses import dataclass
from pathlib import Path

from .config import Settings
from .data import apply_rules, read_csv
from .features import align
from .persistence import load_metadata, load_model


@dataclass(frozen=True)
class PredictionResult:
    """Where the scored rows went, how many, and which input columns the model ignored."""

    output: Path
    rows: int
    positives: int
    ignored_columns: list[str]


def predict_file(settings: Settings, input_csv: Path, output_csv: Path) -> PredictionResult:
    """Append `probability` and `prediction` columns to every input row, keeping all columns."""
    metadata = load_metadata(settings.paths.models_dir)
    model = load_model(settings.paths.models_dir)
    frame = read_csv(input_csv)
    # The values training treated as missing are missing here too.
    cleaned, _ = apply_rules(frame, metadata.missing_rules)
    features, ignored = align(cleaned, metadata.feature_schema)
    probability = model.predict_proba(features)[:, 1]
    scored = frame.assign(
        probability=probability, prediction=(probability >= metadata.threshold).astype(int)
    )
    output_csv.parent.mkdir(parents=True, exist_ok=True)
    scored.to_csv(output_csv, index=False)
    return PredictionResult(
        output=output_csv,
        rows=len(scored),
        positives=int(scored["prediction"].sum()),
        ignored_columns=ignored,
    )
