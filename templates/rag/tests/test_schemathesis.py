"""Property-based tests from the app's own OpenAPI schema: no server error, no schema violation.

Schemathesis reads /openapi.json and generates requests for every operation: valid ones
(positive mode) and ones the schema forbids (negative mode). On every answer it runs all of its
checks: no 5xx; status code, content type, headers and body as documented; data the schema
forbids refused with a 4xx; data it allows accepted.
"""

# Postponed annotations: schemathesis.Case is generic only in recent releases.
from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import positive_data_acceptance

from .api_fixtures import TOKEN, app_for, indexed_project

# Examples per operation and mode: enough to find a crash or a schema mismatch, few enough to
# keep the suite fast. Raise it locally when hunting a bug.
MAX_EXAMPLES = 40
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> schemathesis.BaseSchema:
    """The app's schema, over a project of its own: the ingest examples change its index."""
    root = indexed_project(tmp_path_factory.mktemp("schemathesis") / "project")
    return schemathesis.openapi.from_asgi("/openapi.json", app_for(root))


def test_every_route_is_in_the_schema(api_schema: schemathesis.BaseSchema) -> None:
    """What the schema leaves out, schemathesis cannot test: every route must be documented."""
    documented = set(api_schema.raw_schema["paths"])
    assert {"/v1/ask", "/v1/search", "/v1/ingest", "/healthz", "/readyz"} <= documented


def excluded_checks(case: schemathesis.Case[Any]) -> list[Any]:
    """A schema cannot say which bytes make a readable document: an upload the schema allows
    may still be refused (422, naming the file). Every other check still applies to it."""
    return [positive_data_acceptance] if case.operation.path == "/v1/ingest" else []


# One test per mode rather than schemathesis' `@schema.parametrize()`: its pytest plugin reads
# a private pytest attribute that pytest 9.2 removed, so the examples are driven by Hypothesis.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_honours_its_schema(api_schema: schemathesis.BaseSchema, mode: GenerationMode) -> None:
    results = list(api_schema.get_all_operations())
    chosen = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(chosen) == len(results), "schemathesis cannot read some operations"
    if mode is GenerationMode.NEGATIVE:
        # Only what takes input can be sent invalid input.
        chosen = [op for op in chosen if op.body or any(op.iter_parameters())]
        assert chosen, "no operation takes input, so negative mode tests nothing"
    for operation in chosen:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case: schemathesis.Case[Any]) -> None:
            case.call_and_validate(headers=AUTH, excluded_checks=excluded_checks(case))

        call()
