"""The API's request and response models, generated from the training feature schema."""

import math
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, create_model

from .features import FeatureSchema

# Beyond this magnitude a number is a unit or encoding error, and the model's arithmetic would
# overflow to infinity; no measurement in a tabular model of this kind comes near it.
MAX_MAGNITUDE = 1e12
# Strict: `false` is not a number and `"63"` is not 63; extra or misspelt fields are refused.
STRICT = ConfigDict(strict=True, extra="forbid", frozen=True)


class ErrorBody(BaseModel):
    """Why a request was refused."""

    detail: str


@dataclass(frozen=True)
class ApiSchemas:
    """The models the routes are declared with."""

    record: type[BaseModel]
    request: type[BaseModel]
    prediction: type[BaseModel]
    response: type[BaseModel]


def record_model(schema: FeatureSchema) -> type[BaseModel]:
    """One input row: a nullable number per numeric feature, a known category per categorical."""
    fields: dict[str, Any] = {}
    for index, feature in enumerate(schema.features):
        if feature.kind == "numeric":
            annotation: Any = float | None
            constraints: dict[str, Any] = {
                "ge": -MAX_MAGNITUDE,
                "le": MAX_MAGNITUDE,
                "allow_inf_nan": False,
                "description": f"A number (training dtype {feature.dtype}); null if unknown.",
            }
        else:
            annotation = Literal[tuple(feature.categories)] | None
            constraints = {
                "description": "One of the categories seen in training; null if unknown."
            }
        # Column names need not be Python identifiers: the alias carries the real name.
        fields[f"feature_{index}"] = (annotation, Field(alias=feature.name, **constraints))
    return create_model("Record", __config__=STRICT, **fields)


def build(schema: FeatureSchema, target: str, max_batch_size: int) -> ApiSchemas:
    """The request, record, prediction and response models for this feature schema."""
    record = record_model(schema)
    request = create_model(
        "PredictRequest",
        __config__=STRICT,
        records=(
            list[record],  # type: ignore[valid-type]
            Field(min_length=1, max_length=max_batch_size, description="Rows to score."),
        ),
    )
    prediction = create_model(
        "Prediction",
        __config__=STRICT,
        probability=(float, Field(ge=0.0, le=1.0, description=f"Probability that {target} is 1.")),
        label=(Literal[0, 1], Field(description="1 when the probability reaches the threshold.")),
    )
    response = create_model(
        "PredictResponse",
        __config__=STRICT,
        predictions=(list[prediction], ...),  # type: ignore[valid-type]
        model_version=(str, Field(description="Hash of the model file that answered.")),
    )
    return ApiSchemas(record=record, request=request, prediction=prediction, response=response)


def json_record(row: pd.Series) -> dict[str, Any]:
    """A training row as a request record: NaN becomes null, numpy scalars plain Python."""
    record: dict[str, Any] = {}
    for name, value in row.items():
        if isinstance(value, float) and math.isnan(value):
            record[str(name)] = None
        elif hasattr(value, "item"):
            record[str(name)] = value.item()
        else:
            record[str(name)] = value
    return record
