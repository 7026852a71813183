"""Raw-body fuzzing of a JSON route: bytes no HTTP client would send, straight into the ASGI app.

schemathesis (test_schemathesis.py) generates standard JSON only. The bodies built here are what
it never sends: malformed and truncated bytes, nesting deeper than Python's recursion limit, NaN
and Infinity and other tokens JSON does not have, integers longer than the 4,300 digits Python
reads, and content types other than JSON. A type's test_raw_bodies.py names its routes and a
valid body for each; `assert_no_server_errors` does the rest.
"""

import asyncio
import itertools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.types import Message

# The issue that asked for this test asked for at least this many.
EXAMPLES = 1000
# Values JSON does not allow (or Python cannot read), put where a field's value goes.
BAD_TOKENS = [
    b"NaN",
    b"-NaN",
    b"Infinity",
    b"-Infinity",
    b"1e999",
    b"-1e400",
    b"+1",
    b".5",
    b"007",
    b"0x1F",
    b"1_000",
    b"True",
    b"None",
    b"undefined",
    b"'63'",
    b"[1,]",
    b"{}",
    b"// comment",
]
CONTENT_TYPES = [
    b"application/json",
    b"application/json; charset=utf-8",
    b"application/problem+json",
    b"text/plain",
    b"text/json",
    b"application/xml",
    b"application/x-www-form-urlencoded",
    b"multipart/form-data",
    b"multipart/form-data; boundary=x",
    b"",
    b";;=",
    None,
]
JSON_TYPES = CONTENT_TYPES[:3]
NOT_JSON_TYPES = CONTENT_TYPES[3:]

# Long integers and deep nesting, up to sizes a 1 MB body limit lets through.
long_integers = st.integers(4301, 50_000).map(lambda digits: b"-" + b"9" * digits)
deep_arrays = st.integers(1, 200_000).map(lambda depth: b"[" * depth + b"]" * depth)
bad_values = st.sampled_from(BAD_TOKENS) | long_integers | deep_arrays


@dataclass
class Answer:
    """What the app sent back for one request."""

    status: int = 0
    headers: dict[bytes, bytes] = field(default_factory=dict)
    body: bytes = b""


async def send_raw(
    app: FastAPI,
    path: str,
    content_type: bytes | None,
    chunks: list[bytes],
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> Answer:
    """POST `path` as ASGI messages: the body in `chunks`, exactly these bytes."""
    headers = [(b"host", b"testserver"), *(extra_headers or [])]
    if content_type is not None:
        headers.append((b"content-type", content_type))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    pending = list(chunks)
    answer = Answer()

    async def receive() -> Message:
        if pending:
            chunk = pending.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(pending)}
        # Asked again after the whole body: wait, as a client waiting for its answer does.
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            answer.status = message["status"]
            answer.headers = dict(message.get("headers", []))
        elif message["type"] == "http.response.body":
            answer.body += message.get("body", b"")

    await app(scope, receive, send)
    return answer


def json_object(fields: dict[str, bytes]) -> bytes:
    """A JSON object whose values are these raw bytes, valid JSON or not."""
    pairs = b", ".join(json.dumps(name).encode() + b": " + value for name, value in fields.items())
    return b"{" + pairs + b"}"


@st.composite
def hostile_bodies(
    draw: st.DrawFn, fields: dict[str, bytes], wrap: Callable[[bytes], bytes] = lambda body: body
) -> tuple[bytes | None, bytes]:
    """A content type and a body that no valid request has.

    `fields` are a valid body's fields as raw JSON values; `wrap` puts the object they make where
    the route expects it (inside a list of records, say). A "bad field" replaces one value with
    a token JSON does not have; the other kinds break the body as a whole.
    """
    valid = wrap(json_object(fields))
    kind = draw(
        st.sampled_from(
            ["bad field", "extra field", "whole body", "truncated", "bytes", "deep", "not JSON"]
        )
    )
    if kind == "bad field":
        name = draw(st.sampled_from(sorted(fields)))
        body = wrap(json_object(fields | {name: draw(bad_values)}))
    elif kind == "extra field":
        extra = draw(st.text(min_size=1, max_size=20))
        body = wrap(json_object(fields | {extra: draw(bad_values)}))
    elif kind == "whole body":
        body = draw(bad_values)
    elif kind == "truncated":
        body = valid[: draw(st.integers(0, len(valid) - 1))]
    elif kind == "bytes":
        body = draw(st.binary(max_size=2048))
    elif kind == "deep":
        depth = draw(st.integers(1, 200_000))
        key = json.dumps(min(fields)).encode()
        body = b"{" + key + b": " + b"[" * depth + draw(st.sampled_from([b"", b"]" * depth]))
    else:
        # A valid body, sent under a content type that is not JSON.
        return draw(st.sampled_from(NOT_JSON_TYPES)), valid
    # JSON content types more often than not, so most bodies reach the JSON parser.
    return draw(st.sampled_from(JSON_TYPES) | st.sampled_from(CONTENT_TYPES)), body


@dataclass
class Tally:
    """Status codes and paths seen across the examples, for the summary printed at the end."""

    statuses: dict[int, int] = field(default_factory=dict)
    paths: dict[str, int] = field(default_factory=dict)

    def add(self, path: str, status: int) -> None:
        self.statuses[int(status)] = self.statuses.get(int(status), 0) + 1
        self.paths[path] = self.paths.get(path, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.statuses.values())


def assert_no_server_errors(
    app: FastAPI,
    bodies: st.SearchStrategy[tuple[str, bytes | None, bytes]],
    caplog: pytest.LogCaptureFixture,
    examples: int = EXAMPLES,
) -> Tally:
    """Send `examples` (path, content type, body) triples; every answer must be a JSON 4xx.

    Each body arrives in one to four chunks, as it may from a real connection. Afterwards
    nothing may have been logged as an error or with a traceback: every refusal was an answer,
    not a crash.
    """
    tally = Tally()

    @given(request=bodies, splits=st.lists(st.integers(0, 1 << 20), max_size=3))
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    def post(request: tuple[str, bytes | None, bytes], splits: list[int]) -> None:
        path, content_type, body = request
        cuts = sorted({cut % (len(body) + 1) for cut in splits} | {0, len(body)})
        chunks = [body[start:end] for start, end in itertools.pairwise(cuts)] or [b""]
        answer = asyncio.run(send_raw(app, path, content_type, chunks))
        tally.add(path, answer.status)
        assert 400 <= answer.status < 500, (
            answer.status,
            path,
            content_type,
            body[:200],
            answer.body,
        )
        assert answer.headers[b"content-type"] == b"application/json"
        assert json.loads(answer.body)["detail"], answer.body

    post()
    print(f"{tally.total} hostile bodies answered: {tally.statuses}, by path {tally.paths}")
    assert tally.total >= examples
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert not [record for record in caplog.records if record.exc_info]
    return tally
