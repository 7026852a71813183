"""The training feature schema, and the preprocessing that turns columns into numbers."""

from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .errors import DataValidationError

# Numbers are scaled, everything else is one-hot encoded.
FeatureKind = Literal["numeric", "categorical"]


class Feature(BaseModel):
    """One input column: its name, its kind, its dtype, and the categories seen in training."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    kind: FeatureKind
    dtype: str
    categories: list[str] = []


class FeatureSchema(BaseModel):
    """The input columns in training order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    features: list[Feature]

    @property
    def numeric(self) -> list[str]:
        return [feature.name for feature in self.features if feature.kind == "numeric"]

    @property
    def categorical(self) -> list[str]:
        return [feature.name for feature in self.features if feature.kind == "categorical"]

    @property
    def names(self) -> list[str]:
        return [feature.name for feature in self.features]


def infer_schema(features: pd.DataFrame) -> FeatureSchema:
    """Numbers are numeric features; everything else is categorical."""
    schema = []
    for name in features.columns:
        column = features[name]
        if pd.api.types.is_numeric_dtype(column):
            schema.append(Feature(name=str(name), kind="numeric", dtype=str(column.dtype)))
        else:
            categories = sorted(column.dropna().astype(str).unique())
            schema.append(
                Feature(name=str(name), kind="categorical", dtype="string", categories=categories)
            )
    return FeatureSchema(features=schema)


def build_preprocessor(schema: FeatureSchema) -> ColumnTransformer:
    """Impute, scale and one-hot encode; refitted in every CV fold, so folds never share rows."""
    numeric = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    categorical = Pipeline(
        [
            ("impute", SimpleImputer(strategy="most_frequent")),
            # A category unseen in training becomes all zeros instead of an error at predict time.
            ("encode", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        ]
    )
    return ColumnTransformer(
        [("numeric", numeric, schema.numeric), ("categorical", categorical, schema.categorical)],
        verbose_feature_names_out=False,
    )


def align(frame: pd.DataFrame, schema: FeatureSchema) -> tuple[pd.DataFrame, list[str]]:
    """Check new rows against the training schema; return the model's columns and ignored ones."""
    missing = [name for name in schema.names if name not in frame.columns]
    if missing:
        raise DataValidationError(
            f"Column(s) {', '.join(missing)} are missing from the input but the model needs "
            "them: add them (cells may be empty)."
        )
    wrong = [
        f"'{name}' (expected numbers, got {frame[name].dtype})"
        for name in schema.numeric
        if not pd.api.types.is_numeric_dtype(frame[name]) and frame[name].notna().any()
    ]
    if wrong:
        raise DataValidationError(
            f"Column(s) {', '.join(wrong)} hold text where the model expects numbers: fix "
            "those cells or leave them empty."
        )
    aligned = frame[schema.names].copy()
    # An all-empty numeric column reads as text; the imputer needs it as numbers.
    for name in schema.numeric:
        aligned[name] = pd.to_numeric(aligned[name], errors="coerce")
    # Categories are compared as text, so a code column read as numbers still matches training.
    for name in schema.categorical:
        aligned[name] = aligned[name].map(str, na_action="ignore").astype("object")
    ignored = [str(name) for name in frame.columns if name not in schema.names]
    return aligned, ignored
