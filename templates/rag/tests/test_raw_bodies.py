"""Any bytes at all, sent as a question or a search: always a 4xx with a JSON reason, never a 5xx.

The machinery (tests/raw_bodies.py) sends the bytes through the ASGI app as raw messages; this
file names the routes and what a valid body of each looks like.
"""

import asyncio
import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import strategies as st

from .raw_bodies import assert_no_server_errors, hostile_bodies, json_object, send_raw

# Each route with a valid body's fields as raw JSON values.
ROUTES = {
    "/v1/ask": {"question": b'"How do I add an option?"', "top_k": b"3"},
    "/v1/search": {"query": b'"prompt for a password"', "top_k": b"3"},
}


@pytest.fixture(scope="module")
def served(client: TestClient) -> FastAPI:
    app = client.app
    assert isinstance(app, FastAPI)
    return app


def test_no_body_gets_a_server_error(served: FastAPI, caplog: pytest.LogCaptureFixture) -> None:
    bodies = st.sampled_from(sorted(ROUTES)).flatmap(
        lambda path: hostile_bodies(ROUTES[path]).map(lambda sent: (path, *sent))
    )
    tally = assert_no_server_errors(served, bodies, caplog)
    # Both routes had their share: a strategy that drifted to one would show here.
    assert all(tally.paths.get(path, 0) >= 100 for path in ROUTES), tally.paths


@pytest.mark.parametrize("path", sorted(ROUTES))
@pytest.mark.parametrize("value", [b"NaN", b"Infinity", b"1e999", b"true", b"3.5", b'"3"'])
def test_a_top_k_that_is_no_integer_is_refused_by_name(
    served: FastAPI, path: str, value: bytes
) -> None:
    body = json_object(ROUTES[path] | {"top_k": value})
    answer = asyncio.run(send_raw(served, path, b"application/json", [body]))
    assert answer.status == 422, answer.body
    assert "top_k:" in json.loads(answer.body)["message"]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'{"question": [' + b"[" * 50_000, "nested too deeply"),
        (b'{"question": "why", "top_k": ' + b"9" * 5000 + b"}", "integer too long"),
        (b'{"question": "\xff"}', "not UTF-8"),
    ],
    ids=["deep", "long-integer", "not-utf8"],
)
def test_an_unreadable_body_says_why(served: FastAPI, body: bytes, says: str) -> None:
    answer = asyncio.run(send_raw(served, "/v1/ask", b"application/json", [body]))
    assert answer.status == 400
    assert says in json.loads(answer.body)["detail"]


def test_a_body_over_the_limit_without_a_length_is_413(served: FastAPI) -> None:
    """Sent in chunks with no Content-Length, the body is counted as it arrives."""
    chunks = [b'{"question": "', b"why " * 10_000, b"why " * 10_000, b'"}']
    answer = asyncio.run(send_raw(served, "/v1/ask", b"application/json", chunks))
    assert answer.status == 413
    assert "MAX_BODY_BYTES" in json.loads(answer.body)["detail"]


def test_a_body_not_sent_as_json_is_415(served: FastAPI) -> None:
    body = json_object(ROUTES["/v1/ask"])
    answer = asyncio.run(send_raw(served, "/v1/ask", b"text/plain", [body]))
    assert answer.status == 415
    assert "Content-Type: application/json" in json.loads(answer.body)["detail"]


def test_a_lone_surrogate_is_refused_by_name(served: FastAPI) -> None:
    """JSON may escape half a UTF-16 pair; Python reads it, but it is no text to search for.

    The refusal echoes the input, which cannot be written as UTF-8 as it is: no server error.
    """
    body = b'{"question": "why \\ud800 not"}'
    answer = asyncio.run(send_raw(served, "/v1/ask", b"application/json", [body]))
    assert answer.status == 422, answer.body
    assert "question: Input should be a valid string" in json.loads(answer.body)["message"]
